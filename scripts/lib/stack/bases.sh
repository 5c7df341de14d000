# Base images made from Debian packages (mmdebstrap + podman import), for machines that reach Debian's
# mirror but no image registry. Sourced by scripts/stack. Each base is cached twice: its root tarball under
# $STACK_CACHE/images (a rebuilt podman store imports it in seconds) and the imported image itself.
#
# A base's tag carries a digest of what went into it (suite, packages, the site's local CAs), so a changed
# list makes a new base and never reuses a stale one.

BASE_SUITE_MIRROR="${STACK_DEBIAN_MIRROR:-http://deb.debian.org/debian}"

# name -> "suite|packages (comma-separated)|ENV lines for podman import"
# trixie: Node.js 20.19 (receiver needs >= 20.11), Python 3.13 (NetBox 4.7 needs >= 3.12), OpenJDK 21.
declare -A BASE_SPEC=(
  [node]="trixie|nodejs,tini,ca-certificates|NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt"
  [node-build]="trixie|nodejs,npm,node-gyp,libnode-dev,python3,make,g++,ca-certificates|NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt npm_config_nodedir=/usr"
  [java]="trixie|openjdk-21-jre-headless,tini,ca-certificates,bash|JAVA_HOME=/usr/lib/jvm/java-21-openjdk-amd64"
  [postgres]="trixie|postgresql-17,tini,bash,ca-certificates|LANG=C.UTF-8"
  [redis]="trixie|redis-server,tini,ca-certificates|LANG=C.UTF-8"
  [python]="trixie|python3,python3-venv,python3-dev,gcc,libpq-dev,libpq5,openjdk-21-jre-headless,tini,ca-certificates,bash|PIP_CERT=/etc/ssl/certs/ca-certificates.crt JAVA_HOME=/usr/lib/jvm/java-21-openjdk-amd64"
)

# The build machine's own CAs (Debian keeps a site's local CAs in /usr/local/share/ca-certificates): a site
# behind a TLS-inspecting proxy needs them in the base for npm and pip inside the builds.
local_cas() { find /usr/local/share/ca-certificates -name '*.crt' -type f 2>/dev/null | sort; }

base_digest() {
  local name="$1"
  { printf '%s\n' "${BASE_SPEC[$name]}" "$BASE_SUITE_MIRROR" v1; local_cas | xargs -r cat; } | sha256sum | cut -c1-12
}

base_ref() { printf 'localhost/unicop-base-%s:%s\n' "$1" "$(base_digest "$1")"; }

ensure_base() {
  local name="$1" ref tar suite pkgs envs t0 cas=()
  ref="$(base_ref "$name")"
  if podman image exists "$ref"; then printf '%s\n' "$ref"; return 0; fi
  IFS='|' read -r suite pkgs envs <<<"${BASE_SPEC[$name]}"
  tar="$STACK_CACHE/images/base-$name-$(base_digest "$name").tar"
  mkdir -p "$STACK_CACHE/images"
  if [[ ! -s "$tar" ]]; then
    command -v mmdebstrap >/dev/null || die "mmdebstrap is missing (scripts/stack installs it: run as root)"
    t0=$SECONDS
    log "making base $name from Debian $suite packages (once; cached in $tar)"
    mapfile -t cas < <(local_cas)
    local hooks=()
    if ((${#cas[@]} > 0)); then
      hooks+=(--customize-hook='mkdir -p "$1/usr/local/share/ca-certificates"')
      hooks+=(--customize-hook="copy-in ${cas[*]} /usr/local/share/ca-certificates")
      hooks+=(--customize-hook='chroot "$1" update-ca-certificates >/dev/null')
    fi
    # apt's lists and caches are not part of an image
    hooks+=(--customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*')
    mmdebstrap --quiet --format=tar --variant=minbase --include="$pkgs" "${hooks[@]}" "$suite" "$tar.tmp" "$BASE_SUITE_MIRROR" \
      >"$STACK_LOG_DIR/base-$name.log" 2>&1 || { tail -n 30 "$STACK_LOG_DIR/base-$name.log" >&2; rm -f "$tar.tmp"; die "mmdebstrap $name failed"; }
    mv -f "$tar.tmp" "$tar"
    log "base $name made in $((SECONDS - t0)) s"
  fi
  local changes=(--change 'CMD ["/bin/bash"]')
  local e
  for e in $envs; do changes+=(--change "ENV $e"); done
  podman import --quiet "${changes[@]}" "$tar" "$ref" >/dev/null || die "podman import $tar failed"
  printf '%s\n' "$ref"
}
