#!/usr/bin/env bash
# The web server: gunicorn with NetBox and its static files (scripts/lib/netbox/unicop_wsgi.py; netbox-docker
# puts a web server in front of the same WSGI application). NETBOX_LISTEN (0.0.0.0), NETBOX_PORT (8080),
# NETBOX_WEB_WORKERS (2).
set -euo pipefail
cd /opt/netbox
exec /opt/netbox/venv/bin/gunicorn --bind "${NETBOX_LISTEN:-0.0.0.0}:${NETBOX_PORT:-8080}" \
  --workers "${NETBOX_WEB_WORKERS:-2}" --threads 4 --timeout 120 --keep-alive 75 \
  --no-control-socket --pythonpath /opt/netbox unicop_wsgi:application
