#!/usr/bin/env bash
# bench/run.sh: crawl the generated benchmark site with trawler and, when installed, wget2
# and Scrapy (and wrk as the load-tool ceiling in the latency scenarios), at the same
# concurrency in the same run, and print medians of pages/s, CPU ms per page (user+sys),
# peak RSS, completeness against the ground truth, duplicate fetches and 404s, with the
# ratios to trawler. See bench/README.md.
#
#   bench/run.sh [--build DIR] [--runs N] [--scenarios "lan latency latency-proxy"]
#                [--tools "trawler wget2 scrapy wrk"] [--pages N] [--scrapy-pages N]
#                [--out DIR] [--quick] [--no-extras] [--nice N] [--hog N]
#                [--parse-priority idle|low|batch|normal] [--trawler-variants "idle low batch normal"]
#                [--latency-concurrency N]
#
# Scenarios:
#   lan            1 host,  concurrency 16, no delay
#   latency        8 hosts, concurrency 64, 50 ms per response: netem (25 ms each way) when
#                  the kernel has it, else the site's own per-response delay (the output says
#                  which)
#   latency-proxy  8 hosts, concurrency 64, 50 ms round trip added by trawler-bench-delay, a
#                  TCP delay line in its own process (25 ms each way, every chunk); the site
#                  has no delay. Its CPU is reported apart.
# --hog N runs N busy threads at nice 0 (trawler-bench-hog) beside every measured run and
# reports the CPU they got; --trawler-variants runs trawler once per parse priority, as the
# tools trawler-idle, trawler-low, trawler-batch, trawler-normal.
# The site server counts every request, so completeness, duplicates and wrong URLs (404s)
# come from the server, never from a tool's own report.
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
BUILD=${BUILD:-$ROOT/build/release}
RUNS=3
SCENARIOS="lan latency"
TOOLS="trawler wget2 scrapy wrk"
PAGES=20000
SCRAPY_PAGES=""
PAGE_BYTES=28000
LINKS=34
OUT=""
EXTRAS=1
WRK_SECONDS=20
NICE=0
HOG=0
PARSE_PRIORITY=""
TRAWLER_VARIANTS=""
PROXY_DELAY=50
LATENCY_CONC=64

while [ $# -gt 0 ]; do
  case "$1" in
    --build) BUILD=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    --scenarios) SCENARIOS=$2; shift 2 ;;
    --tools) TOOLS=$2; shift 2 ;;
    --pages) PAGES=$2; shift 2 ;;
    --scrapy-pages) SCRAPY_PAGES=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --quick) PAGES=2000; RUNS=1; WRK_SECONDS=5; shift ;;
    --no-extras) EXTRAS=0; shift ;;
    --nice) NICE=$2; shift 2 ;;
    --hog) HOG=$2; shift 2 ;;
    --latency-concurrency) LATENCY_CONC=$2; shift 2 ;;
    --parse-priority) PARSE_PRIORITY=$2; shift 2 ;;
    --trawler-variants) TRAWLER_VARIANTS=$2; shift 2 ;;
    -h|--help) sed -n '2,25p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
SCRAPY_PAGES=${SCRAPY_PAGES:-$PAGES}
for p in $PARSE_PRIORITY $TRAWLER_VARIANTS; do
  case "$p" in
    idle|low|batch|normal) ;;
    *) echo "run.sh: parse priority must be idle, low, batch or normal, got $p" >&2; exit 2 ;;
  esac
done
case "$HOG" in
  ''|*[!0-9]*) echo "run.sh: --hog takes a number of busy threads, got $HOG" >&2; exit 2 ;;
esac
OUT=${OUT:-$HERE/out/$(date +%Y%m%d-%H%M%S)}
# On a shared machine, a negative nice (root) gives every measured process, the site server
# included, most of the CPU against other users' work: closer to a quiet machine's figures.
RUN=(nice -n "$NICE")
mkdir -p "$OUT"
RUNS_FILE=$OUT/runs.jsonl
REPORT_SELFTEST=""
: > "$RUNS_FILE"

