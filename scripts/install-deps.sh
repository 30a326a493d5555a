#!/usr/bin/env bash
# Installs the Debian 12 packages trawler needs to build and test, skipping those present.
set -euo pipefail
packages=(
  g++ cmake make pkg-config ccache git
  libboost1.81-dev libboost-url1.81-dev libgumbo-dev nlohmann-json3-dev libyaml-cpp-dev
  libssl-dev zlib1g-dev libbrotli-dev libre2-dev libpsl-dev libsqlite3-dev libhiredis-dev
  libgtest-dev libgmock-dev python3 python3-jsonschema openssl ca-certificates
  # Tests only: a real Redis for the Redis client and cluster tests.
  redis-server
)
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
