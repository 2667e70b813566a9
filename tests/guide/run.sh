#!/usr/bin/env bash
# Runs every tested example of docs/INTEGRATION.md against a live server (tests/guide/run.py).
# Needs what the SDK test scripts set up: the Python SDK's virtualenv (sdk/python/run-tests.sh)
# and the Node SDK's dist/ (npm run build in sdk/node); makes either if missing, and builds the
# server and the Rust SDK's examples when they are missing (one job: the machine is shared).
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tollgate/target}"
export TOLLGATE_BIN="${TOLLGATE_BIN:-$HOME/.cache/tollgate/target/debug/tollgate}"
export PYTHON="${TOLLGATE_CACHE:-$HOME/.cache/tollgate}/py-venv/bin/python"
[ -x "$TOLLGATE_BIN" ] || cargo build -q -j1 -p tollgate
for example in retrieve create paginate errors; do
  if [ -f "crates/tollgate-client/examples/$example.rs" ] && [ ! -x "$CARGO_TARGET_DIR/debug/examples/$example" ]; then
    cargo build -q -j1 -p tollgate-client --examples
    break
  fi
done
[ -x "$PYTHON" ] || sdk/python/run-tests.sh --co -q >/dev/null
[ -f sdk/node/dist/index.js ] || (cd sdk/node && { [ -d node_modules ] || npm ci --no-audit --no-fund --loglevel=error; } && npm run --silent build)
for tool in curl jq node; do
  command -v "$tool" >/dev/null || { echo "error: the guide's examples need $tool" >&2; exit 1; }
done
exec python3 tests/guide/run.py "$@"
