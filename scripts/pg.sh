#!/bin/sh
# A throwaway PostgreSQL 15 server on loopback, for tests and benchmarks.
#   scripts/pg.sh start DIR [PORT]   initdb in DIR (if new), start, print the DSN
#   scripts/pg.sh stop DIR           stop it (fast) and keep DIR
# PostgreSQL refuses to run as root: as root, the server runs as the
# `postgres` user Debian's package creates. Its socket lives in DIR; it
# listens on 127.0.0.1 only.
set -eu
BIN=${PG_BIN:-$(ls -d /usr/lib/postgresql/15/bin 2>/dev/null || true)}
[ -x "$BIN/initdb" ] || { echo "pg.sh: PostgreSQL 15 is not installed (scripts/setup.sh)" >&2; exit 1; }
cmd=$1 dir=$2
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
case "$cmd" in
start)
  port=${3:-55432}
  mkdir -p "$dir"
  [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$dir"
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    as_owner "$BIN/initdb" -D "$dir/data" -U herald --auth=trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
      { cat "$dir/initdb.log" >&2; exit 1; }
    cat >>"$dir/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
max_connections = 400
shared_buffers = 256MB
fsync = on
synchronous_commit = on
log_min_messages = warning
logging_collector = off
CONF
  fi
  as_owner "$BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null ||
    { cat "$dir/server.log" >&2; exit 1; }
  as_owner "$BIN/psql" -h "$dir" -p "$port" -U herald -d postgres -qAt \
    -c "SELECT 1 FROM pg_database WHERE datname = 'herald'" | grep -q 1 ||
    as_owner "$BIN/createdb" -h "$dir" -p "$port" -U herald herald
  echo "postgresql://herald@127.0.0.1:$port/herald"
  ;;
stop)
  [ -f "$dir/data/postmaster.pid" ] && as_owner "$BIN/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
  ;;
*) echo "usage: pg.sh start DIR [PORT] | stop DIR" >&2; exit 2 ;;
esac
