#!/usr/bin/env bash
# bench/recrawl_cost.sh: what a revisit costs against a first fetch. A generated site
# (trawler-bench-site, with and without --validators) is crawled twice with `trawler crawl
# --recrawl pass` on one state dir: the first pass fetches and parses every page (`new`), the
# second revisits them all. With validators every revisit is a 304 (no body, no parse); without,
# an unchanged 200 (the body is hashed, not parsed). Prints, per pass, the median CPU ms per
# page of the crawler's process (user + sys, robots.txt and start-up included) over RUNS runs,
# the body bytes the site sent per page, and each revisit pass against the first fetch.
#
#   bench/recrawl_cost.sh [--build DIR] [--pages N] [--runs N]
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
BUILD=$ROOT/build/release
PAGES=5000
RUNS=3
while [ $# -gt 0 ]; do
  case "$1" in
    --build) BUILD=$2; shift 2 ;;
    --pages) PAGES=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "bench/recrawl_cost.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
for b in trawler trawler-bench-site; do
  [ -x "$BUILD/$b" ] || { echo "no $BUILD/$b: build the release preset first" >&2; exit 1; }
done
WORK=$(mktemp -d)
SITE_PID=""
trap '[ -n "$SITE_PID" ] && kill "$SITE_PID" 2>/dev/null; rm -rf "$WORK"' EXIT

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

# A fresh site per pass (its --stats count that pass alone), always on the same port: the URLs,
# and so the state's rows, are the same from pass to pass.
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

# Starts the site; sets SEED and SITE_PID.
start_site() {
  rm -f "$WORK/site.out"
  "$BUILD/trawler-bench-site" --port "$PORT" --pages "$PAGES" --stats "$WORK/site.json" "$@" \
    > "$WORK/site.out" &
  SITE_PID=$!
  for _ in $(seq 100); do
    SEED=$(head -n1 "$WORK/site.out" 2>/dev/null)
    [ -n "$SEED" ] && return 0
    sleep 0.05
  done
  echo "the bench site did not start" >&2
  exit 1
}
stop_site() {
  kill -TERM "$SITE_PID"
  wait "$SITE_PID" 2>/dev/null
  SITE_PID=""
}

# One pass: CPU ms per page and body bytes per page, "cpu bytes".
pass() {
  local state=$1; shift
  start_site "$@"
  local hostport=${SEED#http://}
  hostport=${hostport%/}
  local t
  t=$( { /usr/bin/time -f '%U %S' "$BUILD/trawler" crawl --recrawl pass --state-dir "$state" \
        --allow-private --resolve "$hostport:127.0.0.1" --concurrency 16 --no-progress -q \
        -o "$WORK/records.jsonl" --stats "$WORK/stats.json" "$SEED" > /dev/null; } 2>&1 | tail -n1)
  stop_site
  local pages bytes
  pages=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["pages"])' "$WORK/stats.json")
  bytes=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["body_bytes"])' "$WORK/site.json")
  # The stats count every pass of the state: this pass's pages are the difference.
  echo "$t $pages $bytes"
}

printf '%-34s %14s %16s %12s\n' "pass" "CPU ms/page" "body B/page" "vs first"
for variant in validators plain; do
  flag=()
  [ "$variant" = validators ] && flag=(--validators)
  first=() second=() fb=0 sb=0
  for i in $(seq "$RUNS"); do
    state="$WORK/state-$variant-$i"
    read -r u s p1 b1 < <(pass "$state" "${flag[@]}")
    first+=("$(awk -v u="$u" -v s="$s" -v p="$p1" 'BEGIN {printf "%.4f", (u + s) * 1000 / p}')")
    fb=$(awk -v b="$b1" -v p="$p1" 'BEGIN {printf "%.0f", b / p}')
    read -r u s p2 b2 < <(pass "$state" "${flag[@]}")
    local_pages=$((p2 - p1))
    second+=("$(awk -v u="$u" -v s="$s" -v p="$local_pages" 'BEGIN {printf "%.4f", (u + s) * 1000 / p}')")
    sb=$(awk -v b="$b2" -v p="$local_pages" 'BEGIN {printf "%.0f", b / p}')
  done
  f=$(printf '%s\n' "${first[@]}" | median)
  r=$(printf '%s\n' "${second[@]}" | median)
  what="revisit (unchanged 200, hashed)"
  [ "$variant" = validators ] && what="revisit (304, conditional GET)"
  printf '%-34s %14s %16s %12s\n' "first fetch ($variant site)" "$f" "$fb" "1.00"
  printf '%-34s %14s %16s %12s\n' "$what" "$r" "$sb" "$(awk -v a="$r" -v b="$f" 'BEGIN {printf "%.2f", a / b}')"
done
