#!/usr/bin/env bash
# Installs the Debian 12 packages trawler needs to build and test, skipping those present.
#   scripts/install-deps.sh                 everything (the tests' servers, browser and readers too)
#   scripts/install-deps.sh --build-only    what building needs (scripts/demo.sh uses this)
set -euo pipefail
build_only=0
[ "${1:-}" = "--build-only" ] && build_only=1
packages=(
  g++ cmake make pkg-config ccache git
  libboost1.81-dev libboost-url1.81-dev libgumbo-dev nlohmann-json3-dev libyaml-cpp-dev
  libssl-dev zlib1g-dev libbrotli-dev libre2-dev libpsl-dev libsqlite3-dev libhiredis-dev
  libzstd-dev libgtest-dev libgmock-dev python3 python3-jsonschema openssl ca-certificates
)
test_packages=(
  # Tests only: a real Redis for the Redis client and cluster tests.
  redis-server
  # Tests only: gzip/zstd command-line checks of compressed outputs, Node.js for warcio (its npm
  # comes below: a nodejs from another source may carry its own).
  zstd time nodejs
  # Tests only: the dashboard's browser test drives Debian's chromium; the Grafana dashboard's
  # queries run on a real Prometheus.
  chromium prometheus
)
[ "$build_only" -eq 1 ] || packages+=("${test_packages[@]}")
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}" >&2
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  # apt and dpkg print progress on stdout: it goes to stderr, so that a caller's stdout (the
  # demo's JSONL records) holds nothing but its own output, on the first run too.
  $SUDO apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi
[ "$build_only" -eq 0 ] || exit 0
# Debian's nodejs comes without npm; a nodejs from elsewhere (NodeSource) has its own.
if ! command -v npm > /dev/null; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "installing: npm" >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends npm >&2
fi
# Tests only: the WARC checker's npm packages (warcio, pinned by tests/warc/package-lock.json),
# installed from the repository root; npm's output goes to stderr like apt's.
if [ ! -d "$(dirname "$0")/../tests/warc/node_modules/warcio" ]; then
  echo "installing: tests/warc npm packages (npm ci)" >&2
  (cd "$(dirname "$0")/.." && npm ci --prefix tests/warc --no-audit --no-fund >&2)
fi
# Tests only: playwright-core (pinned by tests/browser/package-lock.json) drives the system
# chromium over the DevTools protocol; it downloads no browser of its own.
if [ ! -d "$(dirname "$0")/../tests/browser/node_modules/playwright-core" ]; then
  echo "installing: tests/browser npm packages (npm ci)" >&2
  (cd "$(dirname "$0")/.." && npm ci --prefix tests/browser --no-audit --no-fund >&2)
fi
# Tests only: ReplayWeb.page (pinned by tests/replay/package-lock.json) replays the WARC of a
# crawl in chromium; only its built ui.js and sw.js are used, so no install script runs. Its
# dependency warcio is held at the version the registry has (package.json "overrides").
if [ ! -f "$(dirname "$0")/../tests/replay/node_modules/replaywebpage/sw.js" ]; then
  echo "installing: tests/replay npm packages (npm ci)" >&2
  (cd "$(dirname "$0")/.." && npm ci --prefix tests/replay --no-audit --no-fund --ignore-scripts >&2)
fi
