#!/usr/bin/env bash
# A throwaway PostgreSQL 15 (Debian's package) on loopback for the tests of
# the shared-state stores (internal/pgstore). Needs root, as Debian's
# packages do; initdb runs as the postgres user.
#
#   scripts/postgres.sh start DIR   # install if absent, initdb DIR, start on 127.0.0.1:$PGPORT (default 55432); prints the DSN
#   scripts/postgres.sh stop DIR    # stop the server started in DIR, by its PID, and remove DIR
#   scripts/postgres.sh restart DIR [SECONDS]
#                                   # stop the server started in DIR by its PID, keep it down SECONDS
#                                   # (default 0), start it again on the same data directory and port;
#                                   # prints "down" once stopped, "starting" before it starts it (it may
#                                   # accept connections from then on) and "up" once it does
#   scripts/postgres.sh run CMD...  # start in a temporary DIR, run CMD with TEST_PG_DSN set (and
#                                   # TEST_PG_DIR=DIR, for tests that restart it), stop
set -euo pipefail
PGBIN=/usr/lib/postgresql/15/bin
PGPORT=${PGPORT:-55432}
start() {
  dir=$1
  if [ ! -x "$PGBIN/initdb" ]; then
    [ "$(id -u)" = 0 ] || { echo "postgresql: not installed, and installing it needs root" >&2; return 1; }
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15 >/dev/null
  fi
  mkdir -p "$dir"
  if [ "$(id -u)" = 0 ]; then
    chown postgres:postgres "$dir"
    as="su postgres -s /bin/sh -c"
  else
    as="sh -c"
  fi
  $as "$PGBIN/initdb -D $dir/data -U postgres -A trust -E UTF8 --no-locale" >/dev/null
  echo "$PGPORT" >"$dir/port"
  launch "$dir"
  echo "postgres://postgres@127.0.0.1:$PGPORT/postgres?sslmode=disable"
}
# launch starts the server of DIR (initialised by start) on its port.
launch() {
  dir=$1
  port=$(cat "$dir/port")
  if [ "$(id -u)" = 0 ]; then as="su postgres -s /bin/sh -c"; else as="sh -c"; fi
  $as "$PGBIN/pg_ctl -D $dir/data -l $dir/log -w -t 60 -o '-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off' start" >/dev/null
}
# halt stops the server of DIR by its PID (fast shutdown: sessions are
# ended, as a restart does), keeping its data directory.
halt() {
  dir=$1
  [ -f "$dir/data/postmaster.pid" ] || return 0
  pid=$(head -1 "$dir/data/postmaster.pid")
  kill -INT "$pid" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
}
stop() {
  halt "$1"
  rm -rf "$1"
}
case "${1:-}" in
start) start "${2:?DIR}" ;;
stop) stop "${2:?DIR}" ;;
restart)
  dir=${2:?DIR}
  [ -f "$dir/port" ] || { echo "postgres.sh: $dir holds no server started by this script" >&2; exit 1; }
  halt "$dir"
  echo down
  sleep "${3:-0}"
  echo starting
  launch "$dir"
  echo up
  ;;
run)
  shift
  dir=$(mktemp -d)
  if dsn=$(start "$dir"); then
    trap 'stop "$dir"' EXIT
    TEST_PG_DSN=$dsn TEST_PG_DIR=$dir "$@"
  else
    echo "PostgreSQL could not start: its tests will skip" >&2
    rmdir "$dir" 2>/dev/null || true
    "$@"
  fi
  ;;
*)
  echo "usage: $0 start DIR | stop DIR | restart DIR [SECONDS] | run CMD..." >&2
  exit 2
  ;;
esac
