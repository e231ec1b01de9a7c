#!/bin/sh
# Herald's benchmarks, with their anchors measured in the same run.
#
#   bench/run.sh [SECONDS_PER_STEP] [NOTIFICATIONS]
#
# 1. raw SQLite: the rows Herald writes per event (1 event, 3 notifications,
#    3 counter updates) at one fsync per event and per 100 events;
# 2. Herald durable ingest (3 recipients each) at 1, 16 and 64 concurrent
#    clients: events/s and ack latency p50/p99;
# 3. the database filled to NOTIFICATIONS (default 1,000,000), then the feed's
#    first page and the unread count for one member: p50/p99 over loopback,
#    next to the same first-page query run by SQLite alone.
# Prints RESULT lines and a summary; uses var/bench/ (deleted first).
set -eu
cd "$(dirname "$0")/.."
. bench/lib.sh
SECS=${1:-10}
TARGET=${2:-1000000}
PORT=${BENCH_PORT:-18190}
ADMIN=hak_benchbenchbenchbenchbenchbench

bench_build
H=build-bench/herald
L=build-bench/bench/loadgen
R=build-bench/bench/sqlite_raw
DIR=var/bench
bench_fresh_dir "$DIR"

bench_machine

echo "== anchor: raw SQLite, same rows per event, synchronous=FULL"
"$H" workspace list --database "$DIR/raw.db" >/dev/null
"$R" ingest "$DIR/raw.db" 1 2000
"$R" ingest "$DIR/raw.db" 100 50000

echo "== herald: durable ingest, 3 recipients per event"
# The feed steps below read as one member as fast as loopback allows (3,000
# requests in a second or so): the member rate limit (50/s by default) would
# answer them 429, so it is off here. The API key's limit (20,000/s) stays
# on: ingest runs under it, as in production.
HERALD_ADMIN_KEY=$ADMIN "$H" serve --database "$DIR/herald.db" --listen "127.0.0.1:$PORT" \
  --log-level warn --rate-limit-member-per-s 0 > "$DIR/herald.out" 2> "$DIR/herald.err" &
HPID=$!
trap 'kill $HPID 2>/dev/null || true' EXIT INT TERM
sleep 0.5
U=http://127.0.0.1:$PORT
KEY=$(/usr/bin/python3 bench/bench_ws.py create "$U" "$ADMIN" --email)
"$L" -p "$PORT" -m ingest -k "$KEY" -c 1 -d "$SECS" -w 2 -x c1
"$L" -p "$PORT" -m ingest -k "$KEY" -c 16 -d "$SECS" -w 2 -x c16
"$L" -p "$PORT" -m ingest -k "$KEY" -c 64 -d "$SECS" -w 2 -x c64

echo "== filling to $TARGET notifications"
HAVE=$(/usr/bin/python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('select count(*) from notifications').fetchone()[0])" "$DIR/herald.db")
NEED=$(( (TARGET - HAVE + 2) / 3 ))
[ "$NEED" -gt 0 ] && "$L" -p "$PORT" -m ingest -k "$KEY" -c 64 -n "$NEED" -x fill >/dev/null
TOKEN=$(/usr/bin/python3 bench/bench_ws.py token "$U" "$KEY" m1)
MID=$(/usr/bin/python3 -c "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); print(c.execute(\"select mid from members where id='m1'\").fetchone()[0]); print(c.execute('select count(*) from notifications').fetchone()[0], file=sys.stderr)" "$DIR/herald.db")

echo "== feed at $(/usr/bin/python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('select count(*) from notifications').fetchone()[0])" "$DIR/herald.db") notifications"
"$L" -p "$PORT" -m get -k "$TOKEN" -P "/v1/me/notifications" -c 1 -n 3000
"$L" -p "$PORT" -m get -k "$TOKEN" -P "/v1/me/notifications/count" -c 1 -n 3000
"$R" feed "$DIR/herald.db" "$MID" 3000

kill -TERM $HPID; wait $HPID 2>/dev/null || true
trap - EXIT INT TERM
curl -s >/dev/null 2>&1 || true
echo "== done"
