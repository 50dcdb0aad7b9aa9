#!/usr/bin/env bash
# A throwaway PostgreSQL 15 (Debian's package) on loopback for the tests of
# the shared-state stores (internal/pgstore). Needs root, as Debian's
# packages do; initdb runs as the postgres user.
#
#   scripts/postgres.sh start DIR   # install if absent, initdb DIR, start on 127.0.0.1:$PGPORT (default 55432); prints the DSN
#   scripts/postgres.sh stop DIR    # stop the server started in DIR, by its PID, and remove DIR
#   scripts/postgres.sh run CMD...  # start in a temporary DIR, run CMD with TEST_PG_DSN set, stop
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
  $as "$PGBIN/pg_ctl -D $dir/data -l $dir/log -w -t 60 -o '-c listen_addresses=127.0.0.1 -p $PGPORT -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off' start" >/dev/null
  echo "postgres://postgres@127.0.0.1:$PGPORT/postgres?sslmode=disable"
}
stop() {
  dir=$1
  [ -f "$dir/data/postmaster.pid" ] || { rm -rf "$dir"; return 0; }
  pid=$(head -1 "$dir/data/postmaster.pid")
  kill -INT "$pid" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  rm -rf "$dir"
}
case "${1:-}" in
start) start "${2:?DIR}" ;;
stop) stop "${2:?DIR}" ;;
run)
  shift
  dir=$(mktemp -d)
  if dsn=$(start "$dir"); then
    trap 'stop "$dir"' EXIT
    TEST_PG_DSN=$dsn "$@"
  else
    echo "PostgreSQL could not start: its tests will skip" >&2
    rmdir "$dir" 2>/dev/null || true
    "$@"
  fi
  ;;
*)
  echo "usage: $0 start DIR | stop DIR | run CMD..." >&2
  exit 2
  ;;
esac
