#!/usr/bin/env bash
# bench/freshness_live.sh: a real `trawler crawl --recrawl continuous` keeping the bench site's
# change model fresh (bench/README.md "Live freshness"). Starts trawler-bench-site --changes on a
# simulated clock (a day lasts --day-ms of wall time), crawls it continuously with every
# recrawl.* interval scaled by the same factor, stops the crawl with SIGTERM after --days
# simulated days, stops the site (which writes its ground truth), and prints the JSON summary
# of trawler-bench-freshness-live: freshness, changes caught, false gone / changed, bytes saved,
# revisits, and the same freshness for a uniform schedule with as many fetches.
#
#   bench/freshness_live.sh [--build DIR] [--pages N] [--hosts H] [--page-bytes B] [--links L]
#       [--days D] [--warmup-days W] [--day-ms MS] [--interval-hours H] [--new-pages N]
#       [--seed S] [--concurrency C] [--per-host P] [--site-args "..."] [--keep DIR]
#       [--check] [--smoke]
#
# --smoke: a tiny site for about 3 s (what ctest runs, with --check); --site-args: more
# trawler-bench-site flags (--classes, --deleted, --flapping, --validator-hosts, ...); --keep:
# leave the site's truth, the records, the config, the logs, the stop time (end_ms) and the
# summary in DIR.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
BUILD=$ROOT/build/release
PAGES=1000
HOSTS=5
PAGE_BYTES=8000
LINKS=12
DAYS=30
WARMUP=5
DAY_MS=4800
INTERVAL_HOURS=24
NEW_PAGES=""
SEED=1
CONCURRENCY=32
PER_HOST=4
SITE_ARGS=""
KEEP=""
CHECK=()
while [ $# -gt 0 ]; do
  case "$1" in
    --build) BUILD=$2; shift 2 ;;
    --pages) PAGES=$2; shift 2 ;;
    --hosts) HOSTS=$2; shift 2 ;;
    --page-bytes) PAGE_BYTES=$2; shift 2 ;;
    --links) LINKS=$2; shift 2 ;;
    --days) DAYS=$2; shift 2 ;;
    --warmup-days) WARMUP=$2; shift 2 ;;
    --day-ms) DAY_MS=$2; shift 2 ;;
    --interval-hours) INTERVAL_HOURS=$2; shift 2 ;;
    --new-pages) NEW_PAGES=$2; shift 2 ;;
    --seed) SEED=$2; shift 2 ;;
    --concurrency) CONCURRENCY=$2; shift 2 ;;
    --per-host) PER_HOST=$2; shift 2 ;;
    --site-args) SITE_ARGS=$2; shift 2 ;;
    --keep) KEEP=$2; shift 2 ;;
    --check) CHECK=(--check); shift ;;
    --smoke)
      # 120 pages on 5 hosts (one per kind of validators), 1.25 simulated days of 2.4 s, no
      # deletions (so any gone is false), many churn-only and flapping pages.
      PAGES=120 HOSTS=5 PAGE_BYTES=3000 LINKS=8 DAYS=1.25 WARMUP=0.25 DAY_MS=2400
      INTERVAL_HOURS=6 NEW_PAGES=10 CONCURRENCY=16 PER_HOST=4
      SITE_ARGS="--classes 0.1,0.3,0.2,0.2 --deleted 0 --flapping 0.1"
      shift ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) echo "bench/freshness_live.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
[ -n "$NEW_PAGES" ] || NEW_PAGES=$((PAGES / 10))
for b in trawler trawler-bench-site trawler-bench-freshness-live; do
  [ -x "$BUILD/$b" ] || { echo "no $BUILD/$b: build the release preset first" >&2; exit 1; }
done

# Every recrawl.* duration is its default (in simulated time) times DAY_MS / 1 day. The crawler
# refuses intervals under 100 ms: a simulated hour (min_interval_ms) must be at least that.
ms() { awk -v h="$1" -v d="$DAY_MS" 'BEGIN { printf "%d", h * 3600000 * d / 86400000 + 0.5 }'; }
MIN_MS=$(ms 1)
if [ "$MIN_MS" -lt 100 ]; then
  echo "bench/freshness_live.sh: --day-ms $DAY_MS makes a simulated hour $MIN_MS ms; the" \
    "crawler's shortest interval is 100 ms (use --day-ms 2400 or more)" >&2
  exit 2
