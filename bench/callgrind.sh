#!/usr/bin/env bash
# Instructions per GET by id under callgrind, for the overhead targets (limiter, metrics and
# logs): unlike requests per second on a shared 2-core machine, an instruction count repeats
# to within about 1% whatever else runs. Each configuration: a fresh server under valgrind,
# one resource, 3 s of warm-up, counters zeroed, 10 s of wrk at 4 connections, counters
# dumped; the figure is all instructions of the process (every thread) divided by requests.
#
#   bash bench/callgrind.sh                  # default, unlimited, metrics+logs off
#   KEEP=/tmp/cg bash bench/callgrind.sh     # keeps each dump (NAME.out) for callgrind_annotate
#
# Needs valgrind, wrk, jq and curl, and the release binary (bench/run.sh builds it).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${TOLLGATE_BIN:-${CARGO_TARGET_DIR:-$HOME/.cache/tollgate/target}/release/tollgate}"
PORT=28150
HIGH="read=1000000000/h,write=1000000000/h"

measure() { # name limits [env...]
  local name=$1 limits=$2; shift 2
  local dir; dir=$(mktemp -d)
  env "$@" TOLLGATE_DATA_DIR="$dir" TOLLGATE_LISTEN="127.0.0.1:$PORT" \
    valgrind --tool=callgrind --callgrind-out-file="$dir/cg.out" "$BIN" serve --log-format json \
    > "$dir/log" 2> "$dir/err" &
  local pid=$!
  for _ in $(seq 200); do curl -sf "127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.25; done
  local key id
  key=$(TOLLGATE_DATA_DIR="$dir" "$BIN" keys create --name cg --scopes resource:read,resource:write --limit "$limits" 2>/dev/null)
  id=$(curl -sS -X POST "127.0.0.1:$PORT/v1/resource" -H "X-API-Key: $key" -H 'Content-Type: application/json' \
    -d '{"name":"n","type":"widget","attributes":{"a":"b"},"data":{"x":1}}' | jq -r .id)
  wrk -t1 -c4 -d3s -H "X-API-Key: $key" "http://127.0.0.1:$PORT/v1/resource/$id" >/dev/null
  callgrind_control -z "$pid" >/dev/null 2>&1
  local n
  n=$(wrk -t1 -c4 -d10s -H "X-API-Key: $key" "http://127.0.0.1:$PORT/v1/resource/$id" | awk '/requests in/ {print $1}')
  callgrind_control -d "$pid" >/dev/null 2>&1
  sleep 1
  kill "$pid"; wait "$pid" 2>/dev/null || true
  local ir
  ir=$(callgrind_annotate "$dir/cg.out.1" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1; exit}')
  printf '%-24s %8d requests  %9d instructions per request\n' "$name" "$n" $((ir / n))
  if [[ -n ${KEEP:-} ]]; then
    mkdir -p "$KEEP" && cp "$dir/cg.out.1" "$KEEP/${name//[^a-z]/_}.out" && echo "$n" > "$KEEP/${name//[^a-z]/_}.requests"
  fi
  rm -rf "$dir"
}

measure "default" "$HIGH"
measure "unlimited" "read=unlimited,write=unlimited"
measure "metrics+logs off" "$HIGH" TOLLGATE_METRICS_ENABLED=false TOLLGATE_LOG_LEVEL=warn
