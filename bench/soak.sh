#!/bin/sh
# The soak: SECONDS of mixed load on one Herald, then a check that memory
# stayed flat and that no event, notification or email was lost or
# duplicated. Bounded: it stops by itself.
#
#   bench/soak.sh [SECONDS] [WARMUP_SECONDS]     (defaults 600 and 120)
#   SOAK_RATE=150 SOAK_PORT=18390 bench/soak.sh 60 20     (a short trial)
#
# SQLite's page cache grows with the database up to its cap (per
# connection: sqlite_cache_mib, 64 MiB by default), which would read as
# growth. So the soak caps it at SOAK_CACHE_MIB (default 16) and first
# fills the database to SOAK_FILL_MB (default 96) with events of another
# workspace: the caches are full before the warm-up ends, and what grows
# after it is Herald's own. SOAK_CACHE_MIB=64 SOAK_FILL_MB=0 runs with the
# defaults from an empty database (memory then grows with the caches).
#
# It builds build/ if needed, then starts in a fresh temp dir:
#   - herald serve on a new SQLite file, the real clock, email over SMTP,
#     retries fast (backoff 1 s doubling to 4 s, 3 attempts, then dead);
#   - bench/smtpsink as a flaky provider: 20% of emails refused with 451,
#     each accepted or refused Message-ID logged;
#   - bench/soak.py, the driver: ingest (SOAK_RATE requests/s, default 150:
#     bookings, cancellations with email alerts, notes, invoices, messages,
#     repeats and conflicts), feed reads and PATCHes, SSE streams that come
#     and go (half resume with Last-Event-ID). It samples Herald's VmRSS
#     every 5 s, drains the outbox, checks everything and prints a summary.
# Pass: RSS at the end within 10% of RSS at the end of warm-up, nothing lost
# or duplicated. Exit status 1 otherwise. Every process it started is
# stopped on exit or Ctrl-C; the temp dir is kept (and named) on failure.
set -eu
cd "$(dirname "$0")/.."
SECS=${1:-600}
WARM=${2:-120}
RATE=${SOAK_RATE:-150}
FILL_MB=${SOAK_FILL_MB:-96}
CACHE_MIB=${SOAK_CACHE_MIB:-16}
PORT=${SOAK_PORT:-18390}
SINK_PORT=$((PORT + 1))
ADMIN=hak_soaksoaksoaksoaksoaksoaksoaksoak
MAX_ATTEMPTS=3

[ -d build ] || meson setup build >/dev/null
ninja -C build herald bench/smtpsink bench/loadgen >/dev/null
DIR=$(mktemp -d "${TMPDIR:-/tmp}/herald-soak.XXXXXX")
HPID=
SPID=
DPID=
cleanup() {
  for p in $DPID $HPID $SPID; do kill "$p" 2>/dev/null || true; done
  for p in $DPID $HPID $SPID; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== soak: $SECS s, warm-up $WARM s, $RATE requests/s; $(nproc) cores, $(uname -r)," \
  "$(date -u +%Y-%m-%dT%H:%MZ), herald $(git rev-parse --short HEAD 2>/dev/null || echo '?'); in $DIR"

build/bench/smtpsink -p "$SINK_PORT" -n 0 -f 20 -s 1 -l "$DIR/sink.log" > "$DIR/sink.out" &
SPID=$!
HERALD_ADMIN_KEY=$ADMIN build/herald serve --database "$DIR/herald.db" \
  --listen "127.0.0.1:$PORT" --log-level warn \
  --email-provider smtp --smtp-url "smtp://127.0.0.1:$SINK_PORT" --smtp-tls off \
  --smtp-from soak@soak.example --delivery-backoff-s 1 --delivery-backoff-max-s 4 \
  --delivery-max-attempts "$MAX_ATTEMPTS" --sqlite-cache-mib "$CACHE_MIB" \
  > "$DIR/herald.out" 2> "$DIR/herald.err" &
HPID=$!
i=0
until curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1; do
  i=$((i + 1))
  if [ "$i" -gt 100 ] || ! kill -0 "$HPID" 2>/dev/null; then
    echo "herald did not start:"; cat "$DIR/herald.err"; exit 1
  fi
  sleep 0.1
done

# Fill the database first (another workspace, which the checks leave
# alone), so the page caches are full before the warm-up ends.
if [ "$FILL_MB" -gt 0 ]; then
  FILL_KEY=$(/usr/bin/python3 bench/bench_ws.py create "http://127.0.0.1:$PORT" "$ADMIN" --id fill)
  n=0
  while [ "$(du -sm "$DIR" | cut -f1)" -lt "$FILL_MB" ] && [ "$n" -lt 40 ]; do
    build/bench/loadgen -p "$PORT" -m ingest -k "$FILL_KEY" -c 16 -n 10000 -x "fill$n" >/dev/null
    n=$((n + 1))
  done
  echo "== filled: $(du -sm "$DIR" | cut -f1) MB on disk ($((n * 10000)) events in another workspace)"
fi

# In the background, so that a TERM sent to this script alone stops it too
# (the trap runs during wait, and cleanup kills it).
/usr/bin/python3 bench/soak.py --port "$PORT" --admin "$ADMIN" --pid "$HPID" --db "$DIR/herald.db" \
  --sink-log "$DIR/sink.log" --seconds "$SECS" --warmup "$WARM" --rate "$RATE" \
  --max-attempts "$MAX_ATTEMPTS" &
DPID=$!
rc=0
wait "$DPID" || rc=$?
DPID=

# Herald must also stop cleanly.
kill -TERM "$HPID"
hrc=0
wait "$HPID" || hrc=$?
HPID=
if [ "$hrc" -ne 0 ]; then
  echo "herald exited $hrc"; rc=1
fi
if [ -s "$DIR/herald.err" ]; then
  echo "== herald's log (warnings and errors), last lines:"; tail -n 20 "$DIR/herald.err"
fi
if [ "$rc" -eq 0 ]; then
  rm -rf "$DIR"
  echo "== soak passed"
else
  echo "== soak FAILED; logs, database and rss.tsv kept in $DIR"
fi
exit "$rc"
