#!/usr/bin/env bash
# Reproduces every figure in BENCHMARKS.md in one run: Qivr's hub and REST send path, the bare
# tokio-tungstenite ceiling and Socket.IO 4 (Redis adapter) side by side on this machine, then
# the ratios against DESIGN §11. Reports (JSON), plots (SVG) and comparison.md land in
# $BENCH_OUT (default target/bench). Sizes default to DESIGN §11's where this machine allows
# (a process may open 20,000 files here, so idle and chat stay under that); override them to
# run smaller or larger, e.g. `FANOUT_CONNECTIONS=2000 CHAT_CONVERSATIONS=1000 scripts/bench.sh`.
# Needs PostgreSQL (DATABASE_URL, default the local server as postgres) and Redis (REDIS_URL);
# starts Redis if it is installed and not running.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$QIVR_ROOT"

export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379}"
OUT="${BENCH_OUT:-target/bench}"

# DESIGN §11 says 50,000; the server and the generator each need one file per connection.
IDLE_CONNECTIONS="${IDLE_CONNECTIONS:-19000}"
# The bare server keeps tungstenite's default buffers (~120 KiB a connection): fewer of them.
BARE_IDLE_CONNECTIONS="${BARE_IDLE_CONNECTIONS:-10000}"
FANOUT_CONNECTIONS="${FANOUT_CONNECTIONS:-10000}"
FANOUT_PEAK_EVENTS="${FANOUT_PEAK_EVENTS:-100}"
FANOUT_RATE="${FANOUT_RATE:-20}"
FANOUT_RATE_EVENTS="${FANOUT_RATE_EVENTS:-200}"
# Two clients a conversation: 9,000 conversations are 18,000 connections (DESIGN: 20,000).
CHAT_CONVERSATIONS="${CHAT_CONVERSATIONS:-9000}"
CHAT_RATE="${CHAT_RATE:-2000}"
CHAT_SENDS="${CHAT_SENDS:-20000}"
# A rate this machine sustains, for the latency when the send path is not saturated.
CHAT_SUSTAINED_RATE="${CHAT_SUSTAINED_RATE:-200}"
STORM_CONNECTIONS="${STORM_CONNECTIONS:-10000}"
# Big events at a moderate rate: the slow clients back up within seconds while the normal
# ones' delivery (200 × 50/s × 16 KiB) stays well within the machine.
SLOW_CONNECTIONS="${SLOW_CONNECTIONS:-200}"
SLOW_CLIENTS="${SLOW_CLIENTS:-50}"

if ! redis-cli -u "$REDIS_URL" ping >/dev/null 2>&1; then
  log "starting Redis"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null
fi

log "building qivr and qivr-loadtest (release)"
# DATABASE_URL names a server for the runs, not a schema for the query macros.
SQLX_OFFLINE=true cargo build --release --locked -p qivr-api -p qivr-loadtest
# Where cargo really put them (a wrapper may choose the target directory).
target_dir="$(cargo metadata --format-version 1 --no-deps | grep -o '"target_directory":"[^"]*"' | cut -d'"' -f4)"
LOADTEST="$target_dir/release/qivr-loadtest"

log "installing the Socket.IO peer"
(cd loadtest/peers/socketio && npm ci --no-audit --no-fund --silent)

mkdir -p "$OUT"
rm -f "$OUT"/*.json "$OUT"/*.svg
failed=()
# A scenario that fails is reported at the end; the others still run.
run() { log "qivr-loadtest $*"; "$LOADTEST" --out "$OUT" "$@" || failed+=("$*"); }

for target in qivr bare socketio; do
  run --name fanout-peak fanout --target "$target" --connections "$FANOUT_CONNECTIONS" --events "$FANOUT_PEAK_EVENTS"
  run --name fanout-rate fanout --target "$target" --connections "$FANOUT_CONNECTIONS" --events "$FANOUT_RATE_EVENTS" --rate "$FANOUT_RATE"
  idle="$IDLE_CONNECTIONS"; [ "$target" = bare ] && idle="$BARE_IDLE_CONNECTIONS"
  run idle --target "$target" --connections "$idle"
done
run --name chat-target chat --conversations "$CHAT_CONVERSATIONS" --rate "$CHAT_RATE" --sends "$CHAT_SENDS"
run --name chat-sustained chat --conversations "$CHAT_CONVERSATIONS" --rate "$CHAT_SUSTAINED_RATE" --sends "$((CHAT_SUSTAINED_RATE * 30))"
run storm --connections "$STORM_CONNECTIONS"
# The same storm with history enough for the slowest client to be recovered.
run --name storm-history --history 8192 storm --connections "$STORM_CONNECTIONS"
run slow --connections "$SLOW_CONNECTIONS" --slow "$SLOW_CLIENTS" --events 500 --rate 50 --payload-bytes 16384
log "side by side"
run compare
if [ ${#failed[@]} -gt 0 ]; then
  printf 'failed: %s\n' "${failed[@]}" >&2
  exit 1
fi
