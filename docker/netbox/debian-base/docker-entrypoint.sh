#!/usr/bin/env bash
# Like netbox-docker's entry point: wait until the database answers, apply migrations, then run the command.
# DB_WAIT_TIMEOUT (seconds, default 120). SKIP_MIGRATIONS=true skips the migrations (the worker container).
set -euo pipefail
manage=(/opt/netbox/venv/bin/python /opt/netbox/netbox/manage.py)
if [[ "${SKIP_MIGRATIONS:-false}" != true ]]; then
  deadline=$((SECONDS + ${DB_WAIT_TIMEOUT:-120}))
  until "${manage[@]}" migrate --no-input >/tmp/migrate.log 2>&1; do
    if ((SECONDS >= deadline)); then cat /tmp/migrate.log >&2; echo "netbox: database not ready in time" >&2; exit 1; fi
    echo "netbox: waiting for the database" >&2
    sleep 3
  done
  tail -n 3 /tmp/migrate.log
fi
exec "$@"
