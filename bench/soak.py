#!/usr/bin/env python3
"""Resident memory under mixed traffic, over time: a soak. Run by hand (minutes):

    python3 bench/soak.py [--bin PATH] [--minutes 10] [--resources 2000]

One release server on SQLite (pinned to core 0), seeded with small resources, then three wrk
processes at once on core 1 for the whole soak: GET by id (16 connections), list pages of 100
(8) and POST creates (8), so the table grows as it would. The server's RSS (VmRSS) is sampled
every 10 s; the report gives it at minute 1 and at the end, the peak, and the requests served.
Memory that grows from minute 1 to the end under a steady load is a leak or an unbounded cache;
a flat line is what the issue asks for. Standard library only (plus wrk).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import queries  # noqa: E402  (the Server class and call helper)

HERE = os.path.dirname(os.path.abspath(__file__))
LUA = os.path.join(HERE, "lua")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=os.path.join(queries.TARGET, "release", "tollgate"))
    ap.add_argument("--minutes", type=float, default=10)
    ap.add_argument("--resources", type=int, default=2000)
    opts = ap.parse_args()
    s = queries.Server(opts.bin, "sqlite", True)
    ids = []
    try:
        body = {"name": "soak", "type": "widget", "status": "active",
                "attributes": {"env": "bench", "tier": "gold"}, "data": {"cpus": 8, "tags": ["a", "b"]}}
        for start in range(0, opts.resources, 100):
            ops = [{"op": "create", "body": body} for _ in range(min(100, opts.resources - start))]
            out = queries.call("POST", s.url + "/v1/batch", s.key, {"operations": ops})
            ids += [r["resource"]["id"] for r in out["results"]]
        ids_file = tempfile.NamedTemporaryFile("w", suffix=".ids", delete=False)
        ids_file.write("\n".join(ids) + "\n")
        ids_file.close()
        seconds = int(opts.minutes * 60)
        env = {**os.environ, "AUTH_HEADER": "X-API-Key", "AUTH_VALUE": s.key, "IDS_FILE": ids_file.name}
        loads = [("get.lua", 16, "/v1/resource/"), ("list.lua", 8, "/v1/resource?per_page=100"),
                 ("post.lua", 8, "/v1/resource")]
        procs = []
        for script, conns, path in loads:
            cmd = ["taskset", "-c", "1", "wrk", "-t1", "-c%d" % conns, "-d%ds" % seconds, "--timeout", "10s",
                   "-s", os.path.join(LUA, script), s.url]
            procs.append((script, subprocess.Popen(cmd, env={**env, "PATH_PREFIX": path},
                                                   stdout=subprocess.PIPE, text=True)))
        samples = []
        started = time.time()
        while any(p.poll() is None for _, p in procs):
            time.sleep(10)
            samples.append((round(time.time() - started), s.rss_mib()))
            print("[%4d s] RSS %d MiB" % samples[-1], flush=True)
        served = {}
        for script, p in procs:
            text = p.stdout.read()
            served[script] = float(text.split("Requests/sec:")[1].split()[0]) if "Requests/sec:" in text else 0.0
        at_1 = next((m for t, m in samples if t >= 60), samples[0][1])
        result = {"minutes": opts.minutes, "rss_mib_minute_1": at_1, "rss_mib_end": samples[-1][1],
                  "rss_mib_peak": max(m for _, m in samples), "requests_per_s": served, "samples": samples}
        os.makedirs(os.path.join(HERE, "out"), exist_ok=True)
        with open(os.path.join(HERE, "out", "soak.json"), "w") as f:
            json.dump(result, f, indent=1)
        print("RSS at minute 1: %d MiB, at the end: %d MiB, peak %d MiB; requests/s %s" % (
            at_1, samples[-1][1], result["rss_mib_peak"], served))
    finally:
        s.stop()


if __name__ == "__main__":
    main()