for bin in trawler trawler-bench-site; do
  if [ ! -x "$BUILD/$bin" ]; then
    echo "run.sh: $BUILD/$bin is missing; build it first:" >&2
    echo "  cmake --preset release && cmake --build --preset release --target trawler \\" >&2
    echo "      trawler-bench-site trawler-bench-parse trawler-bench-frontier-memory" >&2
    exit 2
  fi
done
for sc in $SCENARIOS; do
  if [ "$sc" = latency-proxy ] && [ ! -x "$BUILD/trawler-bench-delay" ]; then
    echo "run.sh: $BUILD/trawler-bench-delay is missing (the latency-proxy scenario's delay line):" >&2
    echo "  cmake --build --preset release --target trawler-bench-delay" >&2
    exit 2
  fi
done
if [ "$HOG" -gt 0 ] && [ ! -x "$BUILD/trawler-bench-hog" ]; then
  echo "run.sh: $BUILD/trawler-bench-hog is missing (--hog): cmake --build --preset release --target trawler-bench-hog" >&2
  exit 2
fi
if [ ! -x /usr/bin/time ]; then
  echo "run.sh: /usr/bin/time is missing (Debian: apt-get install time)" >&2
  exit 2
fi

have() { command -v "$1" > /dev/null 2>&1; }
SCRAPY=""
if have scrapy; then SCRAPY=scrapy; elif python3 -c 'import scrapy' 2> /dev/null; then SCRAPY="python3 -m scrapy"; fi
tool_available() {
  case "$1" in
    trawler|trawler-*) return 0 ;;
    wget2) have wget2 ;;
    scrapy) [ -n "$SCRAPY" ] ;;
    wrk) have wrk ;;
  esac
}
# --trawler-variants "idle low normal": trawler once per parse priority, each its own tool.
EXPANDED=""
for t in $TOOLS; do
  if [ "$t" = trawler ] && [ -n "$TRAWLER_VARIANTS" ]; then
    for v in $TRAWLER_VARIANTS; do EXPANDED="$EXPANDED trawler-$v"; done
  else
    EXPANDED="$EXPANDED $t"
  fi
done
ACTIVE=""
for t in $EXPANDED; do
  if tool_available "$t"; then
    ACTIVE="$ACTIVE $t"
  else
    case "$t" in
      wget2) echo "run.sh: wget2 is not installed (Debian: apt-get install wget2): skipped" ;;
      scrapy) echo "run.sh: Scrapy is not installed (Debian: apt-get install python3-scrapy): skipped" ;;
      wrk) echo "run.sh: wrk is not installed (Debian: apt-get install wrk): skipped" ;;
    esac
  fi
done

# ---- the machine ---------------------------------------------------------------------------
{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "nproc: $(nproc)"
  lscpu | sed -n '1,15p'
  echo "memory: $(free -h | awk '/Mem:/ {print $2}')"
  echo "kernel: $(uname -r)"
  echo "trawler: $("$BUILD/trawler" --version 2>&1)"
  echo "gumbo: $(dpkg-query -W -f '${Version}' libgumbo1 2> /dev/null || echo unknown)"
  have wget2 && echo "wget2: $(wget2 --version 2>&1 | head -1)"
  [ -n "$SCRAPY" ] && echo "scrapy: $($SCRAPY version 2>&1 | tail -1)"
  have wrk && echo "wrk: $(wrk -v 2>&1 | head -1)"
  echo "python3: $(python3 --version 2>&1)"
  echo "load at start: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "nice: $NICE"
  echo "sched_autogroup_enabled: $(cat /proc/sys/kernel/sched_autogroup_enabled 2> /dev/null || echo n/a)"
  echo "hog: $HOG busy thread(s) at nice 0"
  echo "parse priority: ${PARSE_PRIORITY:-the default (normal)}${TRAWLER_VARIANTS:+; variants: $TRAWLER_VARIANTS}"
} > "$OUT/machine.txt"
cat "$OUT/machine.txt"

