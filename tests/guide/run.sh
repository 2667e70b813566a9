#!/usr/bin/env bash
# Runs every tested example of docs/INTEGRATION.md against a live server (tests/guide/run.py).
# The guide installs the SDKs from the packages in TOLLGATE_PACKAGES (scripts/package builds them
# when missing), and this builds the server and the Rust SDK's examples when they are missing
# (one job: the machine is shared).
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tollgate/target}"
export TOLLGATE_BIN="${TOLLGATE_BIN:-$HOME/.cache/tollgate/target/debug/tollgate}"
[ -x "$TOLLGATE_BIN" ] || cargo build -q -j1 -p tollgate
for example in retrieve create paginate errors events; do
  if [ -f "crates/tollgate-client/examples/$example.rs" ] && [ ! -x "$CARGO_TARGET_DIR/debug/examples/$example" ]; then
    cargo build -q -j1 -p tollgate-client --examples
    break
  fi
done
export TOLLGATE_PACKAGES="${TOLLGATE_PACKAGES:-$PWD/target/packages}"
if ! ls "$TOLLGATE_PACKAGES"/node/*.tgz "$TOLLGATE_PACKAGES"/python/*.whl "$TOLLGATE_PACKAGES"/rust/*.crate >/dev/null 2>&1; then
  scripts/package
fi
for tool in curl jq node; do
  command -v "$tool" >/dev/null || { echo "error: the guide's examples need $tool" >&2; exit 1; }
done
exec python3 tests/guide/run.py "$@"
