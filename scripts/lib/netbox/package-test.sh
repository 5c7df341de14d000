# shellcheck shell=bash
# `scripts/netbox package-test` (sourced by scripts/netbox, which defines VENV, PLUGIN_DIR, LIB_DIR, DATA_DIR,
# NETBOX_VERSION, psql_admin, pg_up, redis_up, find_python, log, die): the plugin installed the way
# docs/install-plugin.md tells a NetBox operator to install it, into a NetBox that has never seen it.
#
#   1. build the wheel from a copy of netbox-plugin/ (no build by-products in the tree) and check it
#      (check_wheel.py: no tests package, every package file, the licence);
#   2. a FRESH venv with netbox==NETBOX_VERSION and that wheel, installed from a local wheelhouse (NETBOX_WHEELHOUSE,
#      default <data>/wheelhouse; filled once from PyPI with `pip wheel`, so later runs need no network);
#   3. a fresh database (unicop_pkgtest on scripts/netbox's PostgreSQL) from the committed migrated schema (seconds;
#      running every migration instead costs 13-20 min on 2 cores: scripts/netbox's header);
#   4. in that NetBox (package_check.py, one process): the plugin's migrations reversed to zero and applied again from
#      the wheel (what `migrate` does for an existing NetBox), then `unicop_bootstrap` with the install guide's settings
#      (https receiver URL and a CA file made here): it must create the Webhook and the EventRule, the Webhook must
#      carry the CA, and unicop_netbox must be imported from the fresh venv, without its tests.
# Prints the seconds each step took. Everything it makes is removed at the end (the wheelhouse is kept).

PKG_DB=unicop_pkgtest
WHEELHOUSE="${NETBOX_WHEELHOUSE:-$DATA_DIR/wheelhouse}"

pkg_step() { printf '== package-test: %s (%s s)\n' "$1" "$(($SECONDS - PKG_T))"; PKG_T=$SECONDS; }

pkg_wheelhouse() {
  local marker="$WHEELHOUSE/.netbox-version"
  if [[ -f "$marker" && "$(cat "$marker")" == "$NETBOX_VERSION" ]]; then return 0; fi
  log "filling $WHEELHOUSE with netbox==$NETBOX_VERSION and its dependencies (once; from PyPI)"
  mkdir -p "$WHEELHOUSE"
  PATH="$PG_BIN:$PATH" "$VENV/bin/python" -m pip wheel -q --disable-pip-version-check -w "$WHEELHOUSE" \
    "netbox==$NETBOX_VERSION" >&2 || die "pip wheel netbox==$NETBOX_VERSION failed"
  printf '%s\n' "$NETBOX_VERSION" >"$marker"
}

pkg_configuration() { # pkg_configuration <root> <ca file>: the install guide's settings for this fresh NetBox
  local root="$1" ca="$2"
  mkdir -p "$root/conf" "$root/media" "$root/reports" "$root/scripts" "$root/static"
  : >"$root/conf/__init__.py"
  (umask 077 && cat >"$root/conf/configuration.py" <<CONF
# written by scripts/netbox package-test; removed afterwards
ALLOWED_HOSTS = ['127.0.0.1']
DATABASES = {'default': {'ENGINE': 'django.db.backends.postgresql', 'NAME': '$PKG_DB', 'USER': 'netbox',
                         'PASSWORD': '$(cat "$SECRETS_DIR/pg_password")', 'HOST': '127.0.0.1', 'PORT': '$NETBOX_PG_PORT'}}
REDIS = {
    'tasks': {'HOST': '127.0.0.1', 'PORT': $NETBOX_REDIS_PORT, 'PASSWORD': '', 'DATABASE': 2, 'SSL': False},
    'caching': {'HOST': '127.0.0.1', 'PORT': $NETBOX_REDIS_PORT, 'PASSWORD': '', 'DATABASE': 3, 'SSL': False},
}
SECRET_KEY = '$(rand_alnum 60)'
API_TOKEN_PEPPERS = {1: '$(rand_alnum 64)'}
RQ_RETRY_MAX = 3
RQ_RETRY_INTERVAL = [2, 5, 10]
PLUGINS = ['unicop_netbox']
PLUGINS_CONFIG = {
    'unicop_netbox': {
        'receiver_url': 'https://receiver.example.invalid:8443',
        'webhook_secret': '$(rand_alnum 40)',
        'receiver_ca_file': '$ca',
    },
}
CONF
  )
}