# ---- latency: netem or the site's delay ------------------------------------------------------
NETEM=0
if ip netns add trawler-bench-probe 2> /dev/null; then
  if ip netns exec trawler-bench-probe tc qdisc add dev lo root netem delay 1ms 2> /dev/null; then
    NETEM=1
  fi
  ip netns del trawler-bench-probe 2> /dev/null
fi
NS=trawler-bench
NS_ADDR=10.231.77.2
HOST_ADDR=10.231.77.1
cleanup_netns() { ip netns del "$NS" 2> /dev/null; ip link del tbench0 2> /dev/null; true; }
setup_netns() {
  cleanup_netns
  ip netns add "$NS" &&
    ip link add tbench0 type veth peer name tbench1 &&
    ip link set tbench1 netns "$NS" &&
    ip addr add "$HOST_ADDR/30" dev tbench0 && ip link set tbench0 up &&
    ip netns exec "$NS" ip addr add "$NS_ADDR/30" dev tbench1 &&
    ip netns exec "$NS" ip link set tbench1 up &&
    ip netns exec "$NS" ip link set lo up &&
    tc qdisc add dev tbench0 root netem delay 25ms limit 100000 &&
    ip netns exec "$NS" tc qdisc add dev tbench1 root netem delay 25ms limit 100000
}

# ---- name resolution for wget2 and Scrapy ----------------------------------------------------
# trawler takes --resolve; the others resolve through /etc/hosts, so the run adds its names
# there between markers and takes them out again on exit.
HOSTS_MARK="# trawler-bench"
hosts_clear() {
  if grep -q "$HOSTS_MARK" /etc/hosts 2> /dev/null; then
    local tmp
    tmp=$(grep -v "$HOSTS_MARK" /etc/hosts)
    printf '%s\n' "$tmp" > /etc/hosts
  fi
}
hosts_set() {  # HOSTS: hostN.bench -> ${HOST_ADDRS[N]}
  hosts_clear
  local h
  for ((h = 0; h < $1; h++)); do echo "${HOST_ADDRS[h]} host$h.bench $HOSTS_MARK"; done >> /etc/hosts
}
SITE_PID=""
PROXY_PID=""
HOG_PID=""
stop_pid() {  # VAR: SIGTERM the process whose pid VAR holds (it writes its --stats), wait
  local pid=${!1}
  if [ -n "$pid" ]; then
    kill -TERM "$pid" 2> /dev/null
    wait "$pid" 2> /dev/null
    printf -v "$1" '%s' ""
  fi
}
stop_site() { stop_pid PROXY_PID; stop_pid SITE_PID; }
on_exit() { stop_pid HOG_PID; stop_site; hosts_clear; [ "$NETEM" = 1 ] && cleanup_netns; }
trap on_exit EXIT
trap 'exit 130' INT TERM

