#!/bin/sh
# Builds the libFuzzer targets (build-fuzz: clang, AddressSanitizer + UBSan)
# and runs each one, one at a time, on a copy of its seed corpus:
#   ./scripts/fuzz.sh             60 s per target
#   ./scripts/fuzz.sh 45          45 s per target
#   ./scripts/fuzz.sh -runs=N     N executions per target
#   FUZZ_SEED=1 ...               the same mutations every run (the test command's)
# fuzz/corpus/ is never written: each run works in build-fuzz/fuzz-out/<name>/,
# where a crash, leak or timeout leaves its input (crash-*, leak-*,
# timeout-*) and libFuzzer's log. Any of them fails the run. See
# docs/fuzzing.md.
set -eu
cd "$(dirname "$0")/.."

case ${1:-60} in
  -runs=*[!0-9]*|-runs=) echo "usage: $0 [SECONDS_PER_TARGET|-runs=N]" >&2; exit 2 ;;
  -runs=*) limit=$1 ;;
  *[!0-9]*|0) echo "usage: $0 [SECONDS_PER_TARGET|-runs=N]" >&2; exit 2 ;;
  *) limit=-max_total_time=${1:-60} ;;
esac
TARGETS="event token render resume query provider http"

./scripts/setup.sh
opts="-Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debugoptimized"
# shellcheck disable=SC2086
if [ -d build-fuzz ]; then CC=clang meson setup --reconfigure build-fuzz $opts >/dev/null
else CC=clang meson setup build-fuzz $opts >/dev/null; fi
# shellcheck disable=SC2046
ninja -C build-fuzz $(for t in $TARGETS; do printf 'fuzz/fuzz_%s ' "$t"; done)

# UBSan stops at the first report, so libFuzzer keeps the input.
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export ASAN_OPTIONS=detect_leaks=1
out=build-fuzz/fuzz-out
summary=""
failed=""
for t in $TARGETS; do
  dir=$out/$t
  rm -rf "$dir"
  mkdir -p "$dir/corpus"
  cp fuzz/corpus/"$t"/* "$dir/corpus/"
  dict=""
  [ -f fuzz/"$t".dict ] && dict=-dict=fuzz/$t.dict
  echo "== fuzz_$t ($limit)"
  rc=0
  # shellcheck disable=SC2086
  build-fuzz/fuzz/fuzz_"$t" "$limit" ${FUZZ_SEED:+-seed=$FUZZ_SEED} $dict -timeout=10 -max_len=8192 -print_final_stats=1 \
    -artifact_prefix="$dir/" "$dir/corpus" >"$dir/log" 2>&1 || rc=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log")
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$dir/log")
  secs=$(sed -n 's/.*Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$dir/log")
  cov=$(grep -E '^#[0-9]+' "$dir/log" | tail -n 1 | sed -n 's/.*cov: \([0-9]*\) ft: \([0-9]*\).*/cov \1 ft \2/p')
  line=$(printf '%-15s %10s runs %6s s %8s exec/s  %s' "fuzz_$t" "${runs:-?}" "${secs:-?}" \
    "${rate:-?}" "${cov:-}")
  if [ "$rc" -ne 0 ]; then
    line="$line  FAILED (exit $rc; see $dir/log)"
    failed="$failed fuzz_$t"
    grep -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error|artifact_prefix|Test unit written)' \
      "$dir/log" | head -n 8 >&2 || true
  fi
  echo "$line"
  summary="$summary$line
"
done
echo "== fuzzing: executions per target"
printf '%s' "$summary"
if [ -n "$failed" ]; then
  echo "== fuzzing failed:$failed" >&2
  exit 1
fi
echo "== fuzzing passed"
