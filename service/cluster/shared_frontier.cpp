#include "cluster/shared_frontier.hpp"

#include <openssl/sha.h>

#include <charconv>
#include <cstdio>

#include "frontier/frontier.hpp"

namespace trawler::cluster {

namespace asio = boost::asio;

namespace {

// Every script starts with the same lines: the key prefix, and the server's clock in ms.
#define TRAWLER_LUA_PROLOGUE       \
  "local p = ARGV[1]\n"            \
  "local t = redis.call('TIME')\n" \
  "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"

// An entry's fingerprint and host are its second and third fields.
#define TRAWLER_LUA_FIELDS \
  "local function fields(e) return string.match(e, '^1\\t([^\\t]*)\\t([^\\t]*)\\t') end\n"

// Adds entries unseen by the fleet to their host's queue. Shared by admit and record.
#define TRAWLER_LUA_ADMIT                                                \
  "local function admit(from)\n"                                         \
  "  local out, added = {}, 0\n"                                         \
  "  for i = from, #ARGV do\n"                                           \
  "    local e = ARGV[i]\n"                                              \
  "    local fp, host = fields(e)\n"                                     \
  "    if fp and redis.call('SADD', p .. 'seen', fp) == 1 then\n"        \
  "      redis.call('RPUSH', p .. 'q:' .. host, e)\n"                    \
  "      redis.call('ZADD', p .. 'hosts', 'NX', now, host)\n"            \
  "      added = added + 1\n"                                            \
  "      out[#out + 1] = 1\n"                                            \
  "    else\n"                                                           \
  "      out[#out + 1] = 0\n"                                            \
  "    end\n"                                                            \
  "  end\n"                                                              \
  "  if added > 0 then redis.call('INCRBY', p .. 'queued', added) end\n" \
  "  return out\n"                                                       \
  "end\n"

// Pops up to n entries of a host's queue into the worker's claimed set.
#define TRAWLER_LUA_TAKE                                                                         \
  "local function take(w, host, n)\n"                                                            \
  "  local got = redis.call('LPOP', p .. 'q:' .. host, n)\n"                                     \
  "  if not got then got = {} end\n"                                                             \
  "  if #got > 0 then\n"                                                                         \
  "    redis.call('DECRBY', p .. 'queued', #got)\n"                                              \
  "    redis.call('INCRBY', p .. 'claimed_total', #got)\n"                                       \
  "    for _, e in ipairs(got) do\n"                                                             \
  "      local fp = fields(e)\n"                                                                 \
  "      redis.call('HSET', p .. 'claimed:' .. w, fp, e)\n"                                      \
  "    end\n"                                                                                    \
  "  end\n"                                                                                      \
  "  if redis.call('LLEN', p .. 'q:' .. host) == 0 then redis.call('ZREM', p .. 'hosts', host) " \
  "end\n"                                                                                        \
  "  return got\n"                                                                               \
  "end\n"

// ARGV: prefix, entries...
const std::string admit_lua =
    TRAWLER_LUA_PROLOGUE TRAWLER_LUA_FIELDS TRAWLER_LUA_ADMIT "return admit(2)\n";

// ARGV: prefix, worker, number of fingerprints done, fingerprints..., entries...
const std::string record_lua = TRAWLER_LUA_PROLOGUE TRAWLER_LUA_FIELDS TRAWLER_LUA_ADMIT
    "local w = ARGV[2]\n"
    "local n = tonumber(ARGV[3])\n"
    "local done = 0\n"
    "for i = 4, 3 + n do done = done + redis.call('HDEL', p .. 'claimed:' .. w, ARGV[i]) end\n"
    "if done > 0 then redis.call('DECRBY', p .. 'claimed_total', done) end\n"
    "return admit(4 + n)\n";

// ARGV: prefix, worker, lease ms, max hosts, batch. Returns per host: {host, wait ms, robots
// fields (flat), entries}.
const std::string claim_lua = TRAWLER_LUA_PROLOGUE TRAWLER_LUA_FIELDS TRAWLER_LUA_TAKE
    "local w, lease = ARGV[2], ARGV[3]\n"
    "local maxh, batch = tonumber(ARGV[4]), tonumber(ARGV[5])\n"
    "redis.call('ZADD', p .. 'workers', now, w)\n"
    "local out = {}\n"
    "if maxh == 0 then return out end\n"
    "local cands = redis.call('ZRANGEBYSCORE', p .. 'hosts', '-inf', now, 'LIMIT', 0, maxh * 8)\n"
    "for _, host in ipairs(cands) do\n"
    "  if #out >= maxh then break end\n"
    "  if redis.call('SET', p .. 'lease:' .. host, w, 'NX', 'PX', lease) then\n"
    "    redis.call('SADD', p .. 'owned:' .. w, host)\n"
    "    local got = take(w, host, batch)\n"
    "    local next_start = tonumber(redis.call('HGET', p .. 'hoststate:' .. host, 'next_start') "
    "or '0')\n"
    "    local wait = next_start - now\n"
    "    if wait < 0 then wait = 0 end\n"
    "    out[#out + 1] = {host, wait, redis.call('HGETALL', p .. 'robots:' .. host), got}\n"
    "  end\n"
    "end\n"
    "return out\n";

// ARGV: prefix, worker, host, batch. Returns the entries, or false when the lease is not ours.
const std::string refill_lua = TRAWLER_LUA_PROLOGUE TRAWLER_LUA_FIELDS TRAWLER_LUA_TAKE
    "local w, host = ARGV[2], ARGV[3]\n"
    "if redis.call('GET', p .. 'lease:' .. host) ~= w then return false end\n"
    "return take(w, host, tonumber(ARGV[4]))\n";

// ARGV: prefix, worker, lease ms, hosts... Returns the hosts whose lease is lost.
const std::string renew_lua = TRAWLER_LUA_PROLOGUE
    "local w, lease = ARGV[2], ARGV[3]\n"
    "redis.call('ZADD', p .. 'workers', now, w)\n"
    "local lost = {}\n"
    "for i = 4, #ARGV do\n"
    "  local key = p .. 'lease:' .. ARGV[i]\n"
    "  if redis.call('GET', key) == w then\n"
    "    redis.call('PEXPIRE', key, lease)\n"
    "  else\n"
    "    lost[#lost + 1] = ARGV[i]\n"
    "    redis.call('SREM', p .. 'owned:' .. w, ARGV[i])\n"
    "  end\n"
    "end\n"
    "return lost\n";

// ARGV: prefix, worker, host, wait ms, entries to put back (in queue order)...
const std::string release_lua = TRAWLER_LUA_PROLOGUE TRAWLER_LUA_FIELDS
    "local w, host, wait = ARGV[2], ARGV[3], tonumber(ARGV[4])\n"
    "if redis.call('GET', p .. 'lease:' .. host) == w then redis.call('DEL', p .. 'lease:' .. "
    "host) end\n"
    "redis.call('SREM', p .. 'owned:' .. w, host)\n"
    "local back = 0\n"
    "for i = #ARGV, 5, -1 do\n"
    "  local fp = fields(ARGV[i])\n"
    "  if redis.call('HDEL', p .. 'claimed:' .. w, fp) == 1 then\n"
    "    redis.call('LPUSH', p .. 'q:' .. host, ARGV[i])\n"
    "    back = back + 1\n"
    "  end\n"
    "end\n"
    "if back > 0 then\n"
    "  redis.call('DECRBY', p .. 'claimed_total', back)\n"
    "  redis.call('INCRBY', p .. 'queued', back)\n"
    "end\n"
    "local due = now + wait\n"
    "redis.call('HSET', p .. 'hoststate:' .. host, 'next_start', due)\n"
    "if redis.call('LLEN', p .. 'q:' .. host) > 0 then redis.call('ZADD', p .. 'hosts', due, host) "
    "end\n"
    "return back\n";

// ARGV: prefix, silent ms. Returns the number of workers reaped.
const std::string reap_lua = TRAWLER_LUA_PROLOGUE TRAWLER_LUA_FIELDS
    "local dead = redis.call('ZRANGEBYSCORE', p .. 'workers', '-inf', now - tonumber(ARGV[2]))\n"
    "for _, w in ipairs(dead) do\n"
    "  local claimed = redis.call('HVALS', p .. 'claimed:' .. w)\n"
    "  for _, e in ipairs(claimed) do\n"
    "    local _, host = fields(e)\n"
    "    redis.call('LPUSH', p .. 'q:' .. host, e)\n"
    "    redis.call('ZADD', p .. 'hosts', 'NX', now, host)\n"
    "  end\n"
    "  if #claimed > 0 then\n"
    "    redis.call('DECRBY', p .. 'claimed_total', #claimed)\n"
    "    redis.call('INCRBY', p .. 'queued', #claimed)\n"
    "  end\n"
    "  redis.call('DEL', p .. 'claimed:' .. w, p .. 'owned:' .. w)\n"
    "  redis.call('ZREM', p .. 'workers', w)\n"
    "end\n"
    "return #dead\n";

// ARGV: prefix, alive within ms.
const std::string status_lua = TRAWLER_LUA_PROLOGUE
    "local alive = redis.call('ZRANGEBYSCORE', p .. 'workers', now - tonumber(ARGV[2]), '+inf')\n"
    "local owned = 0\n"
    "for _, w in ipairs(alive) do owned = owned + redis.call('SCARD', p .. 'owned:' .. w) end\n"
    "return {tonumber(redis.call('GET', p .. 'queued') or '0'),\n"
    "        tonumber(redis.call('GET', p .. 'claimed_total') or '0'),\n"
    "        redis.call('SCARD', p .. 'seen'), #alive, owned,\n"
    "        tonumber(redis.call('GET', p .. 'pages') or '0')}\n";

// ARGV: prefix, max, n. Returns the pages granted.
const std::string reserve_lua = TRAWLER_LUA_PROLOGUE
    "local used = tonumber(redis.call('GET', p .. 'pages') or '0')\n"
    "local grant = tonumber(ARGV[2]) - used\n"
    "if grant > tonumber(ARGV[3]) then grant = tonumber(ARGV[3]) end\n"
    "if grant <= 0 then return 0 end\n"
    "redis.call('INCRBY', p .. 'pages', grant)\n"
    "return grant\n";

// ARGV: prefix, host, ttl ms, field, value, ...
const std::string robots_lua = TRAWLER_LUA_PROLOGUE
    "local key = p .. 'robots:' .. ARGV[2]\n"
    "redis.call('DEL', key)\n"
    "for i = 4, #ARGV, 2 do redis.call('HSET', key, ARGV[i], ARGV[i + 1]) end\n"
    "redis.call('PEXPIRE', key, ARGV[3])\n"
    "return 1\n";

std::string sha1_hex(const std::string& text) {
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
  std::string hex;
  char buf[3];
  for (unsigned char b : digest) {
    std::snprintf(buf, sizeof buf, "%02x", b);
    hex += buf;
  }
  return hex;
}

struct script {
  const std::string& text;
  std::string sha;
  explicit script(const std::string& t) : text(t), sha(sha1_hex(t)) {}
};

const script& admit_script() {
  static const script s(admit_lua);
  return s;
}
const script& record_script() {
  static const script s(record_lua);
  return s;
}
const script& claim_script() {
  static const script s(claim_lua);
  return s;
}
const script& refill_script() {
  static const script s(refill_lua);
  return s;
}
const script& renew_script() {
  static const script s(renew_lua);
  return s;
}
const script& release_script() {
  static const script s(release_lua);
  return s;
}
const script& reap_script() {
  static const script s(reap_lua);
  return s;
}
const script& status_script() {
  static const script s(status_lua);
  return s;
}
const script& reserve_script() {
  static const script s(reserve_lua);
  return s;
}
const script& robots_script() {
  static const script s(robots_lua);
  return s;
}

template <class T>
result<T> failed(const redis::exec_result& r) {
  result<T> out;
  out.ec = r.ec;
  out.message = r.message;
  return out;
}

// A script that ran and answered with an error (a bug, or a Redis without LPOP count).
template <class T>
result<T> script_error(const redis::reply& reply) {
  result<T> out;
  out.ec = make_error_code(boost::system::errc::protocol_error);
  out.message = "Redis refused a cluster script: " + reply.str;
  return out;
}

std::vector<bool> flags_of(const redis::reply& r) {
  std::vector<bool> out;
  out.reserve(r.elements.size());
  for (const auto& e : r.elements) out.push_back(e.as_integer().value_or(0) == 1);
  return out;
}

std::vector<shared_entry> entries_of(const redis::reply& r) {
  std::vector<shared_entry> out;
  for (const auto& e : r.elements) {
    if (auto d = decode(e.str)) out.push_back(std::move(*d));
  }
  return out;
}

std::int64_t integer_of(const redis::reply& r) {
  return r.as_integer().value_or(0);
}

}  // namespace

std::string fingerprint(std::string_view url) {
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx",
                static_cast<unsigned long long>(frontier::url_hash(url)));
  return hex;
}

