# shellcheck shell=bash
# Shared by scripts/postgres and scripts/netbox: a private PostgreSQL 15 cluster from the Debian package, run with
# pg_ctl. The caller sets PG_BIN (the cluster's bin directory) and HOST, and defines log, die and port_in_use.

# PostgreSQL refuses to run as root: then its files belong to the `postgres` system user
PG_USER=""
if [[ "$(id -u)" == 0 ]]; then PG_USER=postgres; fi
as_pg() {
  if [[ -n "$PG_USER" ]]; then runuser -u "$PG_USER" -- "$@"; else "$@"; fi
}

# pg_running <pgdata>: a postmaster runs on that cluster (pg_ctl checks the pid in postmaster.pid is alive)
pg_running() { [[ -f "$1/postmaster.pid" ]] && as_pg "$PG_BIN/pg_ctl" -D "$1" status >/dev/null 2>&1; }

# pg_initdb <pgdata> <socket dir> <initdb log> <variable naming the data dir, for the error message> [more dirs the
# cluster's owner gets]: once. Local connections (the socket, in a directory only the cluster's owner can enter)
# are trusted; TCP needs a SCRAM password.
pg_initdb() {
  local pgdata="$1" sock="$2" initlog="$3" hint="$4" parent
  shift 4
  [[ -f "$pgdata/PG_VERSION" ]] && return 0
  parent="$(dirname "$pgdata")"
  log "initdb $pgdata"
  rm -rf "$pgdata"
  mkdir -p "$pgdata" "$sock"
  if [[ -n "$PG_USER" ]]; then
    chown "$PG_USER:" "$@" "$pgdata" "$sock"
    runuser -u "$PG_USER" -- test -x "$parent" ||
      die "the $PG_USER user cannot reach $parent (set $hint to a directory it can traverse)"
  fi
  chmod 700 "$pgdata" "$sock"
  as_pg "$PG_BIN/initdb" -D "$pgdata" -U postgres --auth-local=trust --auth-host=scram-sha-256 -E UTF8 \
    --locale=C.UTF-8 >"$initlog" 2>&1 || { tail -n 20 "$initlog" >&2; die "initdb failed"; }
}

# pg_start <pgdata> <server log> <port> <variable naming the port> <timeout s> <pg_ctl -o options>: waits until
# the server accepts connections.
pg_start() {
  local pgdata="$1" pglog="$2" port="$3" hint="$4" timeout="$5" opts="$6"
  port_in_use "$port" && die "port $port is taken by another process (set $hint)"
  [[ -z "$PG_USER" ]] || { touch "$pglog"; chown "$PG_USER:" "$pglog"; }
  log "starting PostgreSQL on $HOST:$port"
  as_pg "$PG_BIN/pg_ctl" -D "$pgdata" -l "$pglog" -w -t "$timeout" -o "$opts" start >/dev/null ||
    { tail -n 20 "$pglog" >&2; die "PostgreSQL did not start"; }
}

# pg_stop <pgdata>: fast shutdown (open sessions are rolled back, the data is checkpointed and stays)
pg_stop() { as_pg "$PG_BIN/pg_ctl" -D "$1" -m fast -w -t 60 stop >/dev/null; }

# rand_alnum N: N random [A-Za-z0-9] characters (cut reads all its input: no SIGPIPE under pipefail)
rand_alnum() {
  local s
  s="$(openssl rand -base64 $(($1 * 3)) | tr -dc 'A-Za-z0-9' | cut -c "1-$1")"
  ((${#s} == $1)) || die "could not generate a random string"
  printf '%s\n' "$s"
}
