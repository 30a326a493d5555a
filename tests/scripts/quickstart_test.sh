#!/usr/bin/env bash
# The README's quick start as a user meets it: stdout of the demo holds only records (apt and
# build output go to stderr, on a first run too), paths given to the demo are the caller's,
# and -DBUILD_TESTING=OFF builds no test. Prints "N passed, M failed" and exits non-zero on a
# failure.
#   tests/scripts/quickstart_test.sh SOURCE_DIR
set -uo pipefail
src="$(cd "${1:?usage: quickstart_test.sh SOURCE_DIR}" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
passed=0
failed=0
check() {  # check NAME COMMAND...: one test
  local name="$1"
  shift
  if "$@"; then
    passed=$((passed + 1))
    echo "ok: $name"
  else
    failed=$((failed + 1))
    echo "FAILED: $name"
  fi
}

# 1. install-deps.sh on a machine missing a package: a stand-in dpkg-query says nothing is
# installed, and stand-in apt-get and sudo print progress on stdout, as the real ones do.
fake="$work/fakebin"
mkdir -p "$fake"
printf '#!/bin/sh\nexit 1\n' >"$fake/dpkg-query"
printf '#!/bin/sh\necho "Reading package lists... (apt-get $*)"\n' >"$fake/apt-get"
printf '#!/bin/sh\nexec "$@"\n' >"$fake/sudo"
chmod +x "$fake"/*
install_deps_quiet_on_stdout() {
  PATH="$fake:$PATH" "$src/scripts/install-deps.sh" >"$work/deps.out" 2>"$work/deps.err" &&
    [ ! -s "$work/deps.out" ] && grep -q "Reading package lists" "$work/deps.err"
}
check "install-deps.sh writes apt's output to stderr, nothing to stdout" install_deps_quiet_on_stdout

# 2. The demo's stdout is JSONL only, every line a record.
demo_stdout_is_records() {
  (cd "$work" && DEMO_PAGES=30 "$src/scripts/demo.sh" --max-pages 10 >"$work/demo.out" \
    2>"$work/demo.err") || return 1
  python3 - "$work/demo.out" <<'PY'
import json, sys
lines = open(sys.argv[1], encoding="utf-8").read().splitlines()
assert len(lines) == 10, f"{len(lines)} lines"
for l in lines:
    assert isinstance(json.loads(l).get("url"), str), l
PY
}
check "scripts/demo.sh > out.jsonl holds only records" demo_stdout_is_records

# 3. A relative -o is the caller's folder, not the repository's.
demo_output_in_callers_folder() {
  mkdir -p "$work/caller"
  rm -f "$src/quickstart-test.jsonl"
  (cd "$work/caller" && DEMO_PAGES=30 "$src/scripts/demo.sh" --max-pages 5 \
    -o quickstart-test.jsonl >/dev/null 2>"$work/demo2.err") || return 1
  [ -s "$work/caller/quickstart-test.jsonl" ] && [ ! -e "$src/quickstart-test.jsonl" ] &&
    [ "$(wc -l <"$work/caller/quickstart-test.jsonl")" -eq 5 ]
}
check "scripts/demo.sh -o FILE writes FILE in the caller's folder" demo_output_in_callers_folder

# 4. CTest's standard switch: no test target is generated with BUILD_TESTING=OFF.
no_tests_without_build_testing() {
  cmake -S "$src" -B "$work/notests" -DBUILD_TESTING=OFF -DCMAKE_BUILD_TYPE=Release \
    >/dev/null 2>"$work/cmake.err" || return 1
  cmake --build "$work/notests" --target help >"$work/targets.txt" || return 1
  grep -q "trawler$" "$work/targets.txt" && ! grep -Eq "_test$|_fuzz_checks$" "$work/targets.txt"
}
check "cmake -DBUILD_TESTING=OFF configures no test" no_tests_without_build_testing

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
