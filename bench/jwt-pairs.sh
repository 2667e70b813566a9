#!/usr/bin/env bash
# JWT against API key on one server and the same data: GET by id alternated five times, 6 s
# each, server on core 0 and wrk on core 1. Pairs measured seconds apart cancel most of the
# drift that separate runs of bench/run.sh see on a shared machine. Prints both series.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${TOLLGATE_BIN:-${CARGO_TARGET_DIR:-$HOME/.cache/tollgate/target}/release/tollgate}"
PORT=28160
DIR=$(mktemp -d)
export TOLLGATE_DATA_DIR="$DIR" TOLLGATE_LISTEN="127.0.0.1:$PORT"
taskset -c 0 "$BIN" serve --log-format json > "$DIR/log" 2> "$DIR/err" &
PID=$!
trap 'kill $PID 2>/dev/null; rm -rf "$DIR"' EXIT
for _ in $(seq 100); do curl -sf "127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.1; done
HIGH="read=1000000000/h,write=1000000000/h"
KEY=$("$BIN" keys create --name pairs --scopes resource:read --limit "$HIGH" 2>/dev/null)
ADMIN=$(grep -o 'tgk_[A-Za-z0-9]*' "$DIR/err" | head -1)
ID=$(curl -sS -X POST "127.0.0.1:$PORT/v1/resource" -H "X-API-Key: $ADMIN" -H 'Content-Type: application/json' \
  -d '{"name":"n","type":"widget","attributes":{"a":"b"},"data":{"x":1}}' | jq -r .id)
CLIENT=$("$BIN" clients create --name pairs --scopes resource:read --limit "$HIGH" --output json)
TOKEN=$(curl -sS -X POST "127.0.0.1:$PORT/oauth/token" -d grant_type=client_credentials \
  -u "$(jq -r .client_id <<<"$CLIENT"):$(jq -r .client_secret <<<"$CLIENT")" | jq -r .access_token)
run() { taskset -c 1 wrk -t1 -c32 -d"$2"s -H "$1" "http://127.0.0.1:$PORT/v1/resource/$ID" | awk '/Requests/ {print $2}'; }
run "X-API-Key: $KEY" 2 >/dev/null
run "Authorization: Bearer $TOKEN" 2 >/dev/null
keys=() jwts=()
for _ in 1 2 3 4 5; do
  keys+=("$(run "X-API-Key: $KEY" 6)")
  jwts+=("$(run "Authorization: Bearer $TOKEN" 6)")
done
echo "API key req/s: ${keys[*]}"
echo "JWT req/s:     ${jwts[*]}"
python3 -c 'import statistics,sys; k,j=[statistics.median(map(float,s.split())) for s in sys.argv[1:]]; print("medians: key %.0f, JWT %.0f, JWT costs %.1f%%" % (k, j, 100*(1-j/k)))' "${keys[*]}" "${jwts[*]}"
