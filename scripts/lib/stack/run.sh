# scripts/stack up|down|status|test: the compose services on this host (scripts/lib/stack/compose-run.mjs runs them
# with podman). Sourced by scripts/stack.

STACK_SECRETS="$STACK_DATA_DIR/secrets"
STACK_ENV_FILE="$STACK_DATA_DIR/env"
SECRET_NAMES=(webhook_secret receiver_api_token awx_notify_token awx_token db_password secret_key api_token_pepper_1)

# The compose variables for a single host: host networking on loopback, the ports of STACK_*_PORT (users' defaults
# when unset), PostgreSQL and Redis images made from Debian when the bases are.
stack_env() {
  export STACK_BIND=127.0.0.1 KAFKA_ADVERTISED_HOST=127.0.0.1 STACK_SECRETS_DIR="$STACK_SECRETS"
  export STACK_RECEIVER_PORT="${STACK_RECEIVER_PORT:-8080}" STACK_NETBOX_PORT="${STACK_NETBOX_PORT:-8000}"
  export STACK_POSTGRES_PORT="${STACK_POSTGRES_PORT:-5432}" STACK_REDIS_PORT="${STACK_REDIS_PORT:-6379}"
  export STACK_KAFKA_PORT="${STACK_KAFKA_PORT:-9092}" STACK_KAFKA_CONTROLLER_PORT="${STACK_KAFKA_CONTROLLER_PORT:-9093}"
  export STACK_AWX_PORT="${STACK_AWX_PORT:-8090}"
  # on a host network NetBox listens on its published port itself (the Debian base honours NETBOX_PORT)
  export NETBOX_CONTAINER_PORT="$STACK_NETBOX_PORT"
  export AWX_URL="${AWX_URL:-http://127.0.0.1:$STACK_AWX_PORT}"
  if [[ "$STACK_BASE" == debian ]]; then
    export POSTGRES_IMAGE="${POSTGRES_IMAGE:-localhost/unicop-postgres:latest}" REDIS_IMAGE="${REDIS_IMAGE:-localhost/unicop-redis:latest}"
  fi
  local hard
  hard="$(ulimit -Hn)"; [[ "$hard" == unlimited ]] && hard=65536
  export STACK_NOFILE="$((hard < 65536 ? hard : 65536))"
  hard="$(ulimit -Hu)"; [[ "$hard" == unlimited ]] && hard=8192
  export STACK_NPROC="$((hard < 8192 ? hard : 8192))"
  export STACK_PROJECT="${STACK_PROJECT:-unicop}"
}

