#!/usr/bin/env bash
# CI step: builds the libFuzzer targets (installing clang 14 when missing) and runs each one
# briefly from its seed corpus. Fails when a target crashes, hangs or breaks an invariant.
#
#   scripts/fuzz-ci.sh            FUZZ_SECONDS (default 20) per target, two targets at a time
#
# About 3-4 minutes on 2 cores, build included. Longer runs: bench/fuzz.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${FUZZ_SECONDS:-20}"
# A fixed seed makes CI repeatable: a crash it finds is found again on the next run. Fuzz with
# random seeds and longer runs through bench/fuzz.
export FUZZ_SEED="${FUZZ_SEED:-1}"

need=()
command -v clang++-14 >/dev/null || need+=(clang-14)
# libFuzzer and the sanitizer runtimes.
ls /usr/lib/llvm-14/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1 ||
  need+=(libclang-rt-14-dev)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}" >&2
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
fi

export FUZZ_BUILD_DIR="${FUZZ_BUILD_DIR:-$PWD/build/fuzz}"
export FUZZ_BUILD_JOBS="${FUZZ_BUILD_JOBS:-2}"
echo "== fuzz: build, then ${seconds}s per target ==" >&2
start=$(date +%s)
bench/fuzz --jobs 2 "$seconds"
echo "== fuzz: done in $(( $(date +%s) - start ))s ==" >&2
