#!/bin/sh
# Several Herald nodes on one PostgreSQL database: the scaling curve, with
# one node on SQLite as the anchor, all in one run.
#
#   bench/nodes.sh [SECONDS] [STREAMS] [EVENTS] [RATE]   (defaults 10 3000 8000 300)
#
# 1. Durable ingest (appointment.booked, 3 recipients per event), 64
#    concurrent clients as in bench/run.sh, SECONDS after 2 s of warm-up:
#    one node on SQLite, then 1, 2 and 3 nodes on one PostgreSQL database.
#    One loadgen per node runs in parallel with the 64 clients split between
#    them; the rates are summed and the latencies merged into one p50/p99.
#    Twice: every event naming the same 3 members (members=same, as
#    bench/run.sh does), then each client naming its own 3 (members=own).
#    Also the CPU time per event of the Herald nodes, of PostgreSQL and of
#    the rest (mostly loadgen), and how busy the cores were (/proc).
# 2. SSE fan-out: STREAMS streams over STREAMS/2 members (each event reaches
#    2 streams), opened round-robin over the nodes (a member's two streams on
#    different nodes once there are two), events published through every
#    node (publish connections round-robin), same four configurations:
#      paced:  RATE events/s for 8 s over 16 connections;
#      closed: EVENTS events as fast as they are answered, 64 connections;
#    delivered events/s and publish-to-receive p50/p99 (bench/sseload).
# Every configuration gets a fresh database: a new SQLite file, or a new
# PostgreSQL database (CHECKPOINT first) on one throwaway PostgreSQL 15
# server (scripts/pg.sh, fsync and synchronous_commit on) on the same disk.
# HERALD_* settings in the environment reach every node (e.g.
# HERALD_DB_CONNECTIONS, PostgreSQL connections per node, default 8).
# Prints RESULT lines and a summary; uses var/nodes/ (deleted first).
set -eu
cd "$(dirname "$0")/.."
. bench/lib.sh
SECS=${1:-10}
K=${2:-3000}
M=${3:-8000}
RATE=${4:-300}
U=$((K / 2))
MP=$((RATE * 8))
BASE=${BENCH_PORT:-18390}
PGPORT=$((BASE + 50))
CLIENTS=64
ADMIN=hak_nodesbenchnodesbenchnodesbench
DIR=var/nodes
NODES_MAX=3

bench_build
H=$PWD/build-bench/herald
L=$PWD/build-bench/bench/loadgen
S=$PWD/build-bench/bench/sseload
PY=/usr/bin/python3
bench_fresh_dir "$DIR"
RES=$DIR/results

