#!/usr/bin/env bash
# Quick start: installs what is missing, builds, serves a generated demo site on loopback and
# crawls it, printing the JSONL records to stdout (installs, build logs and the report go to
# stderr). Extra arguments go to `trawler crawl`; relative paths in them (-o, --stats,
# --state-dir) are the caller's, not the repository's.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
# Everything before the crawl writes to stderr: stdout is for records only.
"$root/scripts/install-deps.sh" --build-only >&2
(cd "$root" && cmake --preset release >/dev/null && cmake --build --preset release \
  --target trawler trawler-demo-site) >&2
build="$root/build/release"
site_out="$(mktemp)"
"$build/trawler-demo-site" --port 0 --pages "${DEMO_PAGES:-200}" > "$site_out" &
site_pid=$!
trap 'kill $site_pid 2>/dev/null; rm -f "$site_out"' EXIT
for _ in $(seq 100); do
  [ -s "$site_out" ] && break
  sleep 0.1
done
url=$(head -n1 "$site_out")
echo "demo site at $url" >&2
# --allow-private: the demo site is on loopback, which the crawler refuses by default.
"$build/trawler" crawl -c "$root/config/demo.yaml" --allow-private "$url" "$@"
