#!/usr/bin/env bash
# bench/fleet.sh: cluster mode on one machine. 1, 2 and 4 `trawler crawl --redis` workers crawl
# the same latency-bound benchmark site (many hosts, each response delayed), each worker with
# the same concurrency, so that a worker's concurrency is the limit; prints pages/s per worker
# count, the speed-up, and Redis round trips (commands) and bytes per page; then Redis memory
# per seen and per queued URL at 1M URLs.
#
#   bench/fleet.sh [--build DIR] [--pages N] [--hosts H] [--delay-ms D] [--concurrency C]
#                  [--workers "1 2 4"] [--memory-urls N] [--parse-priority P] [--out DIR]
#
# The workers parse at limits.parse_priority P (default normal): several workers, the site and
# Redis share the machine's cores, and at `idle` (SCHED_IDLE) one worker's parse threads wait
# for every other process's threads, so the run would measure that starvation (issue 14), not
# how the fleet scales.
#
# Needs redis-server (scripts/install-deps.sh installs it). Everything runs on 127.0.0.1.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
BUILD=$ROOT/build/release
PAGES=4000
HOSTS=64
DELAY=100
CONC=8
WORKERS="1 2 4"
MEMORY_URLS=1000000
PARSE_PRIORITY=normal
OUT=""
while [ $# -gt 0 ]; do
  case "$1" in
    --build) BUILD=$2; shift 2 ;;
    --pages) PAGES=$2; shift 2 ;;
    --hosts) HOSTS=$2; shift 2 ;;
    --delay-ms) DELAY=$2; shift 2 ;;
    --concurrency) CONC=$2; shift 2 ;;
    --workers) WORKERS=$2; shift 2 ;;
    --memory-urls) MEMORY_URLS=$2; shift 2 ;;
    --parse-priority) PARSE_PRIORITY=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "fleet.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
OUT=${OUT:-$HERE/out/fleet-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"
for bin in trawler trawler-bench-site trawler-bench-redis-memory; do
  [ -x "$BUILD/$bin" ] || { echo "fleet.sh: $BUILD/$bin missing (cmake --build --preset release)" >&2; exit 2; }
done
command -v redis-server >/dev/null || { echo "fleet.sh: redis-server missing" >&2; exit 2; }

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --daemonize no \
  --loglevel warning >"$OUT/redis.log" 2>&1 &
redis_pid=$!
site_pid=""
cleanup() { kill "$redis_pid" 2>/dev/null; [ -z "$site_pid" ] || kill "$site_pid" 2>/dev/null; }
trap cleanup EXIT
for _ in $(seq 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
REDIS=redis://127.0.0.1:$port
worker_config=$OUT/worker-config.json
printf '{"limits": {"parse_priority": "%s"}}\n' "$PARSE_PRIORITY" >"$worker_config"

stat_of() { redis-cli -p "$port" info stats | tr -d '\r' | awk -F: -v k="$1" '$1 == k { print $2 }'; }

echo "site: $PAGES pages on $HOSTS hosts, ${DELAY} ms per response; concurrency $CONC per worker, parse priority $PARSE_PRIORITY" | tee "$OUT/summary.txt"
printf "%-8s %10s %10s %9s %14s %14s\n" workers pages pages/s speedup cmds/page bytes/page | tee -a "$OUT/summary.txt"
base=""
for w in $WORKERS; do
  "$BUILD/trawler-bench-site" --port 0 --pages "$PAGES" --hosts "$HOSTS" --delay-ms "$DELAY" \
    >"$OUT/site-$w.txt" 2>/dev/null &
  site_pid=$!
  for _ in $(seq 100); do [ -s "$OUT/site-$w.txt" ] && break; sleep 0.05; done
  seed=$(head -n1 "$OUT/site-$w.txt")
  site_port=${seed##*:}; site_port=${site_port%%/*}
  resolve=()
  for h in $(seq 0 $((HOSTS - 1))); do resolve+=(--resolve "host$h.bench:$site_port:127.0.0.1"); done
  redis-cli -p "$port" flushall >/dev/null
  cmd0=$(stat_of total_commands_processed); in0=$(stat_of total_net_input_bytes); out0=$(stat_of total_net_output_bytes)
  start=$(date +%s.%N)
  pids=()
  for i in $(seq 1 "$w"); do
    seed_arg=()
    [ "$i" = 1 ] && seed_arg=("$seed")
    "$BUILD/trawler" crawl -q --no-progress --allow-private --redis "$REDIS" --crawl-name bench \
      -c "$worker_config" --scope any --max-depth 1000 --concurrency "$CONC" --per-host 2 "${resolve[@]}" \
      -o "$OUT/w$w-$i.jsonl" "${seed_arg[@]}" 2>"$OUT/w$w-$i.err" &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p"; done
  end=$(date +%s.%N)
  cmd1=$(stat_of total_commands_processed); in1=$(stat_of total_net_input_bytes); out1=$(stat_of total_net_output_bytes)
  kill "$site_pid" 2>/dev/null; wait "$site_pid" 2>/dev/null; site_pid=""
  pages=$(cat "$OUT"/w"$w"-*.jsonl | grep -c '"status":[0-9]')
  python3 - "$w" "$pages" "$start" "$end" "$((cmd1 - cmd0))" "$((in1 - in0 + out1 - out0))" "${base:-}" >>"$OUT/rows.txt" <<'PY'
import sys
w, pages, start, end, cmds, nbytes, base = sys.argv[1:]
pages = int(pages); secs = float(end) - float(start); rate = pages / secs
speed = rate / float(base) if base else 1.0
print(f"{w:<8} {pages:>10} {rate:>10.1f} {speed:>8.2f}x {int(cmds)/pages:>14.2f} {int(nbytes)/pages:>14.1f}")
PY
  tail -n1 "$OUT/rows.txt" | tee -a "$OUT/summary.txt"
  [ -n "$base" ] || base=$(tail -n1 "$OUT/rows.txt" | awk '{print $3}')
done

echo "Redis memory at $MEMORY_URLS URLs:" | tee -a "$OUT/summary.txt"
"$BUILD/trawler-bench-redis-memory" "$REDIS" "$MEMORY_URLS" 1000 | tee -a "$OUT/summary.txt"
echo "results in $OUT" >&2
