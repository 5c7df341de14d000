#!/usr/bin/env bash
# First start: initdb with the password of POSTGRES_PASSWORD_FILE (or POSTGRES_PASSWORD), scram for TCP, and the
# database POSTGRES_DB; then `postgres <args>` runs the server in the foreground (SIGINT: fast shutdown).
set -euo pipefail
user="${POSTGRES_USER:-postgres}"
if [[ ! -s "$PGDATA/PG_VERSION" ]]; then
  password="${POSTGRES_PASSWORD:-}"
  [[ -z "${POSTGRES_PASSWORD_FILE:-}" ]] || password="$(cat "$POSTGRES_PASSWORD_FILE")"
  [[ -n "$password" ]] || { echo "postgres: set POSTGRES_PASSWORD_FILE or POSTGRES_PASSWORD" >&2; exit 1; }
  initdb -D "$PGDATA" -U "$user" --pwfile=<(printf '%s\n' "$password") --auth-local=trust --auth-host=scram-sha-256 >/dev/null
  echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
  pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -k /tmp" -w start >/dev/null
  db="${POSTGRES_DB:-$user}"
  [[ "$db" == "$user" && "$user" == postgres ]] || createdb -h /tmp -U "$user" "$db" 2>/dev/null || true
  pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
  echo "postgres: initialised $PGDATA (database $db)"
fi
if [[ "${1:-}" == postgres ]]; then shift; exec postgres -D "$PGDATA" -k /tmp "$@"; fi
exec "$@"
