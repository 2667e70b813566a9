#!/usr/bin/env bash
# The console's browser tests: installs the test project's two npm packages (playwright-core and
# axe-core, pinned by package-lock.json; never a browser download) and runs them with Node's test
# runner against $TOLLGATE_BIN in Debian's Chromium. Prints node's `# pass N` / `# fail N`.
set -euo pipefail
cd "$(dirname "$0")"
: "${TOLLGATE_BIN:?TOLLGATE_BIN must name the tollgate binary}"
export CHROMIUM="${CHROMIUM:-$(command -v chromium || echo /usr/bin/chromium)}"
[ -x "$CHROMIUM" ] || { echo "error: Chromium is missing (apt-get install chromium)" >&2; exit 1; }
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
if [ ! -d node_modules/playwright-core ] || [ ! -d node_modules/axe-core ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
exec node --test --test-concurrency=1 --test-reporter=tap console.test.mjs
