#!/bin/sh
# The push benchmarks, each with its anchor measured in the same run.
#
#   bench/push.sh [EVENTS] [SECONDS]
#
# 1. Web Push messages prepared per second on one core (bench/webpush_crypto:
#    encrypt for the subscriber, VAPID header), beside `openssl speed
#    ecdhp256` (the one ECDH every message needs, OpenSSL alone).
# 2. APNs pushes per second over one HTTP/2 connection: Herald, with 100
#    staff members who each have an iPhone and a workspace that alerts all
#    staff of bookings, gets EVENTS bookings over HTTP (loadgen, 4 clients);
#    each makes 100 pushes to nghttpd --echo-upload (Debian's nghttp2, a
#    real HTTP/2 server that answers every POST with 200). The rate is the
#    first to the last attempt Herald recorded. Anchor: h2load (nghttp2's
#    load client) sending as many pushes of the same size and headers over
#    one connection, 100 streams at a time, to the same server.
#    (Node's http2 server, the tests' APNs stand-in, refuses streams under
#    this load: REFUSED_STREAM, which nghttpd never sends.)
# Uses var/bench-push/.
set -eu
cd "$(dirname "$0")/.."
. bench/lib.sh
EVENTS=${1:-200}
SECS=${2:-3}
PORT=${BENCH_PORT:-18390}
APNS_PORT=$((PORT + 1))
ADMIN=hak_benchbenchbenchbenchbenchbench
STAFF=100
PUSHES=$((EVENTS * STAFF))

bench_build
H=build-bench/herald
L=build-bench/bench/loadgen
DIR=var/bench-push
bench_fresh_dir "$DIR"
PIDS=""
trap 'kill $PIDS 2>/dev/null || true' EXIT INT TERM

bench_machine

echo "== web push: messages prepared per second, one core"
openssl speed -seconds "$SECS" ecdhp256 2>/dev/null | awk '/ecdh \(nistp256\)/ {print "RESULT anchor=openssl-speed-ecdhp256 ops_per_s=" $NF}'
build-bench/bench/webpush_crypto "$SECS"

echo "== apns: $PUSHES pushes over one HTTP/2 connection"
if ! command -v nghttpd >/dev/null || ! command -v h2load >/dev/null; then
  echo "push.sh: needs Debian's nghttp2-server and nghttp2-client (apt-get install them)" >&2
  exit 1
fi
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=localhost \
  -addext subjectAltName=IP:127.0.0.1 -keyout "$DIR/tls.key" -out "$DIR/tls.crt" 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$DIR/AuthKey.p8" 2>/dev/null
nghttpd --echo-upload -d "$DIR" "$APNS_PORT" "$DIR/tls.key" "$DIR/tls.crt" > /dev/null 2>&1 &
PIDS="$PIDS $!"
sleep 0.3

printf '%s' '{"aps":{"alert":{"title":"Harbour Physiotherapy","body":"New booking: Tue, 24 Nov, 14:30."},"sound":"default"},"herald":{"notification_id":"ntf_1","type":"appointment.booked","event_id":"evt_1","url":null}}' > "$DIR/payload.json"
h2load -n "$PUSHES" -c 1 -m 100 -d "$DIR/payload.json" -H 'authorization: bearer x.y.z' \
  -H 'apns-topic: com.harbour.app' -H 'apns-push-type: alert' -H 'apns-priority: 10' \
  "https://127.0.0.1:$APNS_PORT/3/device/$(printf 'ab%.0s' $(seq 32))" > "$DIR/h2load.out" 2>&1
awk '/^finished in/ {gsub(",", ""); print "RESULT anchor=h2load pushes='"$PUSHES"' rate=" $4}
     /^requests:/ {print "RESULT anchor=h2load " $0}' "$DIR/h2load.out"

HERALD_ADMIN_KEY=$ADMIN "$H" serve --database "$DIR/h.db" --listen "127.0.0.1:$PORT" \
  --log-level warn --apns-key-file "$DIR/AuthKey.p8" --apns-key-id KEY1234567 \
  --apns-team-id TEAM123456 --apns-topic com.harbour.app \
  --apns-host "https://127.0.0.1:$APNS_PORT" --push-ca-file "$DIR/tls.crt" \
  > "$DIR/herald.out" 2> "$DIR/herald.err" &
HPID=$!
PIDS="$PIDS $HPID"
sleep 0.5
KEY=$(/usr/bin/python3 bench/bench_ws.py create "http://127.0.0.1:$PORT" "$ADMIN" \
  --staff "$STAFF" --all-staff --apns)
"$L" -p "$PORT" -m ingest -k "$KEY" -M m1 -c 4 -n "$EVENTS" -x apns > "$DIR/ingest.out"
/usr/bin/python3 - "$DIR/h.db" "$PUSHES" <<'PY'
import sqlite3, sys, time
db, want = sqlite3.connect(sys.argv[1]), int(sys.argv[2])
for _ in range(600):  # until every push has its outcome (at most a minute)
    done = db.execute("SELECT count(*) FROM deliveries WHERE channel = 3 AND status NOT IN (0, 1)").fetchone()[0]
    if done >= want:
        break
    time.sleep(0.1)
sent, first, last = db.execute("SELECT count(*), min(a.at), max(a.at) FROM delivery_attempts a "
                               "JOIN deliveries d ON d.id = a.did WHERE d.channel = 3 AND a.ok = 1").fetchone()
other = db.execute("SELECT count(*) FROM deliveries WHERE channel = 3 AND status <> 2").fetchone()[0]
span = max(last - first, 1) / 1000
print("RESULT herald pushes_sent=%d not_sent=%d seconds=%.3f rate=%.0f" % (sent, other, span, (sent - 1) / span))
PY
grep RESULT "$DIR/ingest.out"
kill "$HPID"; wait "$HPID" || true
