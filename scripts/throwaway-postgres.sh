# shellcheck shell=bash
# Sourced by scripts/test.sh and scripts/bench.sh: a PostgreSQL server for one run, in a
# temporary directory, stopped and removed when the script exits.
#
#   start_throwaway_postgres [SERVER OPTION…]   (e.g. -c fsync=off)
#
# sets PGTMP (the directory; the server's log is $PGTMP/log) and THROWAWAY_POSTGRES_URL.
# Needs the Debian postgresql package; as root the server runs as the postgres user.

pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true; }

start_throwaway_postgres() {
  PGBIN=$(pg_bin)
  [ -n "$PGBIN" ] && [ -x "$PGBIN/initdb" ] || { echo "PostgreSQL is not installed (Debian: apt-get install postgresql)" >&2; return 1; }
  PGTMP=$(mktemp -d /tmp/portcullis-pg.XXXXXX) || return 1
  [ "$(id -u)" = 0 ] && chown postgres "$PGTMP"
  trap _stop_throwaway_postgres EXIT
  PGPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  echo "==> starting a throwaway PostgreSQL ($("$PGBIN/postgres" --version)) on 127.0.0.1:$PGPORT $*" >&2
  _as_pg "$PGBIN/initdb" -D "$PGTMP/data" -A trust -U postgres -E UTF8 --no-sync >/dev/null || return 1
  _as_pg "$PGBIN/pg_ctl" -D "$PGTMP/data" -l "$PGTMP/log" -w -t 60 \
    -o "-p $PGPORT -k $PGTMP -c listen_addresses=127.0.0.1 -c max_connections=400 -c max_wal_size=256MB -c min_wal_size=32MB $*" \
    start >/dev/null || { cat "$PGTMP/log" >&2 || true; echo "PostgreSQL did not start" >&2; return 1; }
  THROWAWAY_POSTGRES_URL="postgres://postgres@127.0.0.1:$PGPORT/postgres"
}

_as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

_stop_throwaway_postgres() {
  _as_pg "$PGBIN/pg_ctl" -D "$PGTMP/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$PGTMP"
}