# ---- one run ---------------------------------------------------------------------------------
# start_site PAGES HOSTS DELAY_MS TAG: starts the server (and, with USE_PROXY, the delay line
# in front of it), sets PORT, ADDR, HOST_ADDRS, SEED, TRUTH.
#
# The delay line: the site's pages link other hosts absolutely, with the site's port
# (http://host3.bench:PORT/...), so the proxy listens on that same port number, on one
# loopback address per host (127.0.0.2 for host0.bench ... 127.0.0.9 for host7.bench), and
# every name resolves (--resolve, /etc/hosts) to its own address: each host is a separate
# address and connection pool, and every link of every page goes through the delay.
start_site() {
  local pages=$1 hosts=$2 delay=$3 tag=$4 bind=127.0.0.1 prefix="" attempt h
  ADDR=127.0.0.1
  if [ "$USE_NETNS" = 1 ]; then bind=$NS_ADDR; ADDR=$NS_ADDR; prefix="ip netns exec $NS"; delay=0; fi
  TRUTH=$OUT/truth-$tag.txt
  for attempt in 1 2 3; do
    : > "$OUT/site.url"
    $prefix "${RUN[@]}" "$BUILD/trawler-bench-site" --bind "$bind" --pages "$pages" --hosts "$hosts" \
      --page-bytes "$PAGE_BYTES" --links "$LINKS" --delay-ms "$delay" --list "$TRUTH" \
      --stats "$OUT/site-stats.json" > "$OUT/site.url" 2>> "$OUT/site.log" &
    SITE_PID=$!
    for _ in $(seq 1 600); do
      [ -s "$OUT/site.url" ] && break
      sleep 0.05
    done
    SEED=$(head -1 "$OUT/site.url")
    PORT=$(sed -E 's#^http://[^:]+:([0-9]+)/$#\1#' <<< "$SEED")
    [ -n "$SEED" ] || { echo "run.sh: the site did not start (see $OUT/site.log)" >&2; exit 1; }
    HOST_ADDRS=()
    for ((h = 0; h < hosts; h++)); do HOST_ADDRS+=("$ADDR"); done
    [ "$USE_PROXY" = 1 ] || break
    local listen=()
    HOST_ADDRS=()
    for ((h = 0; h < hosts; h++)); do
      HOST_ADDRS+=("127.0.0.$((h + 2))")
      listen+=(--listen-addr "127.0.0.$((h + 2))")
    done
    : > "$OUT/delay.out"
    "${RUN[@]}" "$BUILD/trawler-bench-delay" --upstream "$ADDR:$PORT" --delay-ms "$PROXY_DELAY" \
      "${listen[@]}" --listen-port "$PORT" --stats "$OUT/delay-stats.json" \
      > "$OUT/delay.out" 2>> "$OUT/delay.log" &
    PROXY_PID=$!
    for _ in $(seq 1 200); do
      grep -q '^ready$' "$OUT/delay.out" && break
      kill -0 "$PROXY_PID" 2> /dev/null || break
      sleep 0.05
    done
    grep -q '^ready$' "$OUT/delay.out" && break
    # The site's port was taken on one of the proxy's addresses: another site, another port.
    echo "run.sh: the delay line could not listen on port $PORT (see $OUT/delay.log); retrying" >&2
    wait "$PROXY_PID" 2> /dev/null
    PROXY_PID=""
    stop_site
    [ "$attempt" = 3 ] && { echo "run.sh: the delay line did not start" >&2; exit 1; }
  done
  ADDR=${HOST_ADDRS[0]}
  hosts_set "$hosts"
}

start_hog() {  # N (--hog) busy threads at nice 0 for the measured run, stopped by run_tool
  [ "$HOG" -gt 0 ] || return 0
  rm -f "$OUT/hog-stats.json"
  "$BUILD/trawler-bench-hog" --threads "$HOG" --nice 0 --stats "$OUT/hog-stats.json" \
    2>> "$OUT/hog.log" &
  HOG_PID=$!
}