fi

if [ -n "$KEEP" ]; then
  WORK=$KEEP
  mkdir -p "$WORK"
  rm -rf "$WORK/state"
else
  WORK=$(mktemp -d)
fi
SITE_PID=""
CRAWL_PID=""
# shellcheck disable=SC2317  # called by the trap
cleanup() {
  [ -n "$CRAWL_PID" ] && kill -TERM "$CRAWL_PID" 2>/dev/null
  [ -n "$SITE_PID" ] && kill -TERM "$SITE_PID" 2>/dev/null
  [ -z "$KEEP" ] && rm -rf "$WORK"
}
trap cleanup EXIT

HORIZON=$(awk -v d="$DAYS" 'BEGIN { print d + 1 }')
# shellcheck disable=SC2086
"$BUILD/trawler-bench-site" --pages "$PAGES" --hosts "$HOSTS" --page-bytes "$PAGE_BYTES" \
  --links "$LINKS" --seed "$SEED" --changes --day-ms "$DAY_MS" --horizon-days "$HORIZON" \
  --new-pages "$NEW_PAGES" --truth "$WORK/truth.jsonl" --stats "$WORK/site.json" $SITE_ARGS \
  > "$WORK/site.out" 2> "$WORK/site.err" &
SITE_PID=$!
SEED_URL=""
for _ in $(seq 200); do
  SEED_URL=$(head -n1 "$WORK/site.out" 2>/dev/null)
  [ -n "$SEED_URL" ] && break
  kill -0 "$SITE_PID" 2>/dev/null || break
  sleep 0.05
done
if [ -z "$SEED_URL" ]; then
  echo "the bench site did not start:" >&2
  cat "$WORK/site.err" >&2
  exit 1
fi
PORT=${SEED_URL##*:}
PORT=${PORT%/}

cat > "$WORK/crawl.json" <<EOF
{
  "scope": {"mode": "any", "max_depth": 1000},
  "limits": {"concurrency": $CONCURRENCY, "per_host": $PER_HOST},
  "output": {"fields": ["title"]},
  "recrawl": {
    "mode": "continuous",
    "interval_ms": $(ms "$INTERVAL_HOURS"),
    "min_interval_ms": $MIN_MS,
    "max_interval_ms": $(ms 720),
    "error_interval_ms": $(ms 2),
    "unreachable_ms": $(ms 168)
  }
}
EOF
resolve=() seeds=()
for ((h = 0; h < HOSTS; h++)); do
  resolve+=(--resolve "host$h.bench:$PORT:127.0.0.1")
  seeds+=("http://host$h.bench:$PORT/")  # every host's front page: a hub
done
"$BUILD/trawler" crawl -c "$WORK/crawl.json" --state-dir "$WORK/state" --allow-private \
  "${resolve[@]}" -o "$WORK/records.jsonl" --stats "$WORK/crawl-stats.json" --no-progress -q \
  "${seeds[@]}" > "$WORK/crawl.out" 2> "$WORK/crawl.err" &
CRAWL_PID=$!

sleep "$(awk -v d="$DAYS" -v m="$DAY_MS" 'BEGIN { printf "%.3f", d * m / 1000 }')"
END_MS=$(date +%s%3N)
kill -TERM "$CRAWL_PID"
wait "$CRAWL_PID"
crawl_rc=$?
CRAWL_PID=""
kill -TERM "$SITE_PID"
wait "$SITE_PID"
SITE_PID=""
if [ "$crawl_rc" -ne 0 ]; then
  echo "trawler crawl exited with $crawl_rc:" >&2
  tail -n 20 "$WORK/crawl.err" >&2
  exit 1
fi
echo "$END_MS" > "$WORK/end_ms"
"$BUILD/trawler-bench-freshness-live" --truth "$WORK/truth.jsonl" \
  --records "$WORK/records.jsonl" --warmup-days "$WARMUP" --end-ms "$END_MS" --seed "$SEED" \
  "${CHECK[@]}" | tee "$WORK/summary.json"
exit "${PIPESTATUS[0]}"
