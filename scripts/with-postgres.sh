#!/usr/bin/env bash
# Runs a command with a throwaway PostgreSQL cluster on loopback, independent of the system
# cluster's state, and exports its URL as HYGIENE_TEST_POSTGRES_URL. The cluster is stopped and
# deleted when the command ends, whatever its exit status.
set -euo pipefail
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
if [ -z "$PGBIN" ]; then echo "PostgreSQL is not installed (scripts/system-packages.sh test)" >&2; exit 1; fi
SOCK=$(mktemp -d /tmp/hygiene-pg.XXXXXX)
PGDATA=$SOCK/data
# a free port: the kernel picks one
PGPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
[ "$(id -u)" -eq 0 ] && chown postgres:postgres "$SOCK"
cleanup() {
  as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$SOCK"
}
trap cleanup EXIT
as_pg "$PGBIN/initdb" -D "$PGDATA" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >/dev/null
as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -w -l "$SOCK/log" \
  -o "-c listen_addresses=127.0.0.1 -p $PGPORT -k $SOCK -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
  start >/dev/null
as_pg "$PGBIN/psql" -h 127.0.0.1 -p "$PGPORT" -U postgres -qc "CREATE DATABASE hygiene_test" >/dev/null
export HYGIENE_TEST_POSTGRES_URL="postgresql+psycopg://postgres@127.0.0.1:$PGPORT/hygiene_test"
echo "throwaway PostgreSQL on 127.0.0.1:$PGPORT"
set +e
"$@"
status=$?
set -e
exit $status
