#!/usr/bin/env bash
# Instructions per single create and per batch of 100 creates under callgrind, the sibling of
# callgrind.sh (a GET by id) and callgrind_list.sh (a list page): requests per second on this
# shared 2-core machine move with whatever else runs, an instruction count repeats to within
# about 1%. The bodies are bench/queries.py's: a `machine` of the registered 20-property type.
#
# Per backend, a fresh server runs under valgrind with the default configuration (API key with a
# high finite limit, metrics and JSON request logs on); each workload gets 3 s of warm-up,
# counters zeroed, 10 s of wrk at $CONNS connections (4 unless set), counters dumped. The figure
# is all instructions of the server process (every thread) divided by requests; on PostgreSQL the
# database's own work is not in it (round trips are, as the client's share of each).
#
#   bash bench/callgrind_writes.sh                    # SQLite
#   BACKEND=postgres bash bench/callgrind_writes.sh   # PostgreSQL on 127.0.0.1:5432
#   KEEP=/tmp/cg bash bench/callgrind_writes.sh       # keeps the dumps for callgrind_annotate
#   CONNS=32 bash bench/callgrind_writes.sh           # concurrent creates, as write coalescing needs
#
# Needs valgrind, wrk and curl, and the release binary (bench/run.sh builds it).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${TOLLGATE_BIN:-${CARGO_TARGET_DIR:-$HOME/.cache/tollgate/target}/release/tollgate}"
BACKEND="${BACKEND:-sqlite}"
CONNS="${CONNS:-4}"
PORT=28170
PG=postgres://postgres@127.0.0.1:5432
DIR=$(mktemp -d)
DB=tollgate_cg_writes_$$
ENV=(TOLLGATE_DATA_DIR="$DIR" TOLLGATE_LISTEN="127.0.0.1:$PORT")
if [[ $BACKEND == postgres ]]; then
  psql "$PG/postgres" -qc "CREATE DATABASE $DB"
  ENV+=(TOLLGATE_DATABASE_URL="$PG/$DB")
fi
cleanup() {
  [[ -n ${PID:-} ]] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
  [[ $BACKEND == postgres ]] && psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)"
  rm -rf "$DIR"
}
trap cleanup EXIT

# The bodies, made by queries.py's own functions so that both benchmarks write the same thing.
python3 - "$DIR" <<'PY'
import json, random, sys
sys.path.insert(0, "bench")
import queries
rng = random.Random(7)
d = sys.argv[1]
json.dump({"name": "machine", "schema": queries.schema_of_20(),
           "attributes": {"region": {"required": True, "enum": queries.REGIONS}}}, open(d + "/type.json", "w"))
json.dump(queries.machine(0, rng), open(d + "/single.json", "w"))
json.dump({"operations": [{"op": "create", "body": queries.machine(i, rng)} for i in range(100)]},
          open(d + "/batch.json", "w"))
PY

env "${ENV[@]}" valgrind --tool=callgrind --callgrind-out-file="$DIR/cg.out" "$BIN" serve --log-format json \
  > "$DIR/log" 2> "$DIR/err" &
PID=$!
for _ in $(seq 400); do curl -sf "127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.25; done
KEY=$(env "${ENV[@]}" "$BIN" keys create --name cg --scopes resource:read,resource:write,admin \
  --limit "read=1000000000/h,write=1000000000/h" 2>/dev/null)
curl -sSf -o /dev/null -X POST "127.0.0.1:$PORT/v1/types" -H "X-API-Key: $KEY" -H 'Content-Type: application/json' \
  -d @"$DIR/type.json"

dumps=0
measure() { # name path body-file
  local lua="$DIR/post.lua"
  printf 'wrk.method = "POST"\nwrk.headers["X-API-Key"] = "%s"\nwrk.headers["Content-Type"] = "application/json"\n' "$KEY" > "$lua"
  printf 'local f = io.open("%s"); wrk.body = f:read("*a"); f:close()\n' "$3" >> "$lua"
  wrk -t1 -c"$CONNS" --timeout 60s -d3s -s "$lua" "http://127.0.0.1:$PORT$2" >/dev/null
  callgrind_control -z "$PID" >/dev/null 2>&1
  local n
  n=$(wrk -t1 -c"$CONNS" --timeout 60s -d10s -s "$lua" "http://127.0.0.1:$PORT$2" | awk '/requests in/ {print $1}')
  callgrind_control -d "$PID" >/dev/null 2>&1
  dumps=$((dumps + 1))
  sleep 1
  local ir
  # awk reads to the end: exiting early would stop callgrind_annotate by SIGPIPE under pipefail.
  ir=$(callgrind_annotate "$DIR/cg.out.$dumps" 2>/dev/null | awk '/PROGRAM TOTALS/ && !n++ {gsub(",", "", $1); print $1}')
  [[ -n ${KEEP:-} ]] && mkdir -p "$KEEP" && cp "$DIR/cg.out.$dumps" "$KEEP/$BACKEND.$dumps.out"
  printf '%-8s c%-3s %-22s %6d requests  %10d instructions per request\n' "$BACKEND" "$CONNS" "$1" "$n" $((ir / n))
}
measure "single create" /v1/resource "$DIR/single.json"
measure "batch of 100 creates" /v1/batch "$DIR/batch.json"