cmd_package_test() {
  local work t0=$SECONDS wheel fresh out
  PKG_T=$SECONDS
  [[ -f "$SNAPSHOT_FILE" ]] || die "no migrated schema for NetBox $NETBOX_VERSION ($SNAPSHOT_FILE): run scripts/netbox snapshot"
  ensure_system_packages
  ensure_venv
  pg_up
  redis_up
  work="$(mktemp -d "${TMPDIR:-/tmp}/unicop-package-test.XXXXXX")"
  # shellcheck disable=SC2064 # expand now: the trap must remove this run's directory and database
  trap "rm -rf '$work'; psql_admin -d postgres -c 'DROP DATABASE IF EXISTS $PKG_DB' >/dev/null 2>&1 || true" EXIT
  pkg_step 'PostgreSQL and Redis up'

  cp -r "$PLUGIN_DIR" "$work/src"
  rm -rf "$work/src/build" "$work/src"/*.egg-info
  "$VENV/bin/python" -m pip wheel -q --disable-pip-version-check --no-deps -w "$work/dist" "$work/src" >&2 ||
    die "building the plugin's wheel failed"
  wheel="$(echo "$work"/dist/unicop_netbox-*.whl)"
  [[ -f "$wheel" ]] || die "no unicop_netbox wheel was built"
  "$VENV/bin/python" "$LIB_DIR/check_wheel.py" "$wheel" "$PLUGIN_DIR/unicop_netbox" || die "the wheel is not what a NetBox should install"
  pkg_step "wheel $(basename "$wheel") built and checked"

  pkg_wheelhouse
  fresh="$work/venv"
  "$(find_python)" -m venv "$fresh"
  # --no-compile: byte-compiling all of NetBox and Django is most of an install's CPU; what a run imports compiles
  "$fresh/bin/python" -m pip install -q --disable-pip-version-check --no-compile --no-index --find-links "$WHEELHOUSE" \
    "netbox==$NETBOX_VERSION" "$wheel" >&2 || die "installing netbox==$NETBOX_VERSION and the wheel into a fresh venv failed"
  pkg_step "fresh venv with netbox==$NETBOX_VERSION and the wheel"

  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$work/ca.key" \
    -out "$work/receiver-ca.pem" -days 1 -subj '/CN=UNICOP package-test CA' >/dev/null 2>&1 || die "openssl failed"
  pkg_configuration "$work/root" "$work/receiver-ca.pem"
  psql_admin -d postgres -c 'SET client_min_messages = warning' -c "DROP DATABASE IF EXISTS $PKG_DB" \
    -c "CREATE DATABASE $PKG_DB OWNER netbox" >/dev/null
  { echo 'SET ROLE netbox;'; gzip -dc "$SNAPSHOT_FILE"; } | psql_admin -d "$PKG_DB" >/dev/null || die "restoring $SNAPSHOT_FILE failed"
  pkg_step "database $PKG_DB restored from $(basename "$SNAPSHOT_FILE")"

  # migrate (zero, then forward), unicop_bootstrap and the checks of its result, in one NetBox process
  NETBOX_ROOT="$work/root" UNICOP_PKG_VENV="$fresh" UNICOP_PKG_CA="$work/receiver-ca.pem" \
    "$fresh/bin/netbox" shell --no-imports -c "exec(open('$LIB_DIR/package_check.py').read())" ||
    die "the wheel's migrations or unicop_bootstrap did not do what docs/install-plugin.md promises"
  pkg_step 'migrations and unicop_bootstrap from the wheel checked'
  echo "== package-test passed in $((SECONDS - t0)) s"
}