run_tool() {  # TOOL SCENARIO RUN HOSTS CONCURRENCY DELAY
  local tool=$1 sc=$2 run=$3 hosts=$4 conc=$5 delay=$6 pages=$PAGES
  [ "$tool" = scrapy ] && pages=$SCRAPY_PAGES
  local per_host=$(((conc + hosts - 1) / hosts))
  local tag=$sc-$tool-$run
  start_site "$pages" "$hosts" "$delay" "$sc-$pages"
  local domains="" resolve=() h
  for ((h = 0; h < hosts; h++)); do
    domains="$domains${domains:+,}host$h.bench"
    resolve+=(--resolve "host$h.bench:$PORT:${HOST_ADDRS[h]}")
  done
  local load
  load=$(cut -d' ' -f1 /proc/loadavg)
  local time_file=$OUT/$tag.time output="" wrk_out=""
  rm -f "$OUT/site-stats.json" "$OUT/delay-stats.json"
  start_hog
  case "$tool" in
    trawler|trawler-*)
      output=$OUT/$tag.jsonl
      # The parse priority through a config file (limits.parse_priority): trawler-idle,
      # trawler-low, trawler-normal, or --parse-priority for the plain trawler.
      local priority=$PARSE_PRIORITY config=()
      [ "$tool" != trawler ] && priority=${tool#trawler-}
      if [ -n "$priority" ]; then
        printf '{"limits": {"parse_priority": "%s"}}\n' "$priority" > "$OUT/trawler-$priority.json"
        config=(-c "$OUT/trawler-$priority.json")
      fi
      # scope any: hostN.bench are separate registrable domains; every link stays on the site.
      /usr/bin/time -v -o "$time_file" "${RUN[@]}" "$BUILD/trawler" crawl "${config[@]}" "$SEED" \
        --concurrency "$conc" --per-host "$per_host" --max-depth 1000 --scope any --allow-private \
        "${resolve[@]}" -q --no-progress -o "$output" --stats "$OUT/$tag.stats.json"
      ;;
    wget2)
      local dir
      dir=$(mktemp -d)
      local span=()
      [ "$hosts" -gt 1 ] && span=(--span-hosts "--domains=$domains")
      # No --no-parent: the seed is "/" anyway, and wget2 1.99 takes every other host's
      # pages for "parent ascending" with it.
      (cd "$dir" && /usr/bin/time -v -o "$time_file" "${RUN[@]}" wget2 --recursive --level=inf \
        --max-threads="$conc" --no-directories --delete-after --quiet --tries=3 --timeout=30 \
        "${span[@]}" "$SEED" > "$OUT/$tag.log" 2>&1)
      rm -rf "$dir"
      ;;
    scrapy)
      output=$OUT/$tag.jsonl
      /usr/bin/time -v -o "$time_file" "${RUN[@]}" $SCRAPY runspider "$HERE/scrapy_spider.py" \
        -a "start=$SEED" -a "domains=$domains" -s "CONCURRENT_REQUESTS=$conc" \
        -s "CONCURRENT_REQUESTS_PER_DOMAIN=$per_host" -O "$output:jsonlines" \
        > "$OUT/$tag.log" 2>&1
      ;;
    wrk)
      wrk_out=$OUT/$tag.txt
      /usr/bin/time -v -o "$time_file" "${RUN[@]}" wrk -t"$(nproc)" -c"$conc" -d"${WRK_SECONDS}s" \
        --timeout 10s -s "$HERE/wrk_pages.lua" "http://$ADDR:$PORT/" -- "$TRUTH" > "$wrk_out" 2>&1
      ;;
  esac
  local proxied=$PROXY_PID
  stop_pid HOG_PID
  stop_site
  local args=(record --scenario "$sc" --tool "$tool" --run "$run" --time "$time_file"
    --site "$OUT/site-stats.json" --load "$load")
  [ -n "$output" ] && args+=(--output "$output")
  [ -n "$wrk_out" ] && args+=(--wrk "$wrk_out")
  [ -n "$proxied" ] && args+=(--delay "$OUT/delay-stats.json")
  [ "$HOG" -gt 0 ] && args+=(--hog "$OUT/hog-stats.json")
  python3 "$HERE/stats.py" "${args[@]}" >> "$RUNS_FILE"
  tail -1 "$RUNS_FILE" | python3 "$HERE/stats.py" line
  # Keep the disk small: the records are checked above, the server's counts are kept.
  [ -n "$output" ] && [ "${tool%%-*}" = trawler ] && gzip -f "$output"
}

