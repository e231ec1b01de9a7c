#!/bin/sh
# Installs what is missing, then builds and runs every test:
#   1. gcc build: unit tests (cmocka) and API tests (pytest, real herald);
#   2. clang build, warning-free, with the unit tests;
#   3. the whole suite again under AddressSanitizer + UBSan;
#   4. a valgrind smoke run: API tests of ingest, feeds, streams, the outbox
#      and the audit trail with herald under memcheck, no leaks or errors
#      (scripts/valgrind.sh);
#   5. every libFuzzer target for 400,000 executions from its corpus, with a
#      fixed seed, so a run is repeatable (scripts/fuzz.sh, docs/fuzzing.md).
set -eu
cd "$(dirname "$0")/.."
./scripts/setup.sh

setup() { # dir, then meson options
  dir=$1; shift
  if [ -d "$dir" ]; then meson setup --reconfigure "$dir" "$@" >/dev/null
  else meson setup "$dir" "$@" >/dev/null; fi
}

echo "== gcc: build and every test"
setup build
ninja -C build
meson test -C build --print-errorlogs

echo "== clang: build and unit tests"
CC=clang setup build-clang
ninja -C build-clang
meson test -C build-clang --suite unit --print-errorlogs

echo "== AddressSanitizer + UBSan: build and every test"
setup build-asan -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug
ninja -C build-asan
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  meson test -C build-asan --print-errorlogs -t 3

echo "== valgrind: API tests with herald under memcheck"
./scripts/valgrind.sh

echo "== libFuzzer: every target for 400,000 executions"
FUZZ_SEED=1 ./scripts/fuzz.sh -runs=400000
echo "== all tests passed"
