#!/usr/bin/env bash
# Runs the Node SDK's tests against a real `tollgate serve` (TOLLGATE_BIN, default: the cached
# debug build) and a local fault-injecting server: installs the locked dev dependencies
# (TypeScript, @types/node), compiles the SDK to dist/ and the tests to build/, and runs the tests
# with node's own runner. TOLLGATE_TEST_OAUTH=1 also runs the OAuth tests against /oauth/token.
set -euo pipefail
cd "$(dirname "$0")"

export TOLLGATE_BIN="${TOLLGATE_BIN:-$HOME/.cache/tollgate/target/debug/tollgate}"
if [ ! -x "$TOLLGATE_BIN" ]; then
  echo "error: no tollgate binary at $TOLLGATE_BIN; build it (cargo build -p tollgate) or set TOLLGATE_BIN" >&2
  exit 1
fi
major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$major" -lt 20 ]; then
  echo "error: Node 20 or newer is required (found: $(node --version 2>/dev/null || echo none))" >&2
  exit 1
fi

npm ci --no-audit --no-fund --loglevel=error
rm -rf dist build
npm run --silent build
npm run --silent build:test
shopt -s nullglob
tests=(build/test/*.test.js)
if [ ${#tests[@]} -eq 0 ]; then
  echo "error: no compiled tests in build/test" >&2
  exit 1
fi
exec node --test "${tests[@]}"