# Secrets made once (random), kept in var/stack/secrets (directory 0700). The files are world-readable inside it
# because the containers' users (not root) read them through bind mounts, as compose secrets from files are.
ensure_secrets() {
  mkdir -p "$STACK_SECRETS"
  chmod 0700 "$STACK_SECRETS"
  local n
  for n in "${SECRET_NAMES[@]}"; do
    [[ -s "$STACK_SECRETS/$n" ]] && continue
    (umask 022 && openssl rand -hex 32 >"$STACK_SECRETS/$n.tmp" && mv "$STACK_SECRETS/$n.tmp" "$STACK_SECRETS/$n")
  done
  chmod 0444 "$STACK_SECRETS"/*
}

compose_run() { node "$STACK_LIB/compose-run.mjs" "$@"; }

# The admin user and a v2 API token (scripts/lib/netbox/provision.py, as scripts/netbox does), then the plugin's
# bootstrap; the token goes to the env file (mode 0600), never to the terminal.
provision_netbox() {
  local ctr="$STACK_PROJECT-netbox" password token
  [[ -s "$STACK_SECRETS/netbox_admin_password" ]] ||
    (umask 077 && openssl rand -hex 16 >"$STACK_SECRETS/netbox_admin_password")
  password="$(cat "$STACK_SECRETS/netbox_admin_password")"
  "${PODMAN[@]}" exec -i -e NETBOX_ADMIN_USER=admin -e NETBOX_ADMIN_PASSWORD="$password" -e UNICOP_TOKEN_FILE=/tmp/netbox_token \
    "$ctr" /opt/netbox/venv/bin/python /opt/netbox/netbox/manage.py shell -c "$(cat "$SCRIPT_DIR/lib/netbox/provision.py")" \
    >"$STACK_LOG_DIR/provision.log" 2>&1 || { tail -n 20 "$STACK_LOG_DIR/provision.log" >&2; die "NetBox provisioning failed"; }
  token="$("${PODMAN[@]}" exec "$ctr" cat /tmp/netbox_token)"
  "${PODMAN[@]}" exec "$ctr" /opt/netbox/venv/bin/python /opt/netbox/netbox/manage.py unicop_bootstrap \
    >"$STACK_LOG_DIR/bootstrap.log" 2>&1 || { tail -n 20 "$STACK_LOG_DIR/bootstrap.log" >&2; die "unicop_bootstrap failed"; }
  (
    umask 077
    {
      echo "NETBOX_URL=http://127.0.0.1:$STACK_NETBOX_PORT"
      echo "NETBOX_TOKEN=$token"
      echo "NETBOX_ADMIN_USER=admin"
      echo "NETBOX_ADMIN_PASSWORD=$password"
      echo "KAFKA_BROKERS=127.0.0.1:$STACK_KAFKA_PORT"
      echo "UNICOP_RECEIVER_URL=http://127.0.0.1:$STACK_RECEIVER_PORT"
      echo "UNICOP_TOPIC_PREFIX=${UNICOP_TOPIC_PREFIX:-unicop}"
      echo "UNICOP_SECRETS_DIR=$STACK_SECRETS"
    } >"$STACK_ENV_FILE.tmp"
  )
  mv -f "$STACK_ENV_FILE.tmp" "$STACK_ENV_FILE"
}

# A new database starts from the migrated schema scripts/netbox keeps (scripts/lib/netbox/snapshots/, NetBox's and
# the plugin's migrations applied), as scripts/netbox does: NetBox's entry point then migrates only what is newer,
# instead of every migration from scratch (about 9 minutes on 2 cores). STACK_NETBOX_SNAPSHOT=0: never.
restore_netbox_schema() {
  local ctr="$STACK_PROJECT-postgres" snapshot fresh
  snapshot="$(ls "$SCRIPT_DIR"/lib/netbox/snapshots/netbox-*.sql.gz 2>/dev/null | sort -V | tail -n 1)"
  [[ "${STACK_NETBOX_SNAPSHOT:-1}" == 1 && -n "$snapshot" ]] || return 0
  # psql over TCP as the netbox role, the password read inside the container (never on a command line here)
  local psql='PGPASSWORD="$(cat /run/secrets/db_password)" psql -h 127.0.0.1 -p "$0" -U netbox -d netbox -v ON_ERROR_STOP=1 -q'
  fresh="$("${PODMAN[@]}" exec "$ctr" bash -c "$psql -At -c \"SELECT to_regclass('public.django_migrations') IS NULL\"" "$STACK_POSTGRES_PORT")" ||
    die "could not ask PostgreSQL whether NetBox's schema exists"
  [[ "$fresh" == t ]] || return 0
  log "restoring NetBox's migrated schema from $(basename "$snapshot") (instead of every migration)"
  gzip -dc "$snapshot" | "${PODMAN[@]}" exec -i "$ctr" bash -c "$psql >/dev/null" "$STACK_POSTGRES_PORT" ||
    die "restoring $snapshot failed"
}

cmd_up() {
  local t0=$SECONDS i
  stack_env
  for i in receiver kafka netbox rulebook; do
    podman image exists "localhost/unicop-$i:latest" || die "no localhost/unicop-$i:latest: run scripts/stack build"
  done
  ensure_secrets
  log "starting the compose services (project $STACK_PROJECT, host network on 127.0.0.1)"
  compose_run up postgres || die "PostgreSQL did not start (podman logs $STACK_PROJECT-postgres)"
  restore_netbox_schema
  compose_run up || die "up failed (scripts/stack status; podman logs $STACK_PROJECT-<service>)"
  provision_netbox
  log "up in $((SECONDS - t0)) s: NetBox http://127.0.0.1:$STACK_NETBOX_PORT, receiver http://127.0.0.1:$STACK_RECEIVER_PORT, Kafka 127.0.0.1:$STACK_KAFKA_PORT (credentials in $STACK_ENV_FILE, mode 0600)"
  printf 'STACK_ENV_FILE=%s\n' "$STACK_ENV_FILE"
}

cmd_down() {
  stack_env
  if [[ "${1:-}" == --volumes ]]; then compose_run down-volumes; else compose_run down; fi
}

cmd_status() {
  stack_env
  compose_run status
}

# The whole loop in containers: receiver/test/container/stack.e2e.test.ts (a device made over NetBox's REST API →
# its event on Kafka → a job launched on the AWX double) against a stack this command starts and stops.
cmd_test() {
  local t0=$SECONDS rc=0
  export STACK_PROJECT="${STACK_PROJECT:-unicop-test}" STACK_DATA_DIR UNICOP_TOPIC_PREFIX="${UNICOP_TOPIC_PREFIX:-unicop}"
  # the test's own ports (docker/README.md, "Ports"), so it never meets a development stack or scripts/up
  export STACK_RECEIVER_PORT="${STACK_RECEIVER_PORT:-38080}" STACK_NETBOX_PORT="${STACK_NETBOX_PORT:-38000}"
  export STACK_POSTGRES_PORT="${STACK_POSTGRES_PORT:-38432}" STACK_REDIS_PORT="${STACK_REDIS_PORT:-38379}"
  export STACK_KAFKA_PORT="${STACK_KAFKA_PORT:-39092}" STACK_KAFKA_CONTROLLER_PORT="${STACK_KAFKA_CONTROLLER_PORT:-39093}"
  export STACK_AWX_PORT="${STACK_AWX_PORT:-38090}"
  stack_env
  ensure_secrets
  cd "$REPO_DIR"
  npx mocha --timeout 1200000 receiver/test/container/stack.e2e.test.ts || rc=$?
  ((rc == 0)) || die "stack test failed (logs: podman logs $STACK_PROJECT-<service>; $STACK_LOG_DIR)"
  printf 'STACK TEST PASSED in %s s\n' "$((SECONDS - t0))"
}
