#!/bin/sh
# SSE fan-out: Herald against nginx + nchan (the anchor), same client, same
# run. K streams over K/2 users (each event reaches 2 streams):
#   1. paced: R events/s (2R deliveries/s), p50/p99 publish-to-receive;
#   2. closed loop: as fast as publishing allows, delivered events/s;
# and each server's memory per open stream (RSS growth / streams).
#
#   bench/sse.sh [STREAMS] [RATE] [EVENTS]     (defaults 18000 2000 20000)
#
# Herald's publish is a durable ingest (an fsync per group commit); nchan's
# is in memory. Needs nginx and libnginx-mod-nchan (installed if missing).
set -eu
cd "$(dirname "$0")/.."
. bench/lib.sh
K=${1:-18000}
R=${2:-2000}
M=${3:-20000}
U=$((K / 2))
PORT=18290
ADMIN=hak_ssebenchssebenchssebenchssebench
DIR=var/sse
NCHAN=../shared/tools/sseload/nchan.sh

if ! dpkg-query -W -f='${Status}' libnginx-mod-nchan 2>/dev/null | grep -q 'install ok installed'; then
  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q nginx libnginx-mod-nchan
fi
bench_build
S=build-bench/bench/sseload
bench_fresh_dir "$DIR"
bench_machine "$K streams, $U users"

echo "== anchor: nginx + nchan (2 workers)"
PIDS=$(NCHAN_DIR="$PWD/$DIR/nchan" "$NCHAN" start)
"$S" -p 8085 -k "$K" -u "$U" -S /sub/%d -B /pub/%d -m "$M" -r "$R" -c 16 -s "$PIDS" -L nchan-paced
"$S" -p 8085 -k "$K" -u "$U" -S /sub/%d -B /pub/%d -m "$M" -r 0 -c 16 -s "$PIDS" -L nchan-closed
NCHAN_DIR="$PWD/$DIR/nchan" "$NCHAN" stop

# Herald twice: as shipped (synchronous=full: an event reaches streams only
# after its fsync), and with synchronous=normal, which isolates the fan-out
# machinery from the disk (durable against a crash of Herald, not of the OS).
for SYNC in full normal; do
  echo "== herald, synchronous=$SYNC"
  rm -f "$DIR"/herald.db*
  HERALD_ADMIN_KEY=$ADMIN build-bench/herald serve --database "$DIR/herald.db" \
    --listen "127.0.0.1:$PORT" --log-level warn --max-streams "$((K + 100))" \
    --synchronous "$SYNC" > "$DIR/herald.out" 2> "$DIR/herald.err" &
  HPID=$!
  trap 'kill $HPID 2>/dev/null || true' EXIT INT TERM
  sleep 0.5
  KEY=$(/usr/bin/python3 bench/sse_setup.py "http://127.0.0.1:$PORT" "$ADMIN" "$U" "$DIR/tokens")
  "$S" -j -S /v1/me/stream -t "$DIR/tokens" -K "$KEY" -p "$PORT" -k "$K" -u "$U" -m "$M" \
    -r "$R" -c 16 -s "$HPID" -L "herald-$SYNC-paced"
  "$S" -j -S /v1/me/stream -t "$DIR/tokens" -K "$KEY" -p "$PORT" -k "$K" -u "$U" -m "$M" \
    -r 0 -c 64 -s "$HPID" -L "herald-$SYNC-closed"
  kill -TERM $HPID; wait $HPID 2>/dev/null || true
  trap - EXIT INT TERM
done
echo "== done"
