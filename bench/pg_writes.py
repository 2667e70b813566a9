#!/usr/bin/env python3
"""PostgreSQL writes against an older build: POST creates and PATCH updates at 32 connections,
one server at a time on a fresh database each, in alternating order round by round (so a slow
minute of the machine falls on both builds), printing each run and the medians.

    python3 bench/pg_writes.py --old-bin PATH [--new-bin PATH] [--rounds 4] [--seconds 10]

The new build defaults to bench/run.py's (TOLLGATE_BIN or the release build). Needs wrk and
PostgreSQL on 127.0.0.1:5432 as `postgres` (databases `tollgate_ab_0` and `tollgate_ab_1` are
created and dropped). The server is pinned to core 0 and wrk to core 1; PostgreSQL is not
pinned, as in run.py's PostgreSQL runs."""

import argparse
import os
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run as R  # noqa: E402

ADMIN = "postgres://postgres@127.0.0.1:5432/postgres"
WORKLOADS = {"post": ("post.lua", "/v1/resource", {}), "patch": ("get.lua", "/v1/resource/", {"BENCH_METHOD": "PATCH"})}


def psql(sql):
    subprocess.run(["psql", ADMIN, "-qc", sql], check=True, capture_output=True)


def measure(slot, label, binary, workload, seconds):
    """One run of `workload` on a fresh server and database; requests per second."""
    db = "tollgate_ab_%d" % slot
    psql("DROP DATABASE IF EXISTS %s WITH (FORCE)" % db)
    psql("CREATE DATABASE %s" % db)
    t = R.Tollgate("ab-%s" % label, {"TOLLGATE_DATABASE_URL": "postgres://postgres@127.0.0.1:5432/" + db},
                   port=R.TOLLGATE_PORT + 10 + slot, binary=binary)
    try:
        key = t.key()
        ids = R.write_ids(t.name, R.seed(t.url + "/v1/resource", {"X-API-Key": key}, 200))
        script, prefix, extra = WORKLOADS[workload]
        env = {"AUTH_HEADER": "X-API-Key", "AUTH_VALUE": key, "IDS_FILE": ids, "URL": t.url, "PATH_PREFIX": prefix, **extra}
        R.wrk_once(script, env, R.WARMUP)
        out = R.wrk_once(script, env, seconds)
        if out["non2xx"] or out["socket_errors"]:
            raise RuntimeError("%s %s: %d non-2xx, %d socket errors" % (label, workload, out["non2xx"], out["socket_errors"]))
        return out["rps"]
    finally:
        t.stop()
        psql("DROP DATABASE IF EXISTS %s WITH (FORCE)" % db)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--old-bin", required=True)
    ap.add_argument("--new-bin", default=R.TOLLGATE)
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--workloads", default="post,patch")
    args = ap.parse_args()
    os.makedirs(R.OUT, exist_ok=True)
    builds = [("old", args.old_bin), ("new", args.new_bin)]
    for workload in args.workloads.split(","):
        runs = {label: [] for label, _ in builds}
        for r in range(args.rounds):
            for slot, (label, binary) in enumerate(builds if r % 2 == 0 else builds[::-1]):
                rps = measure(slot, label, binary, workload, args.seconds)
                runs[label].append(rps)
                print("%-5s round %d %-3s %8.0f/s" % (workload, r + 1, label, rps), flush=True)
        old, new = (statistics.median(runs[label]) for label, _ in builds)
        print("%-5s medians: old %.0f, new %.0f: new/old %.2fx" % (workload, old, new, new / old), flush=True)


if __name__ == "__main__":
    main()
