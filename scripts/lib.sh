# Shared by scripts/run.sh and scripts/test.sh: installing and starting what Qivr needs on a
# Debian machine. Sourced, not run.

QIVR_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/qivr-target}"

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

apt_updated=""
# apt_install PACKAGE...: installs Debian packages that are missing.
apt_install() {
  local missing=()
  for package in "$@"; do
    dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing ${missing[*]}"
  if [ -z "$apt_updated" ]; then as_root apt-get update -qq; apt_updated=1; fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

# The newest PostgreSQL server binaries on the machine, installing them when there are none.
pg_bindir() {
  local dir
  dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
  if [ -z "$dir" ] || [ ! -x "$dir/initdb" ]; then
    apt_install postgresql
    dir="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
  fi
  echo "$dir"
}

ensure_web_built() {
  command -v npm >/dev/null || { echo "Node.js and npm are needed (https://nodejs.org or 'apt-get install nodejs npm')" >&2; exit 1; }
  if [ ! -d "$QIVR_ROOT/web/node_modules" ] || [ "$QIVR_ROOT/web/package-lock.json" -nt "$QIVR_ROOT/web/node_modules/.package-lock.json" ]; then
    log "installing the web apps' npm packages"
    (cd "$QIVR_ROOT/web" && npm ci --no-audit --no-fund)
  fi
  log "building the web apps"
  (cd "$QIVR_ROOT/web" && npm run build --silent)
}