PIDS=""   # Herald nodes running
BG=""     # load generators running in the background
PGDIR=""
cleanup() {
  set +e
  for p in $BG; do pkill -TERM -P "$p" 2>/dev/null; done   # sseload's subscriber processes
  for p in $BG $PIDS; do kill -TERM "$p" 2>/dev/null; done
  for p in $BG $PIDS; do wait "$p" 2>/dev/null; done
  if [ -n "$PGDIR" ]; then
    scripts/pg.sh stop "$PGDIR" >/dev/null 2>&1
    rm -rf "$PGDIR"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

die() { echo "nodes.sh: $*" >&2; exit 1; }

# Every node may hold all the streams, and the client's connections too.
# shellcheck disable=SC3045 # dash has ulimit -H and -n
NOFILE=$(ulimit -Hn)
[ "$NOFILE" = unlimited ] && NOFILE=1048576
[ "$NOFILE" -gt 20000 ] && NOFILE=20000
[ "$NOFILE" -ge $((K + 1000)) ] || die "open-file limit $NOFILE is too low for $K streams"

REV=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
git diff --quiet HEAD -- src 2>/dev/null || REV="$REV+changes"
bench_machine "herald $REV; $K streams, $U members"

# Everything shares the two cores: other work running now skews every figure.
BUSY=$("$PY" -c '
import time
def s():
    c = [int(x) for x in open("/proc/stat").readline().split()[1:8]]
    return sum(c), c[3] + c[4]
t0, i0 = s(); time.sleep(2); t1, i1 = s()
print("%.0f" % (100.0 * (1 - (i1 - i0) / max(1, t1 - t0))))')
echo "== the cores were $BUSY% busy in the 2 s before the run"
[ "$BUSY" -le 10 ] || echo "nodes.sh: warning: the machine is not idle ($BUSY% busy); the figures will be low and noisy" >&2

PGDIR=$(mktemp -d /tmp/herald-bench-pg.XXXXXX)
PGDSN=$(scripts/pg.sh start "$PGDIR" "$PGPORT")
PGBASE=${PGDSN%/*}
echo "== postgresql $(psql -h 127.0.0.1 -p "$PGPORT" -U herald -d postgres -qAtc 'SHOW server_version') on $PGBASE," \
  "fsync=$(psql -h 127.0.0.1 -p "$PGPORT" -U herald -d postgres -qAtc 'SHOW fsync')," \
  "synchronous_commit=$(psql -h 127.0.0.1 -p "$PGPORT" -U herald -d postgres -qAtc 'SHOW synchronous_commit')"
echo "== disks: sqlite in $DIR on $(df --output=fstype,source "$DIR" | tail -1 | tr -s ' '), postgresql in $PGDIR on $(df --output=fstype,source "$PGDIR" | tail -1 | tr -s ' ')"

psql_pg() { psql -h 127.0.0.1 -p "$PGPORT" -U herald -d postgres -qAt "$@"; }

# fresh_db STORE NAME: prints the --database value of a new, empty database
fresh_db() {
  if [ "$1" = sqlite ]; then
    rm -f "$DIR/$2.db" "$DIR/$2.db-wal" "$DIR/$2.db-shm"
    echo "$DIR/$2.db"
  else
    psql_pg -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $2" \
      -c "CREATE DATABASE $2" -c "CHECKPOINT" >/dev/null
    echo "$PGBASE/$2"
  fi
}

# start_nodes DATABASE N TAG: N nodes on ports BASE+1.., one after another
# (each ready before the next), PIDS and PORTS set
start_nodes() {
  PORTS=""
  i=1
  while [ "$i" -le "$2" ]; do
    port=$((BASE + i))
    (
      # shellcheck disable=SC3045
      ulimit -n "$NOFILE"
      HERALD_ADMIN_KEY=$ADMIN exec "$H" serve --database "$1" --listen "127.0.0.1:$port" \
        --log-level warn --max-streams "$((K + 100))"
    ) > "$DIR/$3-node$i.out" 2> "$DIR/$3-node$i.err" &
    pid=$!
    PIDS="$PIDS $pid"
    t=0
    until curl -sf "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; do
      kill -0 "$pid" 2>/dev/null || { cat "$DIR/$3-node$i.err" >&2; die "node $i of $3 did not start"; }
      t=$((t + 1))
      [ "$t" -lt 200 ] || die "node $i of $3 not ready after 20 s"
      sleep 0.1
    done
    PORTS="${PORTS:+$PORTS,}$port"
    i=$((i + 1))
  done
}

# stop_nodes TAG: keeps each node's /metrics, stops them (SIGTERM)
stop_nodes() {
  i=1
  for port in $(echo "$PORTS" | tr , ' '); do
    curl -sf "http://127.0.0.1:$port/metrics" > "$DIR/$1-node$i.metrics" 2>/dev/null || true
    i=$((i + 1))
  done
  for p in $PIDS; do kill -TERM "$p" 2>/dev/null || true; done
  for p in $PIDS; do wait "$p" 2>/dev/null || true; done
  PIDS=""
}

# metric_sum TAG NAME: a counter summed over the nodes of TAG
metric_sum() {
  cat "$DIR/$1"-node*.metrics 2>/dev/null | awk -v n="$2" '$1 == n {s += $2} END {printf "%d", s}'
}

# ---------------------------------------------------------------- ingest
# ingest_setup URL VARIANT N: the workspace and its members; prints the API
# key. same: m1..m3, named by every event; own: n<node>c<client>{a,b,c},
# the 3 members of one client (loadgen -M with %d).
ingest_setup() {
  "$PY" - "$1" "$ADMIN" "$2" "$3" "$CLIENTS" <<'PY'
import http.client, json, sys
from urllib.parse import urlparse
url, admin, variant, n, clients = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
u = urlparse(url)
conn = http.client.HTTPConnection(u.hostname, u.port)
def call(method, path, body, token):
    conn.request(method, path, body=json.dumps(body),
                 headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"})
    r = conn.getresponse()
    data = r.read()
    if r.status >= 300:
        raise SystemExit("%s %s -> %d %s" % (method, path, r.status, data[:200]))
    return json.loads(data) if data else None
key = call("POST", "/v1/workspaces", {"id": "bench", "name": "Bench", "timezone": "Europe/Dublin"}, admin)["api_key"]
if variant == "same":
    ids = ["m1", "m2", "m3"]
else:
    ids = ["n%dc%d%s" % (j, i, x) for j in range(1, n + 1)
           for i in range(clients // n + (1 if j <= clients % n else 0)) for x in "abc"]
for m in ids:
    call("PUT", "/v1/members/" + m, {"name": m, "role": "practitioner", "email": m + "@bench.example"}, key)
print(key)
PY
}

# cpu_snap FILE: CPU time so far of the machine, the Herald nodes and the
# PostgreSQL server (its postmaster and backends), in clock ticks
cpu_snap() {
  # shellcheck disable=SC2086 # one argument per pid
  "$PY" - "$1" "$(head -1 "$PGDIR/data/postmaster.pid" 2>/dev/null || echo 0)" $PIDS <<'PY'
import json, os, sys
out, pm, nodes = sys.argv[1], int(sys.argv[2]), {int(p) for p in sys.argv[3:]}
def ticks(pid):
    try:
        f = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    except OSError:
        return 0, 0
    return int(f[1]), int(f[11]) + int(f[12])  # ppid, utime + stime
cpu = [int(x) for x in open("/proc/stat").readline().split()[1:]]
snap = {"total": sum(cpu[:8]), "idle": cpu[3] + cpu[4], "herald": 0, "pg": 0}
for d in os.listdir("/proc"):
    if d.isdigit():
        pid = int(d)
        ppid, t = ticks(pid)
        if pid in nodes:
            snap["herald"] += t
        elif pm and (pid == pm or ppid == pm):
            snap["pg"] += t
json.dump(snap, open(out, "w"))
PY
}

# ingest STORE N VARIANT
ingest() {
  tag=ingest-$3-$1-n$2
  echo "== ingest: $1, $2 node(s), $CLIENTS clients, members: $3"
  db=$(fresh_db "$1" "ingest_$3_n$2")
  start_nodes "$db" "$2" "$tag"
  key=$(ingest_setup "http://127.0.0.1:$((BASE + 1))" "$3" "$2")
  i=1; BG=""
  for port in $(echo "$PORTS" | tr , ' '); do
    c=$((CLIENTS / $2)); [ "$i" -le $((CLIENTS % $2)) ] && c=$((c + 1))
    if [ "$3" = same ]; then mem=m1,m2,m3; else mem="n${i}c%da,n${i}c%db,n${i}c%dc"; fi
    "$L" -p "$port" -m ingest -k "$key" -M "$mem" -c "$c" -d "$SECS" -w 2 -x "$tag-$i" \
      -o "$DIR/$tag-lg$i.lat" > "$DIR/$tag-lg$i.out" &
    BG="$BG $!"
    i=$((i + 1))
  done
  sleep 2   # loadgen's warm-up: CPU is counted over the measured seconds
  cpu_snap "$DIR/$tag.cpu0"
  fail=0
  for p in $BG; do wait "$p" || fail=1; done
  BG=""
  cpu_snap "$DIR/$tag.cpu1"
  cat "$DIR/$tag"-lg*.out
  stop_nodes "$tag"
  [ "$fail" = 0 ] || die "a loadgen failed ($tag)"
  "$PY" - "$1" "$2" "$3" "$CLIENTS" "$(metric_sum "$tag" herald_store_errors_total)" "$DIR/$tag" <<'PY' | tee -a "$RES"
import glob, json, os, re, sys
store, n, variant, clients, store_errors, base = sys.argv[1:7]
rate = reqs = errs = 0
per = []
for f in sorted(glob.glob(base + "-lg*.out")):
    kv = dict(re.findall(r"(\w+)=(\S+)", open(f).read()))
    rate += float(kv["rate"]); reqs += int(kv["requests"]); errs += int(kv["errors"])
    per.append("%.0f" % float(kv["rate"]))
lat = sorted(int(x) for f in glob.glob(base + "-lg*.lat") for x in open(f))
p = lambda q: lat[min(len(lat) - 1, int(len(lat) * q))] / 1e6
c0, c1 = (json.load(open(base + x)) for x in (".cpu0", ".cpu1"))
d = {k: c1[k] - c0[k] for k in c0}
hz, ncpu = os.sysconf("SC_CLK_TCK"), os.cpu_count()
busy = d["total"] - d["idle"]
secs = d["total"] / ncpu / hz
events = rate * secs  # events over the CPU window, at the measured rate
ms = lambda t: t / hz * 1000 / events if events else 0
print("RESULT bench=ingest store=%s nodes=%s members=%s conns=%s requests=%d errors=%d rate=%.0f "
      "per_node=%s p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f store_errors=%s cpu_busy_pct=%.0f "
      "cpu_ms_per_event=%.3f herald_ms=%.3f postgres_ms=%.3f other_ms=%.3f"
      % (store, n, variant, clients, reqs, errs, rate, ",".join(per), p(0.50), p(0.90), p(0.99),
         lat[-1] / 1e6, store_errors, 100.0 * busy / d["total"], ms(busy), ms(d["herald"]),
         ms(d["pg"]), ms(busy - d["herald"] - d["pg"])))
PY
}

# ---------------------------------------------------------------- fan-out
# fanout STORE N
fanout() {
  tag=sse-$1-n$2
  echo "== fan-out: $1, $2 node(s), $K streams over $U members"
  db=$(fresh_db "$1" "sse_n$2")
  start_nodes "$db" "$2" "$tag"
  key=$("$PY" bench/sse_setup.py "http://127.0.0.1:$((BASE + 1))" "$ADMIN" "$U" "$DIR/$tag.tokens")
  # shellcheck disable=SC2086 # unquoted: trims and joins
  pids=$(echo $PIDS | tr ' ' ,)
  for mode in paced closed; do
    if [ "$mode" = paced ]; then args="-m $MP -r $RATE -c 16"; else args="-m $M -r 0 -c 64"; fi
    # shellcheck disable=SC2086
    "$S" -j -S /v1/me/stream -t "$DIR/$tag.tokens" -K "$key" -p "$PORTS" -k "$K" -u "$U" $args \
      -s "$pids" -L "$tag-$mode" > "$DIR/$tag-$mode.out" 2> "$DIR/$tag-$mode.err" &
    BG=$!
    rc=0; wait "$BG" || rc=$?
    BG=""
    grep -v connecting "$DIR/$tag-$mode.err" >&2 || true
    cat "$DIR/$tag-$mode.out"
    [ "$rc" = 0 ] || echo "nodes.sh: sseload $tag-$mode: not every expected copy arrived (exit $rc)" >&2
    grep -q '^RESULT' "$DIR/$tag-$mode.out" || die "sseload $tag-$mode printed no RESULT"
    "$PY" - "$1" "$2" "$mode" "$DIR/$tag-$mode.out" <<'PY' | tee -a "$RES"
import re, sys
store, n, mode, path = sys.argv[1:5]
kv = dict(re.findall(r"(\w+)=(\S+)", open(path).read()))
print("RESULT bench=fanout store=%s nodes=%s mode=%s streams=%s established=%s published=%s pub_err=%s "
      "pub_rate=%s expected=%s delivered=%s deliv_per_s=%s lat_p50_ms=%s lat_p99_ms=%s lat_max_ms=%s"
      % (store, n, mode, kv["k"], kv["established"], kv["published"], kv["pub_err"], kv["pub_rate"],
         kv["expected"], kv["delivered"], kv["deliv_per_s"], kv["lat_p50_ms"], kv["lat_p99_ms"],
         kv["lat_max_ms"]))
PY
  done
  stop_nodes "$tag"
  echo "RESULT bench=fanout-nodes store=$1 nodes=$2 store_errors=$(metric_sum "$tag" herald_store_errors_total)" \
    "streams_dropped=$(metric_sum "$tag" herald_streams_dropped_total)" \
    "catch_ups=$(metric_sum "$tag" herald_stream_catch_ups_total)" | tee -a "$RES"
}

for v in same own; do
  ingest sqlite 1 "$v"
  n=1; while [ "$n" -le "$NODES_MAX" ]; do ingest postgresql "$n" "$v"; n=$((n + 1)); done
done
fanout sqlite 1
n=1; while [ "$n" -le "$NODES_MAX" ]; do fanout postgresql "$n"; n=$((n + 1)); done

echo "== summary (in brackets: the ratio to the SQLite node of this run)"
"$PY" - "$RES" "$SECS" "$K" "$MP" "$RATE" "$M" <<'PY'
import re, sys
path, secs, k, mp, rate, m = sys.argv[1:7]
rows = [dict(re.findall(r"(\w+)=(\S+)", l)) for l in open(path) if l.startswith("RESULT")]
def find(**want):
    for r in rows:
        if all(r.get(a) == str(b) for a, b in want.items()):
            return r
    return None
configs = [("sqlite", 1)] + [("postgresql", n) for n in (1, 2, 3)]
name = lambda store, n: "%s, %d node%s" % (store, n, "s" if n > 1 else "")
def rel(r, base, key):
    return "%.0f (%.2f)" % (float(r[key]), float(r[key]) / float(base[key])) if base else r[key]
print("ingest: 64 clients, %s s, 3 recipients per event; CPU: ms of CPU per event over the run"
      " (herald + postgres + the rest, mostly loadgen), and how busy the cores were" % secs)
print("%-19s| %-15s %-16s %-21s %-5s| %-15s %-16s %-21s %-5s" % (
    "", "same 3 members/s", "p50 / p99 ms", "CPU h+pg+rest ms", "busy",
    "own members/s", "p50 / p99 ms", "CPU h+pg+rest ms", "busy"))
for store, n in configs:
    cells = []
    for v in ("same", "own"):
        r, b = find(bench="ingest", store=store, nodes=n, members=v), find(bench="ingest", store="sqlite", nodes=1, members=v)
        if not r:
            cells += ["-", "", "", ""]
            continue
        cells += [rel(r, b, "rate"), "%.2f / %.2f" % (float(r["p50_ms"]), float(r["p99_ms"])),
                  "%.2f+%.2f+%.2f" % (float(r["herald_ms"]), float(r["postgres_ms"]), float(r["other_ms"])),
                  r["cpu_busy_pct"] + "%"]
    print("%-19s| %-15s %-16s %-21s %-5s| %-15s %-16s %-21s %-5s" % tuple([name(store, n)] + cells))
print()
print("fan-out: %s streams (2 per member); paced: %s events at %s/s; closed loop: %s events, 64 publishers"
      % (k, mp, rate, m))
print("%-19s| %-16s %-18s| %-16s %-18s| %s" % ("", "paced deliv/s", "p50 / p99 ms", "closed deliv/s",
                                                "p50 / p99 ms", "delivered/expected"))
for store, n in configs:
    cells = []
    got = []
    for mode in ("paced", "closed"):
        r, b = find(bench="fanout", store=store, nodes=n, mode=mode), find(bench="fanout", store="sqlite", nodes=1, mode=mode)
        if not r:
            cells += ["-", ""]
            continue
        cells += [rel(r, b, "deliv_per_s"), "%.2f / %.2f" % (float(r["lat_p50_ms"]), float(r["lat_p99_ms"]))]
        got.append("%s/%s" % (r["delivered"], r["expected"]))
    print("%-19s| %-16s %-18s| %-16s %-18s| %s" % tuple([name(store, n)] + cells + [" ".join(got)]))
PY
echo "== done"
