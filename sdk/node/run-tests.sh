#!/usr/bin/env bash
# Runs the Node SDK's tests against a real `tollgate serve` (TOLLGATE_BIN, default: the cached
# debug build) and a local fault-injecting server: installs the locked dev dependencies
# (TypeScript, @types/node), compiles the SDK to dist/ and the tests to build/, and runs the tests
# with node's own runner. TOLLGATE_TEST_OAUTH=1 also runs the OAuth tests against /oauth/token.
# TOLLGATE_SDK_PACKAGE=tarball runs them against that npm package installed in a fresh project.
set -euo pipefail
# A relative path is the caller's, not this folder's.
[ -z "${TOLLGATE_SDK_PACKAGE:-}" ] || TOLLGATE_SDK_PACKAGE=$(realpath -m "$TOLLGATE_SDK_PACKAGE")
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
export TOLLGATE_OPENAPI="$PWD/../../docs/openapi.json"
shopt -s nullglob
tests=(build/test/*.test.js)
if [ ${#tests[@]} -eq 0 ]; then
  echo "error: no compiled tests in build/test" >&2
  exit 1
fi
if [ -z "${TOLLGATE_SDK_PACKAGE+set}" ]; then
  exec node --test "${tests[@]}"
fi
[ -f "$TOLLGATE_SDK_PACKAGE" ] || { echo "error: no npm package at '$TOLLGATE_SDK_PACKAGE' (scripts/package builds it)" >&2; exit 1; }

# TOLLGATE_SDK_PACKAGE=path/to/tollgate-sdk-X.tgz: the suite runs against that tarball,
# installed into a fresh npm project (made by `npm init -y`, as a user would), not this folder.
# The same project also imports it as an ES module and requires it as CommonJS, each compiled
# by tsc against the types of its condition and then run.
package=$(realpath "$TOLLGATE_SDK_PACKAGE")
project=$(mktemp -d "${TMPDIR:-/tmp}/tollgate-node-project.XXXXXX")
trap 'rm -rf "$project"' EXIT
tsc="$PWD/node_modules/.bin/tsc"
cp -r build/test "$project/test"
cp test/consumers/esm.mts test/consumers/cjs.cts test/consumers/tsconfig.json "$project/"
(
  cd "$project"
  npm init -y >/dev/null
  npm install --no-audit --no-fund --loglevel=error "$package"
  "$tsc" -p tsconfig.json
  node out/esm.mjs
  node out/cjs.cjs
  node -e 'const { Client } = require("@tollgate/sdk"); if (typeof Client !== "function") process.exit(1)'
  # The compiled tests are ES modules: from here on the project is "type": "module".
  npm pkg set type=module
)
installed=$(cd "$project/test" && node -p 'require.resolve("@tollgate/sdk/package.json")')
case "$installed" in "$project"/node_modules/*) ;; *) echo "error: @tollgate/sdk resolves to $installed" >&2; exit 1 ;; esac
# Not `exec`: the EXIT trap removes the project afterwards.
node --test "$project"/test/*.test.js
