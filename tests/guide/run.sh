#!/usr/bin/env bash
# Runs every tested example of docs/INTEGRATION.md against a live server (tests/guide/run.py).
# Needs what the SDK test scripts set up: the Python SDK's virtualenv and the Node SDK's build;
# makes either if missing. TOLLGATE_BIN defaults to the cached debug build.
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tollgate/target}"
export TOLLGATE_BIN="${TOLLGATE_BIN:-$CARGO_TARGET_DIR/debug/tollgate}"
export PYTHON="${TOLLGATE_CACHE:-$HOME/.cache/tollgate}/py-venv/bin/python"
[ -x "$TOLLGATE_BIN" ] || cargo build -q -p tollgate
[ -d "$CARGO_TARGET_DIR/debug/examples" ] && ls "$CARGO_TARGET_DIR"/debug/examples/paginate >/dev/null 2>&1 \
  || cargo build -q -p tollgate-client --examples
[ -x "$PYTHON" ] || sdk/python/run-tests.sh --co -q >/dev/null
[ -f sdk/node/dist/index.js ] || (cd sdk/node && { [ -d node_modules ] || npm ci --silent; } && npm run --silent build)
exec python3 tests/guide/run.py
