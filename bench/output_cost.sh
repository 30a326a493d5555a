#!/usr/bin/env bash
# bench/output_cost.sh: what writing the output costs. `trawler bench` crawls the same generated
# site with the records discarded, written to segments (none, gzip, zstd) and with a WARC archive
# on, RUNS times each (default 3); prints the median CPU ms per page (the crawler's process only,
# the site runs in a child) and the bytes written per page. For scale, the same uncompressed WARC
# stream is then compressed by `gzip -6` alone: the part of the archive's cost that is
# compression itself.
#
#   bench/output_cost.sh [--build DIR] [--pages N] [--runs N] [--out DIR]
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
BUILD=$ROOT/build/release
PAGES=5000
RUNS=3
OUT=""
while [ $# -gt 0 ]; do
  case "$1" in
    --build) BUILD=$2; shift 2 ;;
    --pages) PAGES=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "bench/output_cost.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
[ -x "$BUILD/trawler" ] || { echo "no $BUILD/trawler: build the release preset first" >&2; exit 1; }
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

printf '%-26s %12s %16s %14s\n' "output" "CPU ms/page" "records B/page" "WARC B/page"
run_variant() {
  local name=$1; shift
  local cpu=() rec=0 warc=0
  for i in $(seq "$RUNS"); do
    rm -rf "$WORK/out"
    local args=()
    for a in "$@"; do args+=("${a//@/$WORK/out}"); done
    local text
    text=$("$BUILD/trawler" bench --pages "$PAGES" "${args[@]}" 2>&1) || { echo "$text" >&2; exit 1; }
    cpu+=("$(sed -n 's/^CPU\/page *\([0-9.]*\) ms.*/\1/p' <<<"$text")")
    rec=$(sed -n 's/^written *\([0-9]*\) bytes\/page of records.*/\1/p' <<<"$text")
    warc=$(sed -n 's/.*, \([0-9]*\) bytes\/page of WARC/\1/p' <<<"$text")
  done
  printf '%-26s %12s %16s %14s\n' "$name" "$(printf '%s\n' "${cpu[@]}" | median)" "${rec:-0}" "${warc:-0}"
}
run_variant "discarded"
run_variant "segments, none" --output-dir @/segs
run_variant "segments, gzip" --output-dir @/segs --compress gzip
run_variant "segments, zstd" --output-dir @/segs --compress zstd
run_variant "WARC" --warc @/warc
run_variant "segments zstd + WARC" --output-dir @/segs --compress zstd --warc @/warc
# The last run's archive, uncompressed, through gzip -6 alone.
zcat "$WORK"/out/warc/*.warc.gz > "$WORK/raw.warc"
responses=$(grep -c '^WARC-Type: response' "$WORK/raw.warc")
secs=$( { /usr/bin/time -f '%U %S' gzip -6 -c "$WORK/raw.warc" > /dev/null; } 2>&1 | awk '{print $1 + $2}')
printf 'gzip -6 of the same uncompressed WARC stream: %.3f ms/page (%d responses, %d bytes)\n' \
  "$(awk -v s="$secs" -v n="$responses" 'BEGIN {print s * 1000 / n}')" "$responses" \
  "$(stat -c %s "$WORK/raw.warc")"
[ -z "$OUT" ] || cp -r "$WORK/out" "$OUT"
