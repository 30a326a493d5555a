#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test: release preset, then ASan+UBSan.
# Usage: scripts/test.sh [release|asan|debug ...]   (default: release asan)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
# ccache keys on paths relative to the checkout, so fresh clones reuse earlier builds.
export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=true
presets=("$@")
[ ${#presets[@]} -gt 0 ] || presets=(release asan)
for preset in "${presets[@]}"; do
  echo "== $preset ==" >&2
  cmake --preset "$preset" >/dev/null
  cmake --build --preset "$preset"
  ctest --preset "$preset"
done
