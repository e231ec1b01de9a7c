#!/bin/sh
# The fault benchmark: does a provider that hangs slow the API down?
#
#   bench/faults.sh [SECONDS]
#
# The same fixed load runs twice against a fresh Herald, for SECONDS (default
# 20) after 3 s of warm-up: 4 clients reading a member's feed (the first
# page) and 4 clients posting events, side by side (bench/loadgen, closed
# loop). Every event emails its three recipients, so the outbox always has
# work. The only difference between the runs is the SMTP server:
#
#   healthy  bench/smtpsink accepting everything (emails go out);
#   hanging  bench/smtpsink -H 1: it accepts connections and never answers,
#            so every send waits out smtp_timeout_s (5 s), fails, and comes
#            back after its backoff (1 s doubling to 4 s). With 16 SMTP
#            connections, 256 sends are stuck at any moment.
#
# One member reads as fast as it can, so the member rate limit is off.
# The healthy run is the anchor: the figure is the ratio of the p99
# latencies, hanging / healthy, for reads and for ingest. Prints RESULT
# lines (loadgen's, and the delivery attempts from /metrics) and the
# ratios. Uses var/bench-faults/.
set -eu
cd "$(dirname "$0")/.."
. bench/lib.sh
SECS=${1:-20}
PORT=${BENCH_PORT:-18590}
SINK_PORT=$((PORT + 1))
ADMIN=hak_benchbenchbenchbenchbenchbench

bench_build
H=build-bench/herald
L=build-bench/bench/loadgen
S=build-bench/bench/smtpsink
DIR=var/bench-faults
bench_fresh_dir "$DIR"
PIDS=""
trap 'kill $PIDS 2>/dev/null || true' EXIT INT TERM

bench_machine
echo "== $SECS s per run: 4 clients reading the feed, 4 posting events (3 emails each)"

run() { # $1: healthy | hanging
  rm -f "$DIR"/h.db*
  HANG=0; [ "$1" = hanging ] && HANG=1
  "$S" -p "$SINK_PORT" -n 0 -H "$HANG" > "$DIR/sink-$1.out" &
  SINK=$!
  PIDS="$PIDS $SINK"
  HERALD_ADMIN_KEY=$ADMIN "$H" serve --database "$DIR/h.db" --listen "127.0.0.1:$PORT" \
    --log-level error --email-provider smtp --smtp-url "smtp://127.0.0.1:$SINK_PORT" \
    --smtp-tls off --smtp-from bench@bench.example --smtp-connections 16 \
    --smtp-timeout-s 5 --delivery-backoff-s 1 --delivery-backoff-max-s 4 \
    --delivery-max-attempts 100 --delivery-lease-s 60 \
    --rate-limit-member-per-s 0 \
    > "$DIR/herald-$1.out" 2> "$DIR/herald-$1.err" &
  HPID=$!
  PIDS="$PIDS $HPID"
  sleep 0.5
  # Another process on the port would be measured instead: stop here.
  kill -0 "$HPID" 2>/dev/null && kill -0 "$SINK" 2>/dev/null \
    || { cat "$DIR/herald-$1.err" >&2; echo "faults.sh: ports $PORT/$SINK_PORT busy?" >&2; exit 1; }
  # Every booking emails each practitioner it names.
  KEY=$(/usr/bin/python3 bench/bench_ws.py create "http://127.0.0.1:$PORT" "$ADMIN" \
    --email --scheduling-email)
  set -- "$1" "$KEY" "$(/usr/bin/python3 bench/bench_ws.py token "http://127.0.0.1:$PORT" "$KEY" m1)"
  "$L" -p "$PORT" -m ingest -k "$2" -M m1,m2,m3 -c 4 -d "$SECS" -w 3 -x "ev-$1" \
    > "$DIR/ingest-$1.out" &
  INGEST=$!
  "$L" -p "$PORT" -m get -k "$3" -P /v1/me/notifications -c 4 -d "$SECS" -w 3 \
    > "$DIR/read-$1.out"
  wait "$INGEST"
  sed "s/^RESULT /RESULT $1 read /" "$DIR/read-$1.out"
  sed "s/^RESULT /RESULT $1 ingest /" "$DIR/ingest-$1.out"
  curl -s "http://127.0.0.1:$PORT/metrics" \
    | awk -v run="$1" '/^herald_delivery_attempts_total\{channel="email"/ {
        match($0, /status="[a-z]+"/); s = substr($0, RSTART + 8, RLENGTH - 9); a[s] = $2 }
      END { printf "RESULT %s email_attempts sent=%d failed=%d\n", run, a["sent"], a["failed"] }'
  kill "$HPID" "$SINK"; wait "$HPID" "$SINK" 2>/dev/null || true
}

run healthy
run hanging

p99() { sed -n 's/.*p99_ms=\([0-9.]*\).*/\1/p' "$DIR/$1.out"; }
echo "== p99, hanging / healthy"
echo "RESULT ratio read_p99=$(echo "$(p99 read-hanging) $(p99 read-healthy)" | awk '{printf "%.2f", $1 / $2}')" \
  "ingest_p99=$(echo "$(p99 ingest-hanging) $(p99 ingest-healthy)" | awk '{printf "%.2f", $1 / $2}')"
trap - EXIT INT TERM
