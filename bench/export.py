#!/usr/bin/env python3
"""JSON Lines export in wall-clock resources per second, one build against another on the same
data in the same run (issue #19 asks for 3x the export of its build). Run by hand (minutes):

    python3 bench/export.py [--bin PATH] [--old-bin PATH] [--resources N] [--runs R] [--pin CORES]

One installation is seeded over the API of the oldest build given (a newer build migrates an
older schema, never the reverse) with N resources in batches of 100 (bench/run.py's seed record,
each one named apart), and copied once per build. Each build first exports its copy unmeasured
(a newer build migrates the schema), the copy's WAL is then checkpointed into the database and
truncated (otherwise every run would first re-read the WAL the seeding server left, a cost of
opening the database that grows with the WAL, not with the export), and the build exports its
copy R times to a file; the figure is the median wall-clock time per export,
with `--pin` (default "0") given to `taskset` so that builds that use more cores say so.
The resource lines of every build's file must be identical, or the run fails.
`--instructions` adds one more export per build under valgrind's callgrind and reports its
instructions per exported resource (whole process, start-up included): a count that does not
move with whatever else runs on the machine, where seconds do.
Standard library only (plus valgrind for `--instructions`).
"""

import argparse
import json
import os
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.expanduser("~/.cache/tollgate/target"))
SEED = {"name": "seed", "type": "widget", "status": "active", "attributes": {"env": "bench", "tier": "gold"},
        "data": {"cpus": 8, "tags": ["a", "b"]}}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def seed(binary, data_dir, n):
    port = free_port()
    env = {**os.environ, "TOLLGATE_DATA_DIR": data_dir, "TOLLGATE_LISTEN": "127.0.0.1:%d" % port}
    server = subprocess.Popen([binary, "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = "http://127.0.0.1:%d" % port
        for _ in range(200):
            try:
                urllib.request.urlopen(url + "/health", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        key = subprocess.run([binary, "keys", "create", "--name", "export-bench", "--scopes",
                              "resource:read,resource:write", "--limit", "read=1000000000/h,write=1000000000/h"],
                             env=env, check=True, capture_output=True, text=True).stdout.strip()
        done = 0
        while done < n:
            ops = [{"op": "create", "body": {**SEED, "name": "seed %d" % (done + i)}} for i in range(min(100, n - done))]
            req = urllib.request.Request(url + "/v1/batch", data=json.dumps({"operations": ops}).encode(),
                                         method="POST", headers={"X-API-Key": key, "Content-Type": "application/json"})
            urllib.request.urlopen(req, timeout=60).read()
            done += len(ops)
    finally:
        server.terminate()
        server.wait()


def checkpoint(db):
    c = sqlite3.connect(db)
    try:
        busy, _, _ = c.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        if busy:
            sys.exit("could not checkpoint " + db)
    finally:
        c.close()


def callgrind_total(binary, env, out, work):
    """Instructions of one whole export under callgrind."""
    profile = os.path.join(work, "callgrind.out")
    subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=" + profile, binary, "export",
                    "--output", out], env=env, check=True, capture_output=True)
    with open(profile) as f:
        total = next(int(line.split()[1]) for line in f if line.startswith("summary:"))
    os.remove(profile)
    return total


def resource_lines(path):
    with open(path, "rb") as f:
        return [line for line in f if line.startswith(b'{"type":"resource"')]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bin", default=os.path.join(TARGET, "release", "tollgate"))
    p.add_argument("--old-bin", help="the build to compare against (seeds the data)")
    p.add_argument("--resources", type=int, default=100_000)
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--pin", default="0", help="taskset's core list for the exports")
    p.add_argument("--instructions", action="store_true", help="also count instructions under callgrind")
    a = p.parse_args()
    builds = [("old", a.old_bin)] if a.old_bin else []
    builds.append(("new", a.bin))
    work = tempfile.mkdtemp(prefix="tollgate-export-bench-")
    try:
        source = os.path.join(work, "seed")
        os.mkdir(source, 0o700)
        t = time.monotonic()
        seed(builds[0][1], source, a.resources)
        print("seeded %d resources in %.0f s" % (a.resources, time.monotonic() - t), file=sys.stderr)
        results, lines, instructions = {}, {}, {}
        for name, binary in builds:
            data = os.path.join(work, name)
            shutil.copytree(source, data)
            os.chmod(data, 0o700)
            env = {**os.environ, "TOLLGATE_DATA_DIR": data}
            out = os.path.join(work, name + ".jsonl")
            cmd = ["taskset", "-c", a.pin, binary, "export", "--output", out]
            subprocess.run(cmd, env=env, check=True, capture_output=True)
            checkpoint(os.path.join(data, "tollgate.db"))
            times = []
            for _ in range(a.runs):
                t = time.perf_counter()
                subprocess.run(cmd, env=env, check=True, capture_output=True)
                times.append(time.perf_counter() - t)
            if a.instructions:
                instructions[name] = callgrind_total(binary, env, out, work)
            lines[name] = resource_lines(out)
            results[name] = statistics.median(times)
            print("%s: median %.3f s (runs %s): %.0f resources/s" % (
                name, results[name], ", ".join("%.3f" % x for x in times), len(lines[name]) / results[name]))
        if len(lines) == 2 and lines["old"] != lines["new"]:
            sys.exit("the builds' resource lines differ")
        if len(lines["new"]) != a.resources:
            sys.exit("exported %d resources, seeded %d" % (len(lines["new"]), a.resources))
        if "old" in results:
            print("new against old: %.2fx the resources per second" % (results["old"] / results["new"]))
        for name, total in instructions.items():
            print("%s: %d instructions, %.0f per resource" % (name, total, total / a.resources))
        if len(instructions) == 2:
            print("new against old: %.2fx fewer instructions" % (instructions["old"] / instructions["new"]))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
