#!/bin/sh
# The valgrind smoke run: a plain debug build (no sanitizers, build-valgrind/)
# and a subset of the API tests that covers ingest, feeds, streams, the
# outbox and its providers, with every herald they start running under
# memcheck. It fails if any herald leaks (definitely or indirectly lost
# bytes), reports a memory error, or exits non-zero (the tests assert that),
# and prints the offending valgrind log.
#
#   scripts/valgrind.sh [PYTEST_ARGS...]     (e.g. -x, or -k smtp)
#
# Logs: var/valgrind/vg.<pid>.log, one per herald process. A herald a test
# kills on purpose (SIGKILL) leaves a log without a summary; that is
# reported, not failed. No suppressions are needed: the third-party
# libraries' one-time allocations (ICU, OpenSSL, libcurl) stay reachable,
# and reachable blocks are not counted. Takes about 2 minutes on 2 cores.
set -eu
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=var/valgrind

if [ -d build-valgrind ]; then :; else meson setup build-valgrind -Dbuildtype=debug >/dev/null; fi
ninja -C build-valgrind herald >/dev/null
rm -rf "$OUT"; mkdir -p "$OUT"

# conftest.py runs HERALD_BIN; this wrapper puts valgrind in front of it.
cat > "$OUT/herald" <<EOF
#!/bin/sh
exec valgrind --leak-check=full --show-leak-kinds=definite,indirect \\
  --errors-for-leak-kinds=definite,indirect --error-exitcode=99 --track-fds=no \\
  --num-callers=30 \\
  --log-file="$ROOT/$OUT/vg.%p.log" "$ROOT/build-valgrind/herald" "\$@"
EOF
chmod +x "$OUT/herald"

TESTS="tests/api/test_smoke.py tests/api/test_feed.py tests/api/test_stream.py
  tests/api/test_smtp.py tests/api/test_devices.py tests/api/test_audit.py"
start=$(date +%s)
rc=0
# shellcheck disable=SC2086
HERALD_BIN="$ROOT/$OUT/herald" HERALD_TEST_START_TIMEOUT=60 PYTHONDONTWRITEBYTECODE=1 \
  /usr/bin/python3 -m pytest -q -p no:cacheprovider $TESTS "$@" || rc=$?

bad=0
logs=0
unfinished=0
for f in "$OUT"/vg.*.log; do
  [ -e "$f" ] || continue
  logs=$((logs + 1))
  if ! grep -q "ERROR SUMMARY" "$f"; then
    unfinished=$((unfinished + 1)) # killed on purpose: no exit, no leak check
    continue
  fi
  if grep -Eq "(definitely|indirectly) lost: [1-9]" "$f" ||
     grep -Eq "ERROR SUMMARY: [1-9]" "$f"; then
    bad=$((bad + 1))
    echo "== $f"; cat "$f"
  fi
done
echo "== valgrind: $logs herald processes, $unfinished killed before exit, $bad with leaks or" \
  "errors; pytest exit $rc; $(( $(date +%s) - start )) s"
[ "$logs" -gt 0 ] || { echo "no valgrind logs: did the tests run herald?"; exit 1; }
[ "$bad" -eq 0 ] && [ "$rc" -eq 0 ]
