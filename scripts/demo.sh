#!/usr/bin/env bash
# Quick start: installs what is missing, builds, serves a generated demo site on loopback and
# crawls it, printing the JSONL records to stdout (logs and the report go to stderr).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release --target trawler trawler-demo-site >&2
build=build/release
"$build/trawler-demo-site" --port 0 --pages "${DEMO_PAGES:-200}" > /tmp/trawler-demo-site.$$ &
site_pid=$!
trap 'kill $site_pid 2>/dev/null; rm -f /tmp/trawler-demo-site.$$' EXIT
for _ in $(seq 100); do
  [ -s /tmp/trawler-demo-site.$$ ] && break
  sleep 0.1
done
url=$(head -n1 /tmp/trawler-demo-site.$$)
echo "demo site at $url" >&2
# --allow-private: the demo site is on loopback, which the crawler refuses by default.
"$build/trawler" crawl -c config/demo.yaml --allow-private "$url" "$@"
