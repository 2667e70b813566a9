#!/usr/bin/env python3
"""The typed-resources benchmark: sorted and searched lists at 100,000 resources, batches against
single creates, and the cost of validating against a registered type. Run by hand (minutes):

    python3 bench/queries.py [--bin PATH] [--backend sqlite|postgres|both] [--resources N] [--parts lists,writes]

Per backend, one fresh server (SQLite: pinned to core 0, wrk on core 1; PostgreSQL: not pinned,
since the database needs the cores too) is seeded over its own API with N resources of the
registered type `machine` (20 data properties, a required `region` attribute) plus N/50 of an
unregistered type, then measured with wrk (1 thread, 32 connections, medians of --runs runs):

- list of 100 sorted by an attribute with a filter (`type=machine&sort=attributes.region`), at the
  first cursor page and at the thousandth (the cursor is walked page by page first);
- the same sorted by `-created_at`, and a `q` search (by relevance, and sorted with cursors);
- POST /v1/batch with 100 creates against POST /v1/resource, in resources/s;
- POST of a `machine` (validated against its schema) against an unregistered type.

Writes bench/out/queries.json and prints a Markdown table. Standard library only (plus wrk).
"""

import argparse
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "bench", "out")
LUA = os.path.join(ROOT, "bench", "lua")
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.expanduser("~/.cache/tollgate/target"))
WORDS = ("alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar papa "
         "quebec romeo sierra tango uniform victor whiskey xray yankee zulu").split()