shared_entry make_entry(std::string url, std::string host, int depth, int redirects_left,
                        bool sitemap, std::string referrer) {
  shared_entry e;
  e.fingerprint = fingerprint(url);
  e.url = std::move(url);
  e.host = std::move(host);
  e.depth = depth;
  e.redirects_left = redirects_left;
  e.sitemap = sitemap;
  e.referrer = std::move(referrer);
  return e;
}

std::string encode(const shared_entry& e) {
  std::string out = "1\t";
  out += e.fingerprint;
  out += '\t';
  out += e.host;
  out += '\t';
  out += std::to_string(e.depth);
  out += '\t';
  out += std::to_string(e.redirects_left);
  out += '\t';
  out += e.sitemap ? '1' : '0';
  out += '\t';
  out += e.referrer;
  out += '\t';
  out += e.url;
  return out;
}

std::optional<shared_entry> decode(std::string_view text) {
  std::vector<std::string_view> f;
  std::size_t start = 0;
  while (f.size() < 7) {
    const auto tab = text.find('\t', start);
    if (tab == std::string_view::npos) return std::nullopt;
    f.push_back(text.substr(start, tab - start));
    start = tab + 1;
  }
  const std::string_view url = text.substr(start);
  if (f[0] != "1" || url.empty() || f[2].empty() || url.find('\t') != std::string_view::npos) {
    return std::nullopt;
  }
  auto number = [](std::string_view s) -> std::optional<int> {
    int n = 0;
    const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
    return n;
  };
  const auto depth = number(f[3]);
  const auto redirects = number(f[4]);
  if (!depth || !redirects || (f[5] != "0" && f[5] != "1")) return std::nullopt;
  shared_entry e;
  e.fingerprint = std::string(f[1]);
  e.host = std::string(f[2]);
  e.depth = *depth;
  e.redirects_left = *redirects;
  e.sitemap = f[5] == "1";
  e.referrer = std::string(f[6]);
  e.url = std::string(url);
  return e;
}

