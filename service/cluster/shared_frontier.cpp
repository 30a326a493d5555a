#include "cluster/shared_frontier.hpp"

#include <openssl/sha.h>

#include <algorithm>
#include <cstdio>
#include <set>

namespace trawler::cluster {

namespace asio = boost::asio;
using std::chrono::milliseconds;

// ---- the scripts -------------------------------------------------------------------------------

namespace {

// Every bucket script declares the bucket's fixed keys, KEYS[1..6] = n (counters and the seen
// subsets' split state), ready, claimed, held, owner, due (recrawl: hosts waiting for their next
// revisit, scored by the earliest), and names a host's keys (q:, hs:, robots:, and with recrawl
// v: its visit rows and r: its revisits by due time) and the seen subsets (s:N) from the same
// prefix, so they share the hash tag and the slot.
// On a Redis Cluster (a seventh key, the first again, says so) every key a script will write is
// touched (EXISTS) before its first write: while a resharding moves the slot, a key already
// moved fails the script there, before it changed anything (a script is not rolled back), and
// the client retries once the slot has settled. A single Redis has no slot to move.
#define TRAWLER_BUCKET_PROLOGUE                                                              \
  "local n, ready, claimed, held, ownerk = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]\n"    \
  "local due = KEYS[6]\n"                                                                    \
  "local P = string.sub(n, 1, -2)\n"                                                         \
  "local t = redis.call('TIME')\n"                                                           \
  "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"                  \
  "local touched = {}\n"                                                                     \
  "local function touch(key)\n"                                                              \
  "  if #KEYS < 7 or touched[key] then return end\n"                                         \
  "  touched[key] = true\n"                                                                  \
  "  redis.call('EXISTS', key)\n"                                                            \
  "end\n"                                                                                    \
  "local function touch_host(host)\n"                                                        \
  "  touch(P .. 'q:' .. host)\n"                                                             \
  "  touch(P .. 'hs:' .. host)\n"                                                            \
  "  touch(P .. 'robots:' .. host)\n"                                                        \
  "  touch(P .. 'r:' .. host)\n"                                                             \
  "  touch(P .. 'v:' .. host)\n"                                                             \
  "end\n" /* A host waits in `due` for its earliest revisit unless it is ready or held. */   \
  "local function redue(host)\n"                                                             \
  "  local first = redis.call('ZRANGE', P .. 'r:' .. host, 0, 0, 'WITHSCORES')\n"            \
  "  if #first == 2 then redis.call('ZADD', due, first[2], host)\n"                          \
  "  else redis.call('ZREM', due, host) end\n"                                               \
  "end\n"                                                                                    \
  "local function counts()\n"                                                                \
  "  local c = redis.call('HMGET', n, 'queued', 'claimed', 'seen')\n"                        \
  "  local first = redis.call('ZRANGE', ready, 0, 0, 'WITHSCORES')\n"                        \
  "  local nr = -1\n"                                                                        \
  "  if #first == 2 then\n"                                                                  \
  "    nr = tonumber(first[2]) - now\n"                                                      \
  "    if nr < 0 then nr = 0 end\n"                                                          \
  "  end\n"                                                                                  \
  "  local d = redis.call('ZRANGE', due, 0, 0, 'WITHSCORES')\n"                              \
  "  if #d == 2 then\n"                                                                      \
  "    local dn = tonumber(d[2]) - now\n"                                                    \
  "    if dn < 0 then dn = 0 end\n"                                                          \
  "    if nr < 0 or dn < nr then nr = dn end\n"                                              \
  "  end\n"                                                                                  \
  "  local rv = tonumber(redis.call('HGET', n, 'revisits') or '0')\n"                        \
  "  return {tonumber(c[1] or '0'), tonumber(c[2] or '0'), tonumber(c[3] or '0'), nr, rv}\n" \
  "end\n"

// ARGV: (host, fingerprint as a signed decimal, its low 30 bits, entry) per link.
//
// The seen set is split in integer subsets by linear hashing on the fingerprint's low bits:
// subset i holds the fingerprints f with f mod 2^L = i (or f mod 2^(L+1) = i below the split
// pointer sp). Whenever the bucket holds more than 200 per subset on average, subset sp is
// split in two, so no subset nears Redis' set-max-intset-entries (512), past which a set
// becomes a hash table of ~70 bytes a member. A split rewrites the subset, which also brings
// back the compact form.
const char* const admit_lua = TRAWLER_BUCKET_PROLOGUE
    "local state = redis.call('HMGET', n, 'L', 'sp', 'seen')\n"
    "local L = tonumber(state[1] or '0')\n"
    "local sp = tonumber(state[2] or '0')\n"
    "local function subset(i) return P .. 's:' .. string.format('%d', i) end\n"
    "local function index(low)\n"
    "  local m = 2 ^ L\n"
    "  local i = low % m\n"
    "  if i < sp then i = low % (2 * m) end\n"
    "  return i\n"
    "end\n"
    // The low bits of a signed decimal, exactly (Lua's numbers are doubles).
    "local function moddec(s, m)\n"
    "  local neg = string.byte(s, 1) == 45\n"
    "  local r = 0\n"
    "  for k = neg and 2 or 1, #s do r = (r * 10 + string.byte(s, k) - 48) % m end\n"
    "  if neg and r ~= 0 then r = m - r end\n"
    "  return r\n"
    "end\n"
    "local function split()\n"
    "  local from = subset(sp)\n"
    "  local to = subset(sp + 2 ^ L)\n"
    "  local m = 2 ^ (L + 1)\n"
    "  local stay, move = {}, {}\n"
    "  for _, v in ipairs(redis.call('SMEMBERS', from)) do\n"
    "    if moddec(v, m) == sp then stay[#stay + 1] = v else move[#move + 1] = v end\n"
    "  end\n"
    "  redis.call('DEL', from)\n"
    "  for k = 1, #stay, 1000 do redis.call('SADD', from, unpack(stay, k, math.min(k + 999, "
    "#stay))) end\n"
    "  for k = 1, #move, 1000 do redis.call('SADD', to, unpack(move, k, math.min(k + 999, "
    "#move))) end\n"
    "  sp = sp + 1\n"
    "  if sp == 2 ^ L then\n"
    "    L = L + 1\n"
    "    sp = 0\n"
    "  end\n"
    "end\n"
    // Every key this call may write, touched first: the links' subsets and queues, and the
    // subsets of the splits that adding them all could bring.
    "local seen0 = tonumber(state[3] or '0')\n"
    "for i = 1, #ARGV, 4 do\n"
    "  touch(subset(index(tonumber(ARGV[i + 2]))))\n"
    "  touch(P .. 'q:' .. ARGV[i])\n"
    "end\n"
    "do\n"
    "  local l, s, total = L, sp, seen0 + #ARGV / 4\n"
    "  while total > 200 * (2 ^ l + s) do\n"
    "    touch(subset(s))\n"
    "    touch(subset(s + 2 ^ l))\n"
    "    s = s + 1\n"
    "    if s == 2 ^ l then\n"
    "      l = l + 1\n"
    "      s = 0\n"
    "    end\n"
    "  end\n"
    "end\n"
    // New entries are queued per host in one RPUSH, and each host offered to the ready set once.
    "local out, added, fresh, per_host, order = {}, 0, 0, {}, {}\n"
    "for i = 1, #ARGV, 4 do\n"
    "  local host = ARGV[i]\n"
    "  if redis.call('SADD', subset(index(tonumber(ARGV[i + 2]))), ARGV[i + 1]) == 1 then\n"
    "    local q = per_host[host]\n"
    "    if not q then\n"
    "      q = {}\n"
    "      per_host[host] = q\n"
    "      order[#order + 1] = host\n"
    "    end\n"
    "    q[#q + 1] = ARGV[i + 3]\n"
    "    added = added + 1\n"
    "    out[#out + 1] = 1\n"
    "  else\n"
    "    out[#out + 1] = 0\n"
    "  end\n"
    "end\n"
    "for _, host in ipairs(order) do\n"
    "  local q = per_host[host]\n"
    "  for k = 1, #q, 1000 do redis.call('RPUSH', P .. 'q:' .. host, unpack(q, k, math.min(k + "
    "999, #q))) end\n"
    "  if redis.call('ZADD', ready, 'NX', now, host) == 1 then fresh = fresh + 1 end\n"
    "end\n"
    "if added > 0 then\n"
    "  redis.call('HINCRBY', n, 'queued', added)\n"
    "  local seen = redis.call('HINCRBY', n, 'seen', added)\n"
    "  local splits = 0\n"
    "  while seen > 200 * (2 ^ L + sp) do\n"
    "    split()\n"
    "    splits = splits + 1\n"
    "  end\n"
    "  if splits > 0 then redis.call('HSET', n, 'L', L, 'sp', sp) end\n"
    "end\n"
    "return {out, fresh, redis.call('GET', ownerk) or ''}\n";

// ARGV: the number of recorded entries, their fingerprints (8 bytes each), then per visit kept
// (recrawl) its host, fingerprint, value (encode_visit) and due time (Unix ms). A visit is kept
// whether or not its entry was still claimed: writing it again (a replay after an outage) only
// rewrites the same row.
const char* const record_lua = TRAWLER_BUCKET_PROLOGUE
    "local nf = tonumber(ARGV[1])\n"
    "for i = 2 + nf, #ARGV, 4 do touch_host(ARGV[i]) end\n"
    "local done = 0\n"
    "for i = 2, 1 + nf do done = done + redis.call('HDEL', claimed, ARGV[i]) end\n"
    "if done > 0 then redis.call('HINCRBY', n, 'claimed', -done) end\n"
    "local kept = 0\n"
    "for i = 2 + nf, #ARGV, 4 do\n"
    "  local host, f, d = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 3])\n"
    "  redis.call('HSET', P .. 'v:' .. host, f, ARGV[i + 2])\n"
    "  kept = kept + redis.call('ZADD', P .. 'r:' .. host, d, f)\n"
    // A held host's holder takes its due revisits with its refills; others wait in `due`.
    "  if redis.call('SISMEMBER', held, host) == 0 and redis.call('ZSCORE', ready, host) == false "
    "then redis.call('ZADD', due, 'LT', d, host) end\n"
    "end\n"
    "if kept > 0 then redis.call('HINCRBY', n, 'revisits', kept) end\n"
    "return counts()\n";

// Puts back what the owner claimed ("host\tentry") and the hosts it held into the ready set.
#define TRAWLER_LUA_REQUEUE                                                                  \
  "local function requeue()\n"                                                               \
  "  local all = redis.call('HGETALL', claimed)\n"                                           \
  "  local hosts = redis.call('SMEMBERS', held)\n"                                           \
  "  local back = {}\n"                                                                      \
  "  for i = 1, #all, 2 do\n"                                                                \
  "    local v = all[i + 1]\n"                                                               \
  "    local tab = string.find(v, '\\t', 1, true)\n"                                         \
  "    local host = string.sub(v, 1, tab - 1)\n"                                             \
  "    back[#back + 1] = {host, string.sub(v, tab + 1)}\n"                                   \
  "    hosts[#hosts + 1] = host\n"                                                           \
  "  end\n"                                                                                  \
  "  for _, host in ipairs(hosts) do touch_host(host) end\n"                                 \
  "  for _, b in ipairs(back) do redis.call('LPUSH', P .. 'q:' .. b[1], b[2]) end\n"         \
  "  redis.call('DEL', claimed)\n"                                                           \
  "  if #back > 0 then\n"                                                                    \
  "    redis.call('HINCRBY', n, 'claimed', -#back)\n"                                        \
  "    redis.call('HINCRBY', n, 'queued', #back)\n"                                          \
  "  end\n"                                                                                  \
  "  for _, host in ipairs(hosts) do\n"                                                      \
  "    if redis.call('LLEN', P .. 'q:' .. host) > 0 then\n"                                  \
  "      local ns = tonumber(redis.call('HGET', P .. 'hs:' .. host, 'next_start') or '0')\n" \
  "      if ns < now then ns = now end\n"                                                    \
  "      redis.call('ZADD', ready, 'NX', ns, host)\n"                                        \
  "    else\n"                                                                               \
  "      redue(host)\n"                                                                      \
  "    end\n"                                                                                \
  "  end\n"                                                                                  \
  "  redis.call('DEL', held)\n"                                                              \
  "  return #back\n"                                                                         \
  "end\n"

// ARGV: worker, the dead owner it may take over from ("" for none).
const char* const acquire_lua = TRAWLER_BUCKET_PROLOGUE TRAWLER_LUA_REQUEUE
    "local w = ARGV[1]\n"
    "local cur = redis.call('GET', ownerk)\n"
    "if cur == w then return {1, w, counts()} end\n"
    "if cur and cur ~= ARGV[2] then return {0, cur, counts()} end\n"
    "requeue()\n"
    "redis.call('SET', ownerk, w)\n"
    "return {1, w, counts()}\n";

// ARGV: worker.
const char* const give_up_lua = TRAWLER_BUCKET_PROLOGUE TRAWLER_LUA_REQUEUE
    "if redis.call('GET', ownerk) ~= ARGV[1] then return 0 end\n"
    "requeue()\n"
    "redis.call('DEL', ownerk)\n"
    "return 1\n";

// ARGV: worker, batch, new hosts wanted, recrawl (1: also take due revisits, and answer the
// visit rows), number of releases, (host, wait ms) per release, then the hosts to refill.
// Returns {1, new hosts, refills, counts} or {0} when the bucket is not this worker's; a host's
// entries are its queue's first `batch`, then (recrawl) up to `batch` of its due revisits, most
// overdue first, with their visit rows beside them (false: a URL never visited).
const char* const take_lua = TRAWLER_BUCKET_PROLOGUE
    "local w, batch, maxh = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])\n"
    "local recrawl = ARGV[4] == '1'\n"
    "if redis.call('GET', ownerk) ~= w then return {0} end\n"
    "local releases, refill, cands = {}, {}, {}\n"
    "local i = 6\n"
    "for k = 1, tonumber(ARGV[5]) do\n"
    "  releases[#releases + 1] = {ARGV[i], now + tonumber(ARGV[i + 1])}\n"
    "  i = i + 2\n"
    "end\n"
    "for k = i, #ARGV do refill[#refill + 1] = ARGV[k] end\n"
    // Hosts whose next revisit came due, neither ready nor held here: ready now.
    "local came_due = {}\n"
    "if maxh > 0 and recrawl then came_due = redis.call('ZRANGEBYSCORE', due, '-inf', now, "
    "'LIMIT', 0, maxh) end\n"
    "for _, r in ipairs(releases) do touch_host(r[1]) end\n"
    "for _, host in ipairs(refill) do touch_host(host) end\n"
    "for _, host in ipairs(came_due) do touch_host(host) end\n"
    "for _, host in ipairs(came_due) do\n"
    "  redis.call('ZREM', due, host)\n"
    "  if redis.call('SISMEMBER', held, host) == 0 then\n"
    "    local ns = tonumber(redis.call('HGET', P .. 'hs:' .. host, 'next_start') or '0')\n"
    "    if ns < now then ns = now end\n"
    "    redis.call('ZADD', ready, 'NX', ns, host)\n"
    "  end\n"
    "end\n"
    "if maxh > 0 then cands = redis.call('ZRANGEBYSCORE', ready, '-inf', now, 'LIMIT', 0, maxh) "
    "end\n"
    "for _, host in ipairs(cands) do touch_host(host) end\n"
    "local function take(host)\n"
    "  local got = redis.call('LPOP', P .. 'q:' .. host, batch) or {}\n"
    "  for _, e in ipairs(got) do redis.call('HSET', claimed, string.sub(e, 1, 8), host .. "
    "'\\t' .. e) end\n"
    "  if #got > 0 then redis.call('HINCRBY', n, 'queued', -#got) end\n"
    "  local newn = #got\n"
    "  if not recrawl then\n"
    "    if newn > 0 then redis.call('HINCRBY', n, 'claimed', newn) end\n"
    "    return got, {}\n"
    "  end\n"
    "  local vk, rk = P .. 'v:' .. host, P .. 'r:' .. host\n"
    "  local fps = redis.call('ZRANGEBYSCORE', rk, '-inf', now, 'LIMIT', 0, batch)\n"
    "  local rows = {}\n"
    "  if newn > 0 then\n"
    "    local f = {}\n"
    "    for k, e in ipairs(got) do f[k] = string.sub(e, 1, 8) end\n"
    "    rows = redis.call('HMGET', vk, unpack(f))\n"
    "  end\n"
    "  if #fps > 0 then\n"
    "    redis.call('ZREM', rk, unpack(fps))\n"
    "    redis.call('HINCRBY', n, 'revisits', -#fps)\n"
    "    local vals = redis.call('HMGET', vk, unpack(fps))\n"
    "    for k, f in ipairs(fps) do\n"
    "      local v = vals[k]\n"
    "      if v then\n"
    "        local e = string.sub(v, 5, 4 + struct.unpack('<I4', v))\n"
    "        got[#got + 1] = e\n"
    "        rows[#rows + 1] = v\n"
    "        redis.call('HSET', claimed, f, host .. '\\t' .. e)\n"
    "      end\n"
    "    end\n"
    "  end\n"
    "  if #got > 0 then redis.call('HINCRBY', n, 'claimed', #got) end\n"
    // Held here from now on: its later revisits come with its refills.
    "  redis.call('ZREM', due, host)\n"
    "  return got, rows\n"
    "end\n"
    "for _, r in ipairs(releases) do\n"
    "  redis.call('SREM', held, r[1])\n"
    "  redis.call('HSET', P .. 'hs:' .. r[1], 'next_start', r[2])\n"
    "  if redis.call('LLEN', P .. 'q:' .. r[1]) > 0 then redis.call('ZADD', ready, r[2], r[1]) "
    "else redue(r[1]) end\n"
    "end\n"
    "local refills = {}\n"
    "for _, host in ipairs(refill) do\n"
    "  local got, rows = take(host)\n"
    "  refills[#refills + 1] = {host, got, rows}\n"
    // Links queued for a held host put it in the ready set: its refill took them.
    "  if redis.call('LLEN', P .. 'q:' .. host) == 0 then redis.call('ZREM', ready, host) end\n"
    "end\n"
    "local out = {}\n"
    "for _, host in ipairs(cands) do\n"
    "  redis.call('ZREM', ready, host)\n"
    "  redis.call('SADD', held, host)\n"
    "  local got, rows = take(host)\n"
    "  local wait = tonumber(redis.call('HGET', P .. 'hs:' .. host, 'next_start') or '0') - now\n"
    "  if wait < 0 then wait = 0 end\n"
    "  out[#out + 1] = {host, wait, redis.call('HGETALL', P .. 'robots:' .. host), got, rows}\n"
    "end\n"
    "return {1, out, refills, counts()}\n";

// ARGV: host, wait ms, entries to put back (in queue order)...
const char* const release_lua = TRAWLER_BUCKET_PROLOGUE
    "local host, at = ARGV[1], now + tonumber(ARGV[2])\n"
    "touch_host(host)\n"
    "local back = 0\n"
    "for i = #ARGV, 3, -1 do\n"
    "  if redis.call('HDEL', claimed, string.sub(ARGV[i], 1, 8)) == 1 then\n"
    "    redis.call('LPUSH', P .. 'q:' .. host, ARGV[i])\n"
    "    back = back + 1\n"
    "  end\n"
    "end\n"
    "if back > 0 then\n"
    "  redis.call('HINCRBY', n, 'claimed', -back)\n"
    "  redis.call('HINCRBY', n, 'queued', back)\n"
    "end\n"
    "redis.call('SREM', held, host)\n"
    "redis.call('HSET', P .. 'hs:' .. host, 'next_start', at)\n"
    "if redis.call('LLEN', P .. 'q:' .. host) > 0 then redis.call('ZADD', ready, at, host) "
    "else redue(host) end\n"
    "return back\n";

// ARGV: worker, number of hosts, the hosts this worker holds, number of fingerprints, the
// fingerprints (8 bytes) it still has claimed, then the fingerprints it recorded lately. What
// the bucket says beyond that is what an outage left behind: a held host this worker gave back
// (its release lost in a failover) goes back to the ready set; a claimed entry it recorded (the
// record lost) leaves the claimed set; any other claimed entry (a take whose answer never
// arrived, or lost with the master) goes back to its queue: fetched, perhaps twice, never lost.
// Returns {owned, hosts repaired, entries dropped as recorded, entries queued again}.
const char* const reconcile_lua = TRAWLER_BUCKET_PROLOGUE
    "local w, nh = ARGV[1], tonumber(ARGV[2])\n"
    "if redis.call('GET', ownerk) ~= w then return {0, 0, 0, 0} end\n"
    "local keep_h, keep_f, done = {}, {}, {}\n"
    "for i = 3, 2 + nh do keep_h[ARGV[i]] = true end\n"
    "local nk = tonumber(ARGV[3 + nh])\n"
    "for i = 4 + nh, 3 + nh + nk do keep_f[ARGV[i]] = true end\n"
    "for i = 4 + nh + nk, #ARGV do done[ARGV[i]] = true end\n"
    "local stale_h, recorded, back = {}, {}, {}\n"
    "for _, h in ipairs(redis.call('SMEMBERS', held)) do\n"
    "  if not keep_h[h] then stale_h[#stale_h + 1] = h end\n"
    "end\n"
    "local all = redis.call('HGETALL', claimed)\n"
    "for i = 1, #all, 2 do\n"
    "  local f = all[i]\n"
    "  if not keep_f[f] then\n"
    "    if done[f] then\n"
    "      recorded[#recorded + 1] = f\n"
    "    else\n"
    "      local v = all[i + 1]\n"
    "      local tab = string.find(v, '\\t', 1, true)\n"
    "      back[#back + 1] = {f, string.sub(v, 1, tab - 1), string.sub(v, tab + 1)}\n"
    "    end\n"
    "  end\n"
    "end\n"
    "for _, h in ipairs(stale_h) do touch_host(h) end\n"
    "for _, e in ipairs(back) do touch_host(e[2]) end\n"
    "for _, f in ipairs(recorded) do redis.call('HDEL', claimed, f) end\n"
    "for _, e in ipairs(back) do\n"
    "  redis.call('HDEL', claimed, e[1])\n"
    "  redis.call('LPUSH', P .. 'q:' .. e[2], e[3])\n"
    "  if not keep_h[e[2]] then stale_h[#stale_h + 1] = e[2] end\n"
    "end\n"
    "if #recorded + #back > 0 then redis.call('HINCRBY', n, 'claimed', -(#recorded + #back)) end\n"
    "if #back > 0 then redis.call('HINCRBY', n, 'queued', #back) end\n"
    "for _, h in ipairs(stale_h) do\n"
    "  redis.call('SREM', held, h)\n"
    "  if redis.call('LLEN', P .. 'q:' .. h) > 0 then\n"
    "    local ns = tonumber(redis.call('HGET', P .. 'hs:' .. h, 'next_start') or '0')\n"
    "    if ns < now then ns = now end\n"
    "    redis.call('ZADD', ready, 'NX', ns, h)\n"
    "  else\n"
    "    redue(h)\n"
    "  end\n"
    "end\n"
    // A held host that got entries back is in the ready set: its holder takes them again.
    "for _, e in ipairs(back) do\n"
    "  if keep_h[e[2]] then redis.call('ZADD', ready, 'NX', now, e[2]) end\n"
    "end\n"
    "return {1, #stale_h, #recorded, #back}\n";

// ARGV: host, ttl ms, field, value, ...
const char* const robots_lua = TRAWLER_BUCKET_PROLOGUE
    "local key = P .. 'robots:' .. ARGV[1]\n"
    "touch(key)\n"
    "redis.call('DEL', key)\n"
    "for i = 3, #ARGV, 2 do redis.call('HSET', key, ARGV[i], ARGV[i + 1]) end\n"
    "redis.call('PEXPIRE', key, ARGV[2])\n"
    "return 1\n";

// The crawl-wide slot: KEYS = workers (heartbeats), idle (states), parts (counts), meta, pages.
// ARGV: worker, lease ms, state, part "queued,claimed,seen,held", the configured bucket count.
const char* const beat_lua =
    "local workers, idle, parts, meta, pages = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]\n"
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
    "local w, lease = ARGV[1], tonumber(ARGV[2])\n"
    "redis.call('ZADD', workers, now, w)\n"
    "redis.call('HSET', idle, w, ARGV[3])\n"
    "redis.call('HSET', parts, w, ARGV[4])\n"
    "redis.call('HSETNX', meta, 'buckets', ARGV[5])\n"
    // Workers silent for ten leases are forgotten: their buckets were taken over long ago.
    "for _, g in ipairs(redis.call('ZRANGEBYSCORE', workers, '-inf', now - 10 * lease)) do\n"
    "  redis.call('ZREM', workers, g)\n"
    "  redis.call('HDEL', idle, g)\n"
    "  redis.call('HDEL', parts, g)\n"
    "end\n"
    "local alive = redis.call('ZRANGEBYSCORE', workers, now - lease, '+inf')\n"
    "local states, sums = {}, {0, 0, 0, 0, 0}\n"
    "for _, a in ipairs(alive) do\n"
    "  states[#states + 1] = redis.call('HGET', idle, a) or 'busy'\n"
    "  local p = redis.call('HGET', parts, a)\n"
    "  if p then\n"
    "    local k = 1\n"
    "    for v in string.gmatch(p, '[^,]+') do\n"
    "      sums[k] = sums[k] + tonumber(v)\n"
    "      k = k + 1\n"
    "    end\n"
    "  end\n"
    "end\n"
    "return {alive, states, sums, redis.call('HGET', meta, 'buckets'), redis.call('HGET', meta, "
    "'seeded') or '0', redis.call('GET', pages) or '0'}\n";

// KEYS: pages. ARGV: max, n. Returns the pages granted.
const char* const reserve_lua =
    "local used = tonumber(redis.call('GET', KEYS[1]) or '0')\n"
    "local grant = tonumber(ARGV[1]) - used\n"
    "if grant > tonumber(ARGV[2]) then grant = tonumber(ARGV[2]) end\n"
    "if grant <= 0 then return 0 end\n"
    "redis.call('INCRBY', KEYS[1], grant)\n"
    "return grant\n";

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

template <class T>
result<T> failed(const redis::exec_result& r) {
  result<T> out;
  out.ec = r.ec;
  out.message = r.message;
  return out;
}

// A script that ran and answered with an error (a bug, or a Redis too old for LPOP count).
template <class T>
result<T> script_error(const redis::reply& reply) {
  result<T> out;
  out.ec = make_error_code(boost::system::errc::protocol_error);
  out.message = "Redis refused a cluster script: " + reply.str;
  return out;
}

std::int64_t integer_of(const redis::reply& r) {
  return r.as_integer().value_or(0);
}

bucket_counts counts_of(const redis::reply& r) {
  bucket_counts c;
  if (r.elements.size() != 5) return c;
  c.queued = integer_of(r.elements[0]);
  c.claimed = integer_of(r.elements[1]);
  c.seen = integer_of(r.elements[2]);
  const auto next = integer_of(r.elements[3]);
  if (next >= 0) c.next_ready = milliseconds(next);
  c.revisits = integer_of(r.elements[4]);
  return c;
}

// A host's taken entries, with their visit rows (recrawl: `rows` beside them, nil for a URL
// never visited).
std::vector<shared_entry> entries_of(const redis::reply& r, const redis::reply* rows,
                                     const std::string& host) {
  std::vector<shared_entry> out;
  out.reserve(r.elements.size());
  for (std::size_t i = 0; i < r.elements.size(); ++i) {
    auto d = decode(r.elements[i].str, host);
    if (!d) continue;
    if (rows && i < rows->elements.size() && !rows->elements[i].str.empty()) {
      if (auto row = row_of_visit(rows->elements[i].str)) d->visit = std::move(*row);
    }
    out.push_back(std::move(*d));
  }
  return out;
}

std::optional<robots_record> robots_of(const redis::reply& r) {
  const auto& f = r.elements;
  if (f.empty()) return std::nullopt;
  robots_record rr;
  for (std::size_t i = 0; i + 1 < f.size(); i += 2) {
    const auto& k = f[i].str;
    const auto& v = f[i + 1].str;
    if (k == "outcome") rr.outcome = v;
    if (k == "body") rr.body = v;
    if (k == "failure_kind") rr.failure_kind = v;
    if (k == "failure_message") rr.failure_message = v;
  }
  if (rr.outcome.empty()) return std::nullopt;
  return rr;
}

}  // namespace

struct shared_frontier::lua_script {
  std::string text;
  std::string sha;
  explicit lua_script(const char* t) : text(t), sha(sha1_hex(text)) {}
};

// ---- plumbing ----------------------------------------------------------------------------------

shared_frontier::shared_frontier(redis::cluster_client& redis, std::string crawl_name,
                                 std::string worker_id, shared_options opt)
    : redis_(redis), crawl_(std::move(crawl_name)), worker_(std::move(worker_id)), opt_(opt) {
  opt_.buckets = std::clamp(opt_.buckets, 1, max_buckets);
}

std::uint16_t shared_frontier::crawl_slot() const {
  return redis::key_slot(crawl_prefix(crawl_));
}

std::uint16_t shared_frontier::bucket_slot(int b) const {
  return redis::key_slot(bucket_prefix(crawl_, b));
}

std::string shared_frontier::bkey(int b, std::string_view what) const {
  return bucket_prefix(crawl_, b) + std::string(what);
}

std::vector<std::string> shared_frontier::bucket_keys(int b) const {
  std::vector<std::string> k = {bkey(b, "n"),    bkey(b, "ready"), bkey(b, "claimed"),
                                bkey(b, "held"), bkey(b, "owner"), bkey(b, "due")};
  // Before the first map load the kind of Redis is not known: touch.
  if (redis_.is_cluster() || redis_.masters() == 0) k.push_back(k.front());
  return k;
}

std::string shared_frontier::ckey(std::string_view what) const {
  return crawl_prefix(crawl_) + std::string(what);
}

asio::awaitable<std::vector<redis::exec_result>> shared_frontier::eval(std::vector<call> calls) {
  auto command_of = [](const call& c) {
    redis::command cmd;
    cmd.reserve(3 + c.keys.size() + c.args.size());
    cmd.push_back("EVALSHA");
    cmd.push_back(c.script->sha);
    cmd.push_back(std::to_string(c.keys.size()));
    cmd.insert(cmd.end(), c.keys.begin(), c.keys.end());
    cmd.insert(cmd.end(), c.args.begin(), c.args.end());
    return cmd;
  };
  std::vector<std::pair<std::uint16_t, std::vector<redis::command>>> batches;
  batches.reserve(calls.size());
  for (const auto& c : calls) batches.push_back({c.slot, {command_of(c)}});
  auto results = co_await redis_.exec_each(std::move(batches));
  // A node that does not know a script (new, restarted, promoted) loads it and runs the call
  // again, in one round trip.
  std::vector<std::size_t> again;
  for (std::size_t i = 0; i < results.size(); ++i) {
    const auto& r = results[i];
    if (r.ok() && r.replies.size() == 1 && r.replies[0].is_error() &&
        r.replies[0].str.rfind("NOSCRIPT", 0) == 0)
      again.push_back(i);
  }
  if (!again.empty()) {
    std::vector<std::pair<std::uint16_t, std::vector<redis::command>>> retry;
    for (auto i : again) {
      std::vector<redis::command> two;
      two.push_back({"SCRIPT", "LOAD", calls[i].script->text});
      two.push_back(command_of(calls[i]));
      retry.push_back({calls[i].slot, std::move(two)});
    }
    auto second = co_await redis_.exec_each(std::move(retry));
    for (std::size_t k = 0; k < again.size(); ++k) {
      auto& r = second[k];
      if (r.ok() && r.replies.size() == 2) r.replies.erase(r.replies.begin());
      results[again[k]] = std::move(r);
    }
  }
  co_return results;
}

namespace {

const shared_frontier::lua_script& admit_script() {
  static const shared_frontier::lua_script s(admit_lua);
  return s;
}
const shared_frontier::lua_script& record_script() {
  static const shared_frontier::lua_script s(record_lua);
  return s;
}
const shared_frontier::lua_script& acquire_script() {
  static const shared_frontier::lua_script s(acquire_lua);
  return s;
}
const shared_frontier::lua_script& give_up_script() {
  static const shared_frontier::lua_script s(give_up_lua);
  return s;
}
const shared_frontier::lua_script& take_script() {
  static const shared_frontier::lua_script s(take_lua);
  return s;
}
const shared_frontier::lua_script& release_script() {
  static const shared_frontier::lua_script s(release_lua);
  return s;
}
const shared_frontier::lua_script& reconcile_script() {
  static const shared_frontier::lua_script s(reconcile_lua);
  return s;
}
const shared_frontier::lua_script& robots_script() {
  static const shared_frontier::lua_script s(robots_lua);
  return s;
}
const shared_frontier::lua_script& beat_script() {
  static const shared_frontier::lua_script s(beat_lua);
  return s;
}
const shared_frontier::lua_script& reserve_script() {
  static const shared_frontier::lua_script s(reserve_lua);
  return s;
}

// The first failure among results, or none.
const redis::exec_result* first_failure(const std::vector<redis::exec_result>& rs) {
  for (const auto& r : rs) {
    if (!r.ok()) return &r;
  }
  return nullptr;
}

const redis::reply* first_error(const std::vector<redis::exec_result>& rs) {
  for (const auto& r : rs) {
    if (r.replies.empty() || r.replies[0].is_error())
      return r.replies.empty() ? nullptr : &r.replies[0];
  }
  return nullptr;
}

}  // namespace

// ---- bucket calls ------------------------------------------------------------------------------

// On a Redis Cluster a sixth key (the first again) tells the scripts to touch every key before
// writing (a slot may be moving); a single Redis has no slots to move.
#define TRAWLER_BUCKET_KEYS(b) bucket_keys(b)

#define TRAWLER_CHECK(T, rs)                                      \
  if (const auto* f = first_failure(rs)) co_return failed<T>(*f); \
  if (const auto* e = first_error(rs)) co_return script_error<T>(*e);

asio::awaitable<result<std::vector<admitted_batch>>> shared_frontier::admit(
    std::vector<std::pair<int, std::vector<shared_entry>>> by_bucket) {
  using T = std::vector<admitted_batch>;
  result<T> out;
  if (by_bucket.empty()) co_return out;
  std::vector<call> calls;
  calls.reserve(by_bucket.size());
  for (const auto& [b, entries] : by_bucket) {
    call c{bucket_slot(b), &admit_script(), TRAWLER_BUCKET_KEYS(b), {}};
    c.args.reserve(entries.size() * 4);
    for (const auto& e : entries) {
      const auto fp = fingerprint::of(e.url);
      c.args.push_back(e.host);
      c.args.push_back(fp.decimal());
      c.args.push_back(std::to_string(fp.low30()));
      c.args.push_back(encode(e));
    }
    calls.push_back(std::move(c));
  }
  auto rs = co_await eval(std::move(calls));
  TRAWLER_CHECK(T, rs)
  for (const auto& r : rs) {
    const auto& e = r.replies[0].elements;
    admitted_batch a;
    if (e.size() == 3) {
      for (const auto& f : e[0].elements) a.added.push_back(integer_of(f) == 1);
      a.newly_ready = static_cast<int>(integer_of(e[1]));
      a.owner = e[2].str;
    }
    out.value.push_back(std::move(a));
  }
  co_return out;
}

asio::awaitable<result<std::map<int, bucket_counts>>> shared_frontier::record(
    std::map<int, std::vector<fingerprint>> done, std::map<int, std::vector<kept_visit>> visits) {
  using T = std::map<int, bucket_counts>;
  result<T> out;
  std::set<int> buckets;
  for (const auto& [b, fps] : done) buckets.insert(b);
  for (const auto& [b, vs] : visits) buckets.insert(b);
  if (buckets.empty()) co_return out;
  std::vector<call> calls;
  for (int b : buckets) {
    call c{bucket_slot(b), &record_script(), TRAWLER_BUCKET_KEYS(b), {}};
    const auto d = done.find(b);
    c.args.push_back(std::to_string(d == done.end() ? 0 : d->second.size()));
    if (d != done.end()) {
      for (const auto& f : d->second) c.args.push_back(f.raw());
    }
    if (const auto v = visits.find(b); v != visits.end()) {
      for (const auto& k : v->second) {
        c.args.push_back(k.host);
        c.args.push_back(k.fp.raw());
        c.args.push_back(k.value);
        c.args.push_back(std::to_string(k.due_ms));
      }
    }
    calls.push_back(std::move(c));
  }
  auto rs = co_await eval(std::move(calls));
  TRAWLER_CHECK(T, rs)
  std::size_t i = 0;
  for (int b : buckets) out.value[b] = counts_of(rs[i++].replies[0]);
  co_return out;
}

asio::awaitable<result<std::vector<shared_frontier::acquired>>> shared_frontier::acquire(
    std::vector<std::pair<int, std::string>> wanted) {
  using T = std::vector<acquired>;
  result<T> out;
  if (wanted.empty()) co_return out;
  std::vector<call> calls;
  for (const auto& [b, dead] : wanted)
    calls.push_back({bucket_slot(b), &acquire_script(), TRAWLER_BUCKET_KEYS(b), {worker_, dead}});
  auto rs = co_await eval(std::move(calls));
  TRAWLER_CHECK(T, rs)
  for (const auto& r : rs) {
    const auto& e = r.replies[0].elements;
    acquired a;
    if (e.size() == 3) {
      a.ok = integer_of(e[0]) == 1;
      a.owner = e[1].str;
      a.counts = counts_of(e[2]);
    }
    out.value.push_back(std::move(a));
  }
  co_return out;
}

asio::awaitable<result<bool>> shared_frontier::give_up(std::vector<int> buckets) {
  result<bool> out;
  if (buckets.empty()) co_return out;
  std::vector<call> calls;
  for (int b : buckets)
    calls.push_back({bucket_slot(b), &give_up_script(), TRAWLER_BUCKET_KEYS(b), {worker_}});
  auto rs = co_await eval(std::move(calls));
  TRAWLER_CHECK(bool, rs)
  out.value = true;
  co_return out;
}

asio::awaitable<result<std::vector<taken>>> shared_frontier::take(
    std::vector<take_request> requests) {
  using T = std::vector<taken>;
  result<T> out;
  if (requests.empty()) co_return out;
  std::vector<call> calls;
  for (const auto& rq : requests) {
    call c{bucket_slot(rq.bucket), &take_script(), TRAWLER_BUCKET_KEYS(rq.bucket), {}};
    c.args.push_back(worker_);
    c.args.push_back(std::to_string(opt_.batch));
    c.args.push_back(std::to_string(rq.new_hosts));
    c.args.emplace_back(opt_.recrawl ? "1" : "0");
    c.args.push_back(std::to_string(rq.release.size()));
    for (const auto& [host, wait] : rq.release) {
      c.args.push_back(host);
      c.args.push_back(std::to_string(std::max<long long>(0, wait.count())));
    }
    c.args.insert(c.args.end(), rq.refill.begin(), rq.refill.end());
    calls.push_back(std::move(c));
  }
  auto rs = co_await eval(std::move(calls));
  TRAWLER_CHECK(T, rs)
  for (const auto& r : rs) {
    const auto& e = r.replies[0].elements;
    taken t;
    if (e.empty() || integer_of(e[0]) != 1 || e.size() != 4) {
      t.owned = false;
      out.value.push_back(std::move(t));
      continue;
    }
    for (const auto& h : e[1].elements) {
      if (h.elements.size() != 5) continue;
      claimed_host c;
      c.host = h.elements[0].str;
      c.wait = milliseconds(integer_of(h.elements[1]));
      c.robots = robots_of(h.elements[2]);
      c.entries = entries_of(h.elements[3], &h.elements[4], c.host);
      t.hosts.push_back(std::move(c));
    }
    for (const auto& h : e[2].elements) {
      if (h.elements.size() != 3) continue;
      const std::string host = h.elements[0].str;
      t.refills[host] = entries_of(h.elements[1], &h.elements[2], host);
    }
    t.counts = counts_of(e[3]);
    out.value.push_back(std::move(t));
  }
  co_return out;
}

asio::awaitable<result<bool>> shared_frontier::release(std::string host, milliseconds wait,
                                                       std::vector<shared_entry> unfinished) {
  result<bool> out;
  const int b = bucket_of(host);
  call c{bucket_slot(b), &release_script(), TRAWLER_BUCKET_KEYS(b), {}};
  c.args.push_back(std::move(host));
  c.args.push_back(std::to_string(std::max<long long>(0, wait.count())));
  for (const auto& e : unfinished) c.args.push_back(encode(e));
  std::vector<call> calls;
  calls.push_back(std::move(c));
  auto rs = co_await eval(std::move(calls));
  TRAWLER_CHECK(bool, rs)
  out.value = true;
  co_return out;
}

asio::awaitable<result<std::vector<shared_frontier::repaired>>> shared_frontier::reconcile(
    std::vector<reconcile_request> requests) {
  using T = std::vector<repaired>;
  result<T> out;
  if (requests.empty()) co_return out;
  std::vector<call> calls;
  for (const auto& rq : requests) {
    call c{bucket_slot(rq.bucket), &reconcile_script(), TRAWLER_BUCKET_KEYS(rq.bucket), {}};
    c.args.push_back(worker_);
    c.args.push_back(std::to_string(rq.held.size()));
    c.args.insert(c.args.end(), rq.held.begin(), rq.held.end());
    c.args.push_back(std::to_string(rq.claimed.size()));
    for (const auto& f : rq.claimed) c.args.push_back(f.raw());
    for (const auto& f : rq.recorded) c.args.push_back(f.raw());
    calls.push_back(std::move(c));
  }
  auto rs = co_await eval(std::move(calls));
  TRAWLER_CHECK(T, rs)
  for (const auto& r : rs) {
    const auto& e = r.replies[0].elements;
    repaired x;
    if (e.size() == 4) {
      x.owned = integer_of(e[0]) == 1;
      x.hosts = integer_of(e[1]);
      x.entries = integer_of(e[2]);
      x.requeued = integer_of(e[3]);
    }
    out.value.push_back(x);
  }
  co_return out;
}

asio::awaitable<result<bool>> shared_frontier::store_robots(std::string host, robots_record rr,
                                                            milliseconds ttl) {
  result<bool> out;
  const int b = bucket_of(host);
  call c{bucket_slot(b), &robots_script(), TRAWLER_BUCKET_KEYS(b), {}};
  c.args.push_back(std::move(host));
  c.args.push_back(std::to_string(std::max<long long>(1, ttl.count())));
  c.args.emplace_back("outcome");
  c.args.push_back(std::move(rr.outcome));
  c.args.emplace_back("body");
  c.args.push_back(std::move(rr.body));
  c.args.emplace_back("failure_kind");
  c.args.push_back(std::move(rr.failure_kind));
  c.args.emplace_back("failure_message");
  c.args.push_back(std::move(rr.failure_message));
  std::vector<call> calls;
  calls.push_back(std::move(c));
  auto rs = co_await eval(std::move(calls));
  TRAWLER_CHECK(bool, rs)
  out.value = true;
  co_return out;
}

asio::awaitable<result<std::vector<bucket_counts>>> shared_frontier::census() {
  using T = std::vector<bucket_counts>;
  result<T> out;
  std::vector<std::pair<std::uint16_t, std::vector<redis::command>>> batches;
  batches.reserve(static_cast<std::size_t>(opt_.buckets));
  for (int b = 0; b < opt_.buckets; ++b) {
    std::vector<redis::command> one;
    one.push_back({"HMGET", bkey(b, "n"), "queued", "claimed", "seen", "revisits"});
    batches.push_back({bucket_slot(b), std::move(one)});
  }
  auto rs = co_await redis_.exec_each(std::move(batches));
  TRAWLER_CHECK(T, rs)
  for (const auto& r : rs) {
    bucket_counts c;
    const auto& e = r.replies[0].elements;
    if (e.size() == 4) {
      c.queued = integer_of(e[0]);
      c.claimed = integer_of(e[1]);
      c.seen = integer_of(e[2]);
      c.revisits = integer_of(e[3]);
    }
    out.value.push_back(c);
  }
  co_return out;
}

// ---- crawl-wide calls --------------------------------------------------------------------------

asio::awaitable<result<registry>> shared_frontier::beat(const std::string& idle_state,
                                                        worker_part part) {
  result<registry> out;
  std::vector<call> calls;
  calls.push_back({crawl_slot(),
                   &beat_script(),
                   {ckey("workers"), ckey("idle"), ckey("parts"), ckey("meta"), ckey("pages")},
                   {worker_, std::to_string(opt_.lease.count()), idle_state,
                    std::to_string(part.queued) + "," + std::to_string(part.claimed) + "," +
                        std::to_string(part.seen) + "," + std::to_string(part.hosts_held) + "," +
                        std::to_string(part.revisits),
                    std::to_string(opt_.buckets)}});
  auto rs = co_await eval(std::move(calls));
  TRAWLER_CHECK(registry, rs)
  const auto& e = rs[0].replies[0].elements;
  if (e.size() != 6) co_return script_error<registry>(rs[0].replies[0]);
  auto& reg = out.value;
  for (std::size_t i = 0; i < e[0].elements.size(); ++i) {
    const auto& w = e[0].elements[i].str;
    reg.alive.push_back(w);
    if (i < e[1].elements.size()) reg.idle[w] = e[1].elements[i].str;
  }
  std::sort(reg.alive.begin(), reg.alive.end());
  if (e[2].elements.size() == 5) {
    reg.queued = integer_of(e[2].elements[0]);
    reg.claimed = integer_of(e[2].elements[1]);
    reg.seen = integer_of(e[2].elements[2]);
    reg.hosts_held = integer_of(e[2].elements[3]);
    reg.revisits = integer_of(e[2].elements[4]);
  }
  reg.buckets = static_cast<int>(std::clamp<std::int64_t>(integer_of(e[3]), 1, max_buckets));
  reg.seeded = integer_of(e[4]) == 1;
  reg.pages = integer_of(e[5]);
  co_return out;
}

asio::awaitable<result<bool>> shared_frontier::leave() {
  result<bool> out;
  std::vector<redis::command> c;
  c.push_back({"ZREM", ckey("workers"), worker_});
  c.push_back({"HDEL", ckey("idle"), worker_});
  c.push_back({"HDEL", ckey("parts"), worker_});
  auto r = co_await redis_.exec(crawl_slot(), std::move(c));
  if (!r.ok()) co_return failed<bool>(r);
  out.value = true;
  co_return out;
}

asio::awaitable<result<bool>> shared_frontier::ring(
    std::map<std::string, std::vector<int>> by_owner) {
  result<bool> out;
  if (by_owner.empty()) co_return out;
  std::vector<std::pair<std::uint16_t, std::vector<redis::command>>> batches;
  for (const auto& [owner, buckets] : by_owner) {
    const std::string key = bell_key(crawl_, owner);
    redis::command add = {"SADD", key};
    for (int b : buckets) add.push_back(std::to_string(b));
    std::vector<redis::command> cmds;
    cmds.push_back(std::move(add));
    // A bell nobody answers (its worker died) does not outlive the crawl by long.
    cmds.push_back({"PEXPIRE", key, std::to_string(10 * opt_.lease.count())});
    batches.push_back({redis::key_slot(key), std::move(cmds)});
  }
  auto rs = co_await redis_.exec_each(std::move(batches));
  if (const auto* f = first_failure(rs)) co_return failed<bool>(*f);
  out.value = true;
  co_return out;
}

asio::awaitable<result<std::vector<int>>> shared_frontier::answer_bell() {
  result<std::vector<int>> out;
  const std::string key = bell_key(crawl_, worker_);
  std::vector<redis::command> c;
  c.push_back({"SPOP", key, "100000"});
  auto r = co_await redis_.exec(redis::key_slot(key), std::move(c));
  if (!r.ok()) co_return failed<std::vector<int>>(r);
  if (r.replies[0].is_error()) co_return script_error<std::vector<int>>(r.replies[0]);
  for (const auto& e : r.replies[0].elements) {
    const auto b = integer_of(e);
    if (b >= membership_changed && b < opt_.buckets) out.value.push_back(static_cast<int>(b));
  }
  co_return out;
}

asio::awaitable<result<bool>> shared_frontier::mark_seeded() {
  result<bool> out;
  std::vector<redis::command> c;
  c.push_back({"HSET", ckey("meta"), "seeded", "1"});
  auto r = co_await redis_.exec(crawl_slot(), std::move(c));
  if (!r.ok()) co_return failed<bool>(r);
  out.value = true;
  co_return out;
}

asio::awaitable<result<std::int64_t>> shared_frontier::reserve_pages(std::int64_t max,
                                                                     std::int64_t n) {
  result<std::int64_t> out;
  std::vector<call> calls;
  calls.push_back(
      {crawl_slot(), &reserve_script(), {ckey("pages")}, {std::to_string(max), std::to_string(n)}});
  auto rs = co_await eval(std::move(calls));
  TRAWLER_CHECK(std::int64_t, rs)
  out.value = integer_of(rs[0].replies[0]);
  co_return out;
}

asio::awaitable<result<bool>> shared_frontier::unreserve_pages(std::int64_t n) {
  result<bool> out;
  if (n <= 0) co_return out;
  std::vector<redis::command> c;
  c.push_back({"DECRBY", ckey("pages"), std::to_string(n)});
  auto r = co_await redis_.exec(crawl_slot(), std::move(c));
  if (!r.ok()) co_return failed<bool>(r);
  out.value = true;
  co_return out;
}

asio::awaitable<result<std::vector<std::string>>> shared_frontier::seed_hosts(
    std::vector<std::string> mine) {
  result<std::vector<std::string>> out;
  const std::string key = ckey("seedhosts");
  std::vector<redis::command> cmds;
  if (!mine.empty()) {
    redis::command add = {"SADD", key};
    add.insert(add.end(), mine.begin(), mine.end());
    cmds.push_back(std::move(add));
  }
  cmds.push_back({"SMEMBERS", key});
  auto r = co_await redis_.exec(crawl_slot(), std::move(cmds));
  if (!r.ok()) co_return failed<std::vector<std::string>>(r);
  for (const auto& h : r.replies.back().elements) out.value.push_back(h.str);
  co_return out;
}

}  // namespace trawler::cluster