REGIONS = ["eu-west-1", "eu-central-1", "us-east-1", "us-west-2", "ap-south-1", "ap-east-1", "sa-east-1", "af-south-1"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(method, url, key, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers={"X-API-Key": key, "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.loads(r.read() or b"null")


def schema_of_20():
    props = {"cpus": {"type": "integer", "minimum": 1, "maximum": 512}, "ram_gb": {"type": "number", "minimum": 0}}
    for i in range(18):
        props["p%02d" % i] = [{"type": "string", "maxLength": 64}, {"type": "integer"}, {"type": "boolean"}][i % 3]
    return {"type": "object", "properties": props, "required": ["cpus", "ram_gb"], "additionalProperties": False}


def machine(i, rng):
    data = {"cpus": rng.choice([2, 4, 8, 16]), "ram_gb": 8, "p00": " ".join(rng.sample(WORDS, 3))}
    for j in range(1, 18):
        data["p%02d" % j] = ["x%d" % j, j, True][j % 3]
    return {"name": "m-%06d" % i, "type": "machine", "attributes": {"region": rng.choice(REGIONS)}, "data": data}


class Server:
    def __init__(self, binary, backend, pin, extra_env=None, reuse=None):
        """A fresh server, or with `reuse` (an earlier, stopped Server) one on its data."""
        self.dir = reuse.dir if reuse else tempfile.mkdtemp(prefix="tollgate-queries-")
        self.port = free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        env = {k: v for k, v in os.environ.items() if not k.startswith("TOLLGATE_")}
        env.update({"TOLLGATE_LOG_LEVEL": "warn", **(extra_env or {})})
        self.db = None
        if backend == "postgres":
            self.db = "tollgate_bench_%d" % self.port
            subprocess.run(["psql", "postgres://postgres@127.0.0.1:5432/postgres", "-qc", "CREATE DATABASE %s" % self.db], check=True)
            env["TOLLGATE_DATABASE_URL"] = "postgres://postgres@127.0.0.1:5432/%s" % self.db
        cmd = [binary, "serve", "--listen", "127.0.0.1:%d" % self.port, "--data-dir", self.dir]
        if pin:
            cmd = ["taskset", "-c", "0"] + cmd
        self.err = open(os.path.join(self.dir, "stderr"), "w+")
        self.proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=self.err)
        deadline = time.time() + 60
        while True:
            try:
                urllib.request.urlopen(self.url + "/health", timeout=1)
                break
            except OSError:
                if time.time() > deadline or self.proc.poll() is not None:
                    raise RuntimeError("the server did not start")
                time.sleep(0.1)
        self.key = reuse.key if reuse else None
        if reuse:
            return
        while time.time() < deadline and not self.key:
            time.sleep(0.2)
            self.err.seek(0)
            for line in self.err:
                if "export TOLLGATE_API_KEY=" in line:
                    self.key = line.strip().split("=", 1)[1]
        assert self.key, "no admin key"
        # The bench key: the limiter runs, but never refuses.
        me = call("GET", self.url + "/v1/usage", self.key)
        call("PATCH", self.url + "/v1/keys/" + me["credential"], self.key,
             {"limits": {"read": "1000000000/h", "write": "1000000000/h"}})

    def rss_mib(self):
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) // 1024
        return 0

    def stop(self, keep=False):
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        if keep:
            return
        if self.db:
            subprocess.run(["psql", "postgres://postgres@127.0.0.1:5432/postgres", "-qc",
                            "DROP DATABASE %s WITH (FORCE)" % self.db], check=False)
        shutil.rmtree(self.dir, ignore_errors=True)


def wrk(url, key, seconds, runs, script="list.lua", extra=None, pin=True, connections=32):
    """Medians over `runs` of wrk runs: (requests/s, p50 ms, p99 ms)."""
    env = {**os.environ, "AUTH_HEADER": "X-API-Key", "AUTH_VALUE": key, **(extra or {})}
    parsed = urllib.parse.urlsplit(url)
    env["PATH_PREFIX"] = parsed.path + ("?" + parsed.query if parsed.query else "")
    base = "%s://%s" % (parsed.scheme, parsed.netloc)
    results = []
    for _ in range(runs):
        cmd = ["wrk", "-t1", "-c%d" % connections, "-d%ds" % seconds, "--timeout", "10s", "--latency", "-s", os.path.join(LUA, script), base]
        if pin:
            cmd = ["taskset", "-c", "1"] + cmd
        out = subprocess.run(cmd, env=env, capture_output=True, text=True).stdout
        rps = float(out.split("Requests/sec:")[1].split()[0])
        lat = {}
        for line in out.splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[0] in ("50%", "99%"):
                lat[parts[0]] = parse_ms(parts[1])
        non2xx = 0
        if "Non-2xx" in out:
            non2xx = int(out.split("Non-2xx or 3xx responses:")[1].split()[0])
        assert non2xx == 0, "non-2xx answers: " + out
        results.append((rps, lat.get("50%", 0), lat.get("99%", 0)))
    return tuple(round(statistics.median(r[i] for r in results), 2) for i in range(3))


def parse_ms(s):
    for unit, f in (("us", 0.001), ("ms", 1.0), ("s", 1000.0)):
        if s.endswith(unit):
            return float(s[: -len(unit)]) * f
    return float(s)


def walk(url, key, pages):
    """The cursors of the middle page and of page `pages` (1-based) of `url`, and how long the
    walk took per page."""
    cursor, middle = "", ""
    started = time.time()
    for n in range(2, pages + 1):
        page = call("GET", url + "&cursor=" + urllib.parse.quote(cursor), key)
        cursor = page["next_cursor"]
        assert cursor, "fewer pages than %d" % pages
        if n == pages // 2:
            middle = cursor
    return middle, cursor, (time.time() - started) / max(pages - 1, 1) * 1000


def seed(s, n, rng):
    call("POST", s.url + "/v1/types", s.key, {"name": "machine", "schema": schema_of_20(),
                                             "attributes": {"region": {"required": True, "enum": REGIONS}}})
    started = time.time()
    ops = []
    # One disk in every 51 resources, spread through the machines, so that the `type` filter
    # drops about 2% of what a sort index yields, wherever a page starts.
    for i in range(n + n // 50):
        disk = i % 51 == 50
        body = {"name": "d-%d" % i, "type": "disk", "attributes": {"region": rng.choice(REGIONS)}} if disk else machine(i, rng)
        ops.append({"op": "create", "body": body})
        if len(ops) == 100:
            call("POST", s.url + "/v1/batch", s.key, {"operations": ops})
            ops = []
    if ops:
        call("POST", s.url + "/v1/batch", s.key, {"operations": ops})
    return time.time() - started


def bench_backend(binary, backend, opts):
    pin = backend == "sqlite"
    s = Server(binary, backend, pin)
    rng = random.Random(7)
    out = {"backend": backend}
    try:
        seconds = seed(s, opts.resources, rng)
        out["seed_resources_per_s"] = round((opts.resources * 1.02) / seconds)
        log("%s: seeded %d resources in %.0f s" % (backend, opts.resources * 1.02, seconds))
        lists = {
            "sort attributes.region, type=machine": "/v1/resource?type=machine&sort=attributes.region&per_page=100",
            "sort -created_at, type=machine": "/v1/resource?type=machine&sort=-created_at&per_page=100",
            "q=alpha bravo (two words, about 1%), sort name": "/v1/resource?q=alpha%20bravo&sort=name&per_page=100",
        }
        for label, path in (lists.items() if "lists" in opts.parts else ()):
            url = s.url + path
            total = call("GET", url + "&include_total=true", s.key)["total"]
            pages = min(1000, (total + 99) // 100)
            middle, cursor, walk_ms = walk(url, s.key, pages)
            first = wrk(url + "&cursor=", s.key, opts.duration, opts.runs, pin=pin)
            mid = wrk(url + "&cursor=" + urllib.parse.quote(middle), s.key, opts.duration, opts.runs, pin=pin)
            deep = wrk(url + "&cursor=" + urllib.parse.quote(cursor), s.key, opts.duration, opts.runs, pin=pin)
            out[label] = {"matches": total, "deep_page": pages, "walk_ms_per_page": round(walk_ms, 2),
                          "first": first, "middle": mid, "deep": deep}
            log("%s %s: page 1 %s, page %d %s, page %d %s" % (backend, label, first, pages // 2, mid, pages, deep))
        searches = (("q=alpha bravo, by relevance", "q=alpha%20bravo"), ("q=alpha (about 11%), by relevance", "q=alpha"))
        for label, path in (searches if "lists" in opts.parts else ()):
            total = call("GET", s.url + "/v1/resource?include_total=true&" + path, s.key)["total"]
            out[label] = {"matches": total, "first": wrk(s.url + "/v1/resource?per_page=100&" + path, s.key,
                                                         opts.duration, opts.runs, pin=pin)}
            log("%s %s: page 1 %s" % (backend, label, out[label]["first"]))
        if "writes" not in opts.parts:
            return out
        # Writes: single creates, batches of 100, registered against unregistered.
        single = wrk(s.url + "/v1/resource", s.key, opts.duration, opts.runs, script="typed_post.lua",
                     extra={"BODY": json.dumps(machine(0, rng))}, pin=pin)
        batch_body = json.dumps({"operations": [{"op": "create", "body": machine(i, rng)} for i in range(100)]})
        batch = wrk(s.url + "/v1/batch", s.key, opts.duration, opts.runs, script="typed_post.lua",
                    extra={"BODY": batch_body}, pin=pin)
        untyped_body = dict(machine(0, rng), type="gadget")
        untyped = wrk(s.url + "/v1/resource", s.key, opts.duration, opts.runs, script="typed_post.lua",
                      extra={"BODY": json.dumps(untyped_body)}, pin=pin)
        # One client writing alone: a single create then waits for its own fsync, which 32
        # clients share through the group commit.
        single_1 = wrk(s.url + "/v1/resource", s.key, opts.duration, opts.runs, script="typed_post.lua",
                       extra={"BODY": json.dumps(machine(0, rng))}, pin=pin, connections=1)
        batch_1 = wrk(s.url + "/v1/batch", s.key, opts.duration, opts.runs, script="typed_post.lua",
                      extra={"BODY": batch_body}, pin=pin, connections=1)
        out["single create"] = single
        out["batch of 100"] = batch
        out["batch_vs_single_resources"] = round(batch[0] * 100 / single[0], 1)
        out["single create, 1 connection"] = single_1
        out["batch of 100, 1 connection"] = batch_1
        out["batch_vs_single_resources_1_connection"] = round(batch_1[0] * 100 / single_1[0], 1)
        out["unregistered create"] = untyped
        out["validation_cost_pct"] = round((1 - single[0] / untyped[0]) * 100, 1)
        out["rss_mib"] = s.rss_mib()
        log("%s writes: single %s, batch %s (x%s resources/s), unregistered %s (validation %s%%)" % (
            backend, single, batch, out["batch_vs_single_resources"], untyped, out["validation_cost_pct"]))
        log("%s writes at 1 connection: single %s, batch %s (x%s resources/s)" % (
            backend, single_1, batch_1, out["batch_vs_single_resources_1_connection"]))
    finally:
        s.stop()
    return out


def log(msg):
    print("[%s] %s" % (time.strftime("%H:%M:%S"), msg), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=os.path.join(TARGET, "release", "tollgate"))
    ap.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    ap.add_argument("--resources", type=int, default=100_000)
    ap.add_argument("--duration", type=int, default=5)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--parts", default="lists,writes", help="lists, writes or both (comma-separated)")
    opts = ap.parse_args()
    for tool in ("wrk", "taskset"):
        if not shutil.which(tool):
            sys.exit("needs %s (apt-get install wrk util-linux)" % tool)
    os.makedirs(OUT, exist_ok=True)
    backends = ("sqlite", "postgres") if opts.backend == "both" else (opts.backend,)
    results = [bench_backend(opts.bin, b, opts) for b in backends]
    with open(os.path.join(OUT, "queries.json"), "w") as f:
        json.dump(results, f, indent=2)
    print("\n| backend | workload | page 1: rps / p50 ms | middle page | last page |")
    print("| --- | --- | --- | --- | --- |")
    for r in results:
        for label, v in r.items():
            if isinstance(v, dict) and "first" in v:
                deep, mid = v.get("deep"), v.get("middle")
                print("| %s | %s (%s matches) | %s / %s | %s | %s |" % (
                    r["backend"], label, v.get("matches", "-"), v["first"][0], v["first"][1],
                    "page %d: %s / %s" % (v["deep_page"] // 2, mid[0], mid[1]) if mid else "-",
                    "page %d: %s / %s" % (v["deep_page"], deep[0], deep[1]) if deep else "-"))
    print("\n| backend | single creates/s | batch requests/s (resources/s) | batch vs single | same, 1 connection | unregistered creates/s | validation cost |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for r in (r for r in results if "single create" in r):
        print("| %s | %s | %s (%d) | x%s | %s against %s: x%s | %s | %s%% |" % (
            r["backend"], r["single create"][0], r["batch of 100"][0], r["batch of 100"][0] * 100,
            r["batch_vs_single_resources"], r["batch of 100, 1 connection"][0] * 100, r["single create, 1 connection"][0],
            r["batch_vs_single_resources_1_connection"], r["unregistered create"][0], r["validation_cost_pct"]))


if __name__ == "__main__":
    main()