shared_frontier::shared_frontier(redis::client& redis, std::string crawl_name,
                                 std::string worker_id, shared_options opt)
    : redis_(redis),
      prefix_("trawler:{" + crawl_name + "}:"),
      worker_(std::move(worker_id)),
      opt_(opt) {}

asio::awaitable<redis::exec_result> shared_frontier::eval(const std::string& text,
                                                          const std::string& sha,
                                                          std::vector<std::string> args) {
  redis::command c = {"EVALSHA", sha, "0", prefix_};
  c.insert(c.end(), std::make_move_iterator(args.begin()), std::make_move_iterator(args.end()));
  std::vector<redis::command> one;
  one.push_back(c);
  auto r = co_await redis_.exec(std::move(one));
  if (r.ok() && r.replies.size() == 1 && r.replies[0].is_error() &&
      r.replies[0].str.rfind("NOSCRIPT", 0) == 0) {
    // A new or restarted Redis: load the script, then run it, in one round trip.
    c[0] = "EVALSHA";
    std::vector<redis::command> two;
    two.push_back({"SCRIPT", "LOAD", text});
    two.push_back(std::move(c));
    r = co_await redis_.exec(std::move(two));
    if (r.ok() && r.replies.size() == 2) r.replies.erase(r.replies.begin());
  }
  co_return r;
}

