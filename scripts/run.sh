#!/usr/bin/env bash
# Runs Qivr on this machine with the embedded defaults: a private PostgreSQL under ./.qivr,
# the demo clinics, everything in one process at http://127.0.0.1:8080 (QIVR_ADDR to change).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$QIVR_ROOT"

pg_bindir >/dev/null            # the embedded database needs the server binaries
ensure_web_built
log "building qivr"
SQLX_OFFLINE=true cargo build --bin qivr
exec "$CARGO_TARGET_DIR/debug/qivr" serve "$@"
