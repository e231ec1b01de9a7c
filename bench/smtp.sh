#!/bin/sh
# The email benchmark: emails/s from Herald to a local SMTP sink, with
# connection reuse and with one connection per email, next to its anchor
# measured in the same run: libcurl alone (bench/smtpblast) sending the same
# kind of message to the same sink, both ways.
#
#   bench/smtp.sh [EMAILS] [CONNECTIONS]
#
# Herald's figure is end to end: N events go in over HTTP (loadgen, 16
# clients; each makes one email), and the sink times the first to the last
# message it receives. Ingest runs ~10x faster than SMTP, so the outbox
# fills at once and the figure is the delivery rate. Uses var/bench-smtp/.
set -eu
cd "$(dirname "$0")/.."
. bench/lib.sh
N=${1:-5000}
CONNS=${2:-4}
PORT=${BENCH_PORT:-18290}
SINK_PORT=$((PORT + 1))
ADMIN=hak_benchbenchbenchbenchbenchbench

bench_build
H=build-bench/herald
L=build-bench/bench/loadgen
S=build-bench/bench/smtpsink
B=build-bench/bench/smtpblast
DIR=var/bench-smtp
bench_fresh_dir "$DIR"
PIDS=""
trap 'kill $PIDS 2>/dev/null || true' EXIT INT TERM

bench_machine
echo "== $N emails, $CONNS SMTP connections"

sink() { # starts the sink for $1 messages; its RESULT goes to $DIR/sink.out
  "$S" -p "$SINK_PORT" -n "$1" > "$DIR/sink.out" &
  SINK=$!
  PIDS="$PIDS $SINK"
  sleep 0.3
}

echo "== anchor: libcurl alone"
for reuse in 1 0; do
  sink "$N"
  "$B" -u "smtp://127.0.0.1:$SINK_PORT/bench.example" -n "$N" -c "$CONNS" -r "$reuse" \
    | sed "s/^RESULT /RESULT anchor /"
  wait "$SINK" || true
  sed "s/^RESULT /RESULT anchor-sink /" "$DIR/sink.out" | grep RESULT
done

run_herald() { # $1: true (reuse) | false
  rm -f "$DIR"/h.db*
  sink "$N"
  HERALD_ADMIN_KEY=$ADMIN "$H" serve --database "$DIR/h.db" --listen "127.0.0.1:$PORT" \
    --log-level warn --email-provider smtp --smtp-url "smtp://127.0.0.1:$SINK_PORT" \
    --smtp-tls off --smtp-from bench@bench.example --smtp-connections "$CONNS" \
    --smtp-reuse="$1" > "$DIR/herald.out" 2> "$DIR/herald.err" &
  HPID=$!
  PIDS="$PIDS $HPID"
  sleep 0.5
  # Every booking emails its practitioner: one email per event.
  KEY=$(/usr/bin/python3 bench/bench_ws.py create "http://127.0.0.1:$PORT" "$ADMIN" \
    --members m1 --email --scheduling-email)
  "$L" -p "$PORT" -m ingest -k "$KEY" -M m1 -c 16 -n "$N" -x "ingest-reuse-$1" > "$DIR/ingest.out"
  wait "$SINK" || true
  sed "s/^RESULT /RESULT herald reuse=$1 /" "$DIR/sink.out" | grep RESULT
  grep RESULT "$DIR/ingest.out"
  kill "$HPID"; wait "$HPID" || true
}

echo "== herald: events in over HTTP, emails out over SMTP"
run_herald true
run_herald false