asio::awaitable<result<std::vector<bool>>> shared_frontier::admit(
    std::vector<shared_entry> entries) {
  result<std::vector<bool>> out;
  if (entries.empty()) co_return out;
  std::vector<std::string> args;
  args.reserve(entries.size());
  for (const auto& e : entries) args.push_back(encode(e));
  auto r = co_await eval(admit_script().text, admit_script().sha, std::move(args));
  if (!r.ok()) co_return failed<std::vector<bool>>(r);
  if (r.replies[0].is_error()) co_return script_error<std::vector<bool>>(r.replies[0]);
  out.value = flags_of(r.replies[0]);
  co_return out;
}

asio::awaitable<result<std::vector<bool>>> shared_frontier::record(
    std::vector<std::string> done_fingerprints, std::vector<shared_entry> links) {
  result<std::vector<bool>> out;
  std::vector<std::string> args;
  args.reserve(2 + done_fingerprints.size() + links.size());
  args.push_back(worker_);
  args.push_back(std::to_string(done_fingerprints.size()));
  for (auto& f : done_fingerprints) args.push_back(std::move(f));
  for (const auto& e : links) args.push_back(encode(e));
  auto r = co_await eval(record_script().text, record_script().sha, std::move(args));
  if (!r.ok()) co_return failed<std::vector<bool>>(r);
  if (r.replies[0].is_error()) co_return script_error<std::vector<bool>>(r.replies[0]);
  out.value = flags_of(r.replies[0]);
  co_return out;
}