for sc in $SCENARIOS; do
  USE_NETNS=0
  USE_PROXY=0
  case "$sc" in
    lan) hosts=1; conc=16; delay=0 ;;
    latency-proxy)
      hosts=8; conc=$LATENCY_CONC; delay=0; USE_PROXY=1
      echo "latency-proxy: trawler-bench-delay, ${PROXY_DELAY} ms round trip ($((PROXY_DELAY / 2)) ms each way on every chunk) in its own process; the site has no delay" |
        tee "$OUT/latency-proxy-method.txt"
      # The delay line checks itself first: the delay, pipelining, order, half-closes, resets.
      if "$BUILD/trawler-bench-delay" --self-test --delay-ms "$PROXY_DELAY" > "$OUT/delay-selftest.txt" 2>&1; then
        echo "latency-proxy: the delay line passed its self-test ($(grep -c ': ok ' "$OUT/delay-selftest.txt") checks)"
      else
        echo "run.sh: WARNING: the delay line failed its self-test:" >&2
        grep -v ': ok ' "$OUT/delay-selftest.txt" >&2
      fi
      REPORT_SELFTEST=$OUT/delay-selftest.txt
      ;;
    latency)
      hosts=8; conc=$LATENCY_CONC; delay=50
      if [ "$NETEM" = 1 ] && setup_netns; then
        USE_NETNS=1
        echo "latency: netem, 25 ms each way on a veth pair into namespace $NS" | tee "$OUT/latency-method.txt"
      else
        echo "latency: this kernel has no netem (sch_netem); the site waits 50 ms before each response instead" | tee "$OUT/latency-method.txt"
      fi
      ;;
    *) echo "run.sh: unknown scenario $sc" >&2; exit 2 ;;
  esac
  hog_note=""
  [ "$HOG" -gt 0 ] && hog_note=", $HOG busy hog thread(s) at nice 0 beside each run"
  shown_delay="$delay ms"
  [ "$USE_PROXY" = 1 ] && shown_delay="$PROXY_DELAY ms round trip through trawler-bench-delay"
  echo "== $sc: $hosts host(s), concurrency $conc, delay $shown_delay, $PAGES pages of ~$PAGE_BYTES bytes, $LINKS links$hog_note"
  for ((run = 1; run <= RUNS; run++)); do
    for tool in $ACTIVE; do
      [ "$tool" = wrk ] && [ "$sc" = lan ] && continue
      run_tool "$tool" "$sc" "$run" "$hosts" "$conc" "$delay"
    done
  done
  [ "$USE_NETNS" = 1 ] && cleanup_netns
done

# ---- the floor, the memory and trawler bench ------------------------------------------------
REPORT_ARGS=(report "$RUNS_FILE" --cores "$(nproc)")
[ -n "$REPORT_SELFTEST" ] && REPORT_ARGS+=(--delay-selftest "$REPORT_SELFTEST")
if [ "$EXTRAS" = 1 ]; then
  if [ -x "$BUILD/trawler-bench-parse" ]; then
    echo "== Gumbo's own cost on the same pages"
    # The first 2000 pages of the same site: pages are alike, so the floor per page is the
    # same, and 20,000 pages x 3 rounds x 3 measurements would take minutes.
    "${RUN[@]}" "$BUILD/trawler-bench-parse" --pages "$((PAGES < 2000 ? PAGES : 2000))" \
      --page-bytes "$PAGE_BYTES" --links "$LINKS" --rounds 3 | tee "$OUT/parse.txt"
    REPORT_ARGS+=(--parse "$OUT/parse.txt")
  fi
  if [ -x "$BUILD/trawler-bench-frontier-memory" ]; then
    echo "== frontier memory per URL"
    "${RUN[@]}" "$BUILD/trawler-bench-frontier-memory" | tee "$OUT/memory.txt"
    REPORT_ARGS+=(--memory "$OUT/memory.txt")
  fi
  echo "== trawler bench (event-loop lag)"
  "${RUN[@]}" "$BUILD/trawler" bench --pages "$PAGES" --concurrency 16 | tee "$OUT/bench-lan.txt"
  "${RUN[@]}" "$BUILD/trawler" bench --pages "$PAGES" --hosts 8 --concurrency 64 --delay-ms 50 |
    tee "$OUT/bench-latency.txt"
  REPORT_ARGS+=(--bench "$OUT/bench-lan.txt" "$OUT/bench-latency.txt")
fi

echo "== medians of $RUNS run(s)"
python3 "$HERE/stats.py" "${REPORT_ARGS[@]}" | tee "$OUT/summary.md"
echo "results in $OUT"
