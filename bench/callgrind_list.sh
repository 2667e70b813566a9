#!/usr/bin/env bash
# Instructions per list page of 100 and per exported resource under callgrind, the sibling of
# callgrind.sh (which measures a GET by id): an instruction count repeats to within about 1%
# whatever else runs on this shared machine, where requests per second do not.
#
# Lists: 250 resources (bench/run.py's seed record) are created through batches by a plain
# server, which then runs under valgrind with the default configuration (API key with a high
# finite limit, metrics and JSON request logs on). Each list workload gets 2 s of warm-up, counters
# zeroed, 8 s of wrk at 4 connections, counters dumped; the figure is all instructions of the
# process (every thread) divided by pages served. Pages: page 2 by page number
# (`per_page=100&page=2`, one OFFSET of 100) and the second page by cursor.
#
# Export: `tollgate export` of the same installation grown to 250 and to 2,250 resources, each
# run whole under callgrind; the difference divided by 2,000 is the cost per exported resource
# (what start-up, credentials and the header cost once cancels out).
#
#   bash bench/callgrind_list.sh                  # both
#   PARTS=export bash bench/callgrind_list.sh     # or only `lists` or `export`
#
# Needs valgrind, wrk, jq and curl, and the release binary (bench/run.sh builds it).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${TOLLGATE_BIN:-${CARGO_TARGET_DIR:-$HOME/.cache/tollgate/target}/release/tollgate}"
PORT=28160
HIGH="read=1000000000/h,write=1000000000/h"
SEED_BODY='{"name":"seed","type":"widget","status":"active","attributes":{"env":"bench","tier":"gold"},"data":{"cpus":8,"tags":["a","b"]}}'
DIR=$(mktemp -d)
trap 'rm -rf "$DIR"' EXIT

wait_up() { for _ in $(seq 200); do curl -sf "127.0.0.1:$PORT/health" >/dev/null && return; sleep 0.25; done; exit 1; }

# Creates $2 batches of 100 seed resources with key $1.
seed() {
  local ops
  ops=$(jq -nc --argjson b "$SEED_BODY" '{operations: [range(100) | {op: "create", body: $b}]}')
  for _ in $(seq "$2"); do
    curl -sSf -o /dev/null -X POST "127.0.0.1:$PORT/v1/batch" -H "X-API-Key: $1" -H 'Content-Type: application/json' -d "$ops"
  done
}

serve() { # [valgrind args...]: starts the server in the background, its pid in $PID
  TOLLGATE_DATA_DIR="$DIR" TOLLGATE_LISTEN="127.0.0.1:$PORT" "$@" "$BIN" serve --log-format json \
    >> "$DIR/log" 2>> "$DIR/err" &
  PID=$!
  wait_up
}
stop() { kill "$PID"; wait "$PID" 2>/dev/null || true; }

# Total instructions of one callgrind output file.
# awk reads to the end: exiting early would stop callgrind_annotate by SIGPIPE, a failure under pipefail.
total() { callgrind_annotate "$1" 2>/dev/null | awk '/PROGRAM TOTALS/ && !n++ {gsub(",", "", $1); print $1}'; }

serve
KEY=$(TOLLGATE_DATA_DIR="$DIR" "$BIN" keys create --name cg --scopes resource:read,resource:write --limit "$HIGH" 2>/dev/null)
# A batch cannot fit 50: 200 by batch, 50 more one by one.
seed "$KEY" 2
for _ in $(seq 50); do
  curl -sSf -o /dev/null -X POST "127.0.0.1:$PORT/v1/resource" -H "X-API-Key: $KEY" -H 'Content-Type: application/json' -d "$SEED_BODY"
done
CURSOR=$(curl -sSf "127.0.0.1:$PORT/v1/resource?per_page=100&cursor=" -H "X-API-Key: $KEY" | jq -r .next_cursor)
stop

measure() { # name query
  local out="$DIR/cg.$1"
  serve valgrind --tool=callgrind --callgrind-out-file="$out"
  local url="http://127.0.0.1:$PORT/v1/resource?per_page=100&$2"
  wrk -t1 -c4 -d2s -H "X-API-Key: $KEY" "$url" >/dev/null
  callgrind_control -z "$PID" >/dev/null 2>&1
  local n
  n=$(wrk -t1 -c4 -d8s -H "X-API-Key: $KEY" "$url" | awk '/requests in/ {print $1}')
  callgrind_control -d "$PID" >/dev/null 2>&1
  sleep 1
  stop
  local ir
  ir=$(total "$out.1")
  printf '%-24s %8d pages     %9d instructions per page\n' "$1" "$n" $((ir / n))
}
PARTS="${PARTS:-lists export}"
if [[ $PARTS == *lists* ]]; then
  measure "list, page 2 by number" "page=2"
  measure "list, page 2 by cursor" "cursor=$CURSOR"
fi
[[ $PARTS == *export* ]] || exit 0

export_ir() { # instructions of one whole export
  # An export first, unmeasured: the server leaves its writes in the WAL, which the next opening
  # reads through (checksumming every frame) and checkpoints on close; measured as it was, that
  # varied by several percent from run to run.
  TOLLGATE_DATA_DIR="$DIR" "$BIN" export --output "$DIR/export.jsonl" 2>/dev/null
  TOLLGATE_DATA_DIR="$DIR" valgrind --tool=callgrind --callgrind-out-file="$DIR/cg.export" \
    "$BIN" export --output "$DIR/export.jsonl" 2>/dev/null
  total "$DIR/cg.export"
}
small=$(export_ir)
serve
seed "$KEY" 20
stop
large=$(export_ir)
printf '%-24s %8d resources %9d instructions per resource\n' "export" 2000 $(((large - small) / 2000))