asio::awaitable<result<std::vector<claimed_host>>> shared_frontier::claim(std::size_t max_hosts) {
  result<std::vector<claimed_host>> out;
  std::vector<std::string> args = {worker_, std::to_string(opt_.lease.count()),
                                   std::to_string(max_hosts), std::to_string(opt_.batch)};
  auto r = co_await eval(claim_script().text, claim_script().sha, std::move(args));
  if (!r.ok()) co_return failed<std::vector<claimed_host>>(r);
  if (r.replies[0].is_error()) co_return script_error<std::vector<claimed_host>>(r.replies[0]);
  for (const auto& h : r.replies[0].elements) {
    if (h.elements.size() != 4) continue;
    claimed_host c;
    c.host = h.elements[0].str;
    c.wait = std::chrono::milliseconds(integer_of(h.elements[1]));
    const auto& robots = h.elements[2].elements;
    if (!robots.empty()) {
      robots_record rr;
      for (std::size_t i = 0; i + 1 < robots.size(); i += 2) {
        const auto& k = robots[i].str;
        const auto& v = robots[i + 1].str;
        if (k == "outcome") rr.outcome = v;
        if (k == "body") rr.body = v;
        if (k == "failure_kind") rr.failure_kind = v;
        if (k == "failure_message") rr.failure_message = v;
      }
      if (!rr.outcome.empty()) c.robots = std::move(rr);
    }
    c.entries = entries_of(h.elements[3]);
    out.value.push_back(std::move(c));
  }
  co_return out;
}

asio::awaitable<result<std::optional<std::vector<shared_entry>>>> shared_frontier::refill(
    std::string host) {
  using value = std::optional<std::vector<shared_entry>>;
  result<value> out;
  std::vector<std::string> args = {worker_, std::move(host), std::to_string(opt_.batch)};
  auto r = co_await eval(refill_script().text, refill_script().sha, std::move(args));
  if (!r.ok()) co_return failed<value>(r);
  if (r.replies[0].is_error()) co_return script_error<value>(r.replies[0]);
  if (!r.replies[0].is_nil()) out.value = entries_of(r.replies[0]);
  co_return out;
}

asio::awaitable<result<std::vector<std::string>>> shared_frontier::renew(
    std::vector<std::string> hosts) {
  result<std::vector<std::string>> out;
  std::vector<std::string> args = {worker_, std::to_string(opt_.lease.count())};
  args.insert(args.end(), std::make_move_iterator(hosts.begin()),
              std::make_move_iterator(hosts.end()));
  auto r = co_await eval(renew_script().text, renew_script().sha, std::move(args));
  if (!r.ok()) co_return failed<std::vector<std::string>>(r);
  if (r.replies[0].is_error()) co_return script_error<std::vector<std::string>>(r.replies[0]);
  for (const auto& h : r.replies[0].elements) out.value.push_back(h.str);
  co_return out;
}

