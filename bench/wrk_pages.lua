-- wrk's side of bench/run.sh: request the site's pages (the ground-truth list, one
-- absolute URL a line) in turn, each with its own Host header, over kept-alive connections.
--   wrk -t2 -c64 -d20s -s bench/wrk_pages.lua http://127.0.0.1:PORT/ -- urls.txt
local urls = {}
local next_index = 1

function init(args)
  for line in io.lines(args[1]) do
    local host, target = line:match("^https?://([^/]+)(/.*)$")
    if host then
      urls[#urls + 1] = { host = host, target = target }
    end
  end
  -- Threads start at different places so they do not ask for the same pages in step.
  next_index = math.random(#urls)
end

function request()
  local u = urls[next_index]
  next_index = next_index % #urls + 1
  return wrk.format("GET", u.target, { ["Host"] = u.host })
end
