#!/usr/bin/env bash
# Runs every test: Rust (unit and integration, against real PostgreSQL and Redis), the web
# apps' unit tests, and the browser tests in Debian's Chromium against a real qivr server.
# Installs and starts what is missing. Set TEST_DATABASE_URL to use a particular server.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$QIVR_ROOT"

apt_install redis-server chromium postgresql-client
PG_BIN="$(pg_bindir)"

# PostgreSQL: the machine's server on 5432 if we can reach it as a superuser without a
# password; otherwise a private cluster for tests under the cache directory.
if [ -z "${TEST_DATABASE_URL:-}" ]; then
  if psql "postgres://postgres@127.0.0.1:5432/postgres" -Atqc 'SELECT 1' >/dev/null 2>&1; then
    TEST_DATABASE_URL="postgres://postgres@127.0.0.1:5432/postgres"
  elif ls /etc/postgresql/*/main >/dev/null 2>&1 && command -v pg_ctlcluster >/dev/null \
      && as_root pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n 1)" main start 2>/dev/null \
      && sleep 1 && psql "postgres://postgres@127.0.0.1:5432/postgres" -Atqc 'SELECT 1' >/dev/null 2>&1; then
    TEST_DATABASE_URL="postgres://postgres@127.0.0.1:5432/postgres"
  else
    cluster="$HOME/.cache/qivr-test-pg"
    port=55432
    run_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
    if [ ! -f "$cluster/PG_VERSION" ]; then
      log "creating a private PostgreSQL cluster for tests in $cluster"
      mkdir -p "$cluster"; [ "$(id -u)" = 0 ] && chown postgres "$cluster" && chmod 700 "$cluster"
      run_pg "$PG_BIN/initdb" -D "$cluster" -U postgres --auth=trust -E UTF8 --no-locale >/dev/null
    fi
    if ! pg_isready -h 127.0.0.1 -p "$port" >/dev/null 2>&1; then
      run_pg "$PG_BIN/pg_ctl" -D "$cluster" -l "$cluster/log" -w -o "-p $port -k /tmp -c listen_addresses=127.0.0.1 -c max_connections=300" start >/dev/null
    fi
    TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$port/postgres"
  fi
fi
export DATABASE_URL="$TEST_DATABASE_URL"

if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  log "starting Redis"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null
  for _ in $(seq 50); do redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 && break; sleep 0.1; done
fi
export REDIS_URL="redis://127.0.0.1:6379"

# Leftovers of interrupted runs.
psql "$DATABASE_URL" -Atqc "SELECT datname FROM pg_database WHERE datname LIKE 'qivr\_test\_%' OR datname LIKE 'qivr\_e2e\_%'" \
  | while read -r db; do psql "$DATABASE_URL" -qc "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null; done

# The build must never need a database: compile from the committed .sqlx query data, then
# check that data against the migrations.
export SQLX_OFFLINE=true
log "building"
cargo build --workspace --all-targets --locked

if ! cargo sqlx --version >/dev/null 2>&1; then
  log "installing sqlx-cli (once)"
  cargo install sqlx-cli --version '^0.8' --no-default-features --features postgres,rustls --locked >/dev/null
fi
log "checking .sqlx against the migrations"
check_db="qivr_test_sqlx_$$"
psql "$DATABASE_URL" -qc "CREATE DATABASE $check_db" >/dev/null
check_url="${DATABASE_URL%/*}/$check_db"
DATABASE_URL="$check_url" cargo sqlx migrate run --source migrations >/dev/null
SQLX_OFFLINE=false DATABASE_URL="$check_url" cargo sqlx prepare --workspace --check
psql "$DATABASE_URL" -qc "DROP DATABASE $check_db WITH (FORCE)" >/dev/null

ensure_web_built    # before the Rust tests, which check how the server serves the built apps
if [ ! -x tools/ses-emulator/node_modules/.bin/aws-ses-v2-local ]; then
  log "installing the SES v2 emulator for the email tests"
  npm ci --prefix tools/ses-emulator --no-audit --no-fund >/dev/null
fi
if [ ! -x tools/s3-emulator/node_modules/.bin/s3rver ]; then
  log "installing the S3 emulator for the document storage tests"
  npm ci --prefix tools/s3-emulator --no-audit --no-fund >/dev/null
fi

log "Rust tests"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --locked --no-fail-fast
else
  cargo test --workspace --locked --no-fail-fast
fi

log "web unit tests"
(cd web && npm test --silent)

log "browser tests against a real server"
e2e_db="qivr_e2e_$$"
psql "$DATABASE_URL" -qc "CREATE DATABASE $e2e_db" >/dev/null
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
export QIVR_URL="http://127.0.0.1:$port" QIVR_E2E_DATABASE_URL="${DATABASE_URL%/*}/$e2e_db"
server_log="$CARGO_TARGET_DIR/qivr-e2e.log"
(
  # Every browser test signs in from 127.0.0.1, so the per-address login limit (tested in the
  # Rust tests) is raised here.
  export DATABASE_URL="${DATABASE_URL%/*}/$e2e_db" QIVR_ADDR="127.0.0.1:$port" \
    QIVR_AUTH__LOGIN_ATTEMPTS_PER_MINUTE=10000
  "$CARGO_TARGET_DIR/debug/qivr" seed --demo >/dev/null
  exec "$CARGO_TARGET_DIR/debug/qivr" serve
) >"$server_log" 2>&1 &
server=$!
cleanup() {
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  psql "$DATABASE_URL" -qc "DROP DATABASE IF EXISTS $e2e_db WITH (FORCE)" >/dev/null 2>&1 || true
}
trap cleanup EXIT
for _ in $(seq 100); do curl -fs "$QIVR_URL/readyz" >/dev/null 2>&1 && break; sleep 0.2; done
curl -fs "$QIVR_URL/readyz" >/dev/null || { cat "$server_log"; exit 1; }
(cd web && npm run --silent api-types:check && npm run --silent e2e)