asio::awaitable<result<bool>> shared_frontier::release(std::string host,
                                                       std::chrono::milliseconds wait,
                                                       std::vector<shared_entry> unfinished) {
  result<bool> out;
  std::vector<std::string> args = {worker_, std::move(host),
                                   std::to_string(std::max<long long>(0, wait.count()))};
  for (const auto& e : unfinished) args.push_back(encode(e));
  auto r = co_await eval(release_script().text, release_script().sha, std::move(args));
  if (!r.ok()) co_return failed<bool>(r);
  if (r.replies[0].is_error()) co_return script_error<bool>(r.replies[0]);
  out.value = true;
  co_return out;
}

asio::awaitable<result<std::int64_t>> shared_frontier::reap(std::chrono::milliseconds silent) {
  result<std::int64_t> out;
  std::vector<std::string> args = {std::to_string(silent.count())};
  auto r = co_await eval(reap_script().text, reap_script().sha, std::move(args));
  if (!r.ok()) co_return failed<std::int64_t>(r);
  if (r.replies[0].is_error()) co_return script_error<std::int64_t>(r.replies[0]);
  out.value = integer_of(r.replies[0]);
  co_return out;
}

asio::awaitable<result<bool>> shared_frontier::leave() {
  result<bool> out;
  std::vector<redis::command> c;
  c.push_back({"ZREM", prefix_ + "workers", worker_});
  auto r = co_await redis_.exec(std::move(c));
  if (!r.ok()) co_return failed<bool>(r);
  out.value = true;
  co_return out;
}

asio::awaitable<result<crawl_status>> shared_frontier::status(
    std::chrono::milliseconds alive_within) {
  result<crawl_status> out;
  std::vector<std::string> args = {std::to_string(alive_within.count())};
  auto r = co_await eval(status_script().text, status_script().sha, std::move(args));
  if (!r.ok()) co_return failed<crawl_status>(r);
  if (r.replies[0].is_error()) co_return script_error<crawl_status>(r.replies[0]);
  const auto& e = r.replies[0].elements;
  if (e.size() == 6) {
    out.value.queued = integer_of(e[0]);
    out.value.claimed = integer_of(e[1]);
    out.value.seen = integer_of(e[2]);
    out.value.workers = integer_of(e[3]);
    out.value.hosts_owned = integer_of(e[4]);
    out.value.pages = integer_of(e[5]);
  }
  co_return out;
}

asio::awaitable<result<std::int64_t>> shared_frontier::reserve_pages(std::int64_t max,
                                                                     std::int64_t n) {
  result<std::int64_t> out;
  std::vector<std::string> args = {std::to_string(max), std::to_string(n)};
  auto r = co_await eval(reserve_script().text, reserve_script().sha, std::move(args));
  if (!r.ok()) co_return failed<std::int64_t>(r);
  if (r.replies[0].is_error()) co_return script_error<std::int64_t>(r.replies[0]);
  out.value = integer_of(r.replies[0]);
  co_return out;
}

asio::awaitable<result<bool>> shared_frontier::unreserve_pages(std::int64_t n) {
  result<bool> out;
  if (n <= 0) co_return out;
  std::vector<redis::command> c;
  c.push_back({"DECRBY", prefix_ + "pages", std::to_string(n)});
  auto r = co_await redis_.exec(std::move(c));
  if (!r.ok()) co_return failed<bool>(r);
  out.value = true;
  co_return out;
}

asio::awaitable<result<bool>> shared_frontier::store_robots(std::string host, robots_record rr,
                                                            std::chrono::milliseconds ttl) {
  result<bool> out;
  // Built before the co_await: GCC 12 rejects a braced list of string literals held across a
  // suspension ("array used as initializer").
  std::vector<std::string> args;
  args.push_back(std::move(host));
  args.push_back(std::to_string(std::max<long long>(1, ttl.count())));
  args.emplace_back("outcome");
  args.push_back(std::move(rr.outcome));
  args.emplace_back("body");
  args.push_back(std::move(rr.body));
  args.emplace_back("failure_kind");
  args.push_back(std::move(rr.failure_kind));
  args.emplace_back("failure_message");
  args.push_back(std::move(rr.failure_message));
  auto r = co_await eval(robots_script().text, robots_script().sha, std::move(args));
  if (!r.ok()) co_return failed<bool>(r);
  if (r.replies[0].is_error()) co_return script_error<bool>(r.replies[0]);
  out.value = true;
  co_return out;
}

}  // namespace trawler::cluster
