#!/usr/bin/env bash
# Installs the Debian 12 packages trawler needs to build and test, skipping those present.
set -euo pipefail
packages=(
  g++ cmake make pkg-config ccache git
  libboost1.81-dev libboost-url1.81-dev libgumbo-dev nlohmann-json3-dev libyaml-cpp-dev
  libssl-dev zlib1g-dev libbrotli-dev libre2-dev libpsl-dev libsqlite3-dev
  libgtest-dev libgmock-dev python3 python3-jsonschema openssl ca-certificates
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}" >&2
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
