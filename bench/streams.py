#!/usr/bin/env python3
"""The live stream's benchmark: 1,000 streams on one node under 500 writes/s, and what open
streams cost the writes. Run by hand (about 3 minutes):

    python3 bench/streams.py [--bin PATH] [--streams 1000] [--rate 500] [--seconds 20]

One fresh release server (SQLite, pinned to core 0; the clients on core 1). The stream client is
`crates/tollgate-testkit/examples/stream_bench.rs` (built here with cargo): it opens the streams,
POSTs at a fixed rate and measures commit-to-receive latency (now minus the event's timestamp) on
every tenth stream. Measured:

1. POST latency at RATE/s with no stream open;
2. the same with STREAMS streams receiving every event: delivery latency p50/p99, events
   received against expected, server RSS;
3. POST throughput (wrk, 32 connections) with no stream, with STREAMS streams open whose filter
   matches nothing the benchmark writes (the fan-out's cost alone), and with STREAMS streams
   receiving everything;
4. POST latency at RATE/s while the pruner deletes --prune-rows events past retention (seeded
   straight into the stopped server's database, two days old), against the same afterwards.

Writes bench/out/streams.json and prints a Markdown table.
"""

import argparse
import json
import os
import resource
import sqlite3
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from queries import OUT, ROOT, TARGET, Server, log, wrk  # noqa: E402

CLIENT = os.path.join(TARGET, "release", "examples", "stream_bench")


def client(s, streams, rate, seconds, query=""):
    cmd = ["taskset", "-c", "1", CLIENT, s.url, s.key, str(streams), str(rate), str(seconds), query]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)


def cpu_seconds(pid):
    """User plus system CPU time of process `pid` (every thread) so far, in seconds."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def loaded_run(s, opts):
    """STREAMS streams receiving under RATE writes/s, with the server's and the client's CPU time:
    CPU per 1,000 events sent is steadier than latency on a shared machine."""
    server_before = cpu_seconds(s.proc.pid)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    c = client(s, opts.streams, opts.rate, opts.seconds)
    out = json.loads(c.communicate()[0])
    out["server_cpu_s"] = round(cpu_seconds(s.proc.pid) - server_before, 2)
    done = resource.getrusage(resource.RUSAGE_CHILDREN)  # the client has been waited for
    out["client_cpu_s"] = round(done.ru_utime + done.ru_stime - children.ru_utime - children.ru_stime, 2)
    out["server_cpu_ms_per_1000_events"] = round(1e6 * out["server_cpu_s"] / max(out["events_received"], 1), 2)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=os.path.join(TARGET, "release", "tollgate"))
    ap.add_argument("--streams", type=int, default=1000)
    ap.add_argument("--rate", type=int, default=500)
    ap.add_argument("--seconds", type=int, default=20)
    ap.add_argument("--prune-rows", type=int, default=1_000_000)
    ap.add_argument("--client", help="a built stream_bench to use (default: build this tree's)")
    ap.add_argument("--only-loaded", action="store_true", help="only the streams under writes (about 1 minute)")
    opts = ap.parse_args()
    global CLIENT
    if opts.client:
        CLIENT = opts.client
    else:
        subprocess.run(["cargo", "build", "-q", "--release", "-p", "tollgate-testkit", "--example", "stream_bench"],
                       cwd=ROOT, check=True)
    os.makedirs(OUT, exist_ok=True)
    limit = {"TOLLGATE_EVENT_STREAMS_PER_CREDENTIAL": str(opts.streams)}
    results = {}
    s = Server(opts.bin, "sqlite", True, limit)
    try:
        quiet = json.loads(client(s, 0, opts.rate, opts.seconds).communicate()[0])
        results["posts without streams"] = quiet["post_ms"]
        log("no streams: POST %s" % quiet["post_ms"])
        loaded = loaded_run(s, opts)
        loaded["rss_mib"] = s.rss_mib()
        results["streams under writes"] = loaded
        log("%d streams at %d writes/s: %s" % (opts.streams, opts.rate, loaded))
    finally:
        s.stop()
    if opts.only_loaded:
        print(json.dumps(results, indent=2))
        return
    # Throughput: each case on a fresh server, so the tables are the same size.
    for label, query in (("no streams", None), ("streams, filtered out", "?type=resource.deleted"),
                         ("streams, receiving", "")):
        s = Server(opts.bin, "sqlite", True, limit)
        try:
            held = None
            if query is not None:
                held = client(s, opts.streams, 0, 25, query)
                time.sleep(4)
            rps, p50, p99 = wrk(s.url + "/v1/resource", s.key, 10, 1, script="post.lua",
                                extra={"PATH_PREFIX": "/v1/resource"})
            r = {"rps": rps, "p50_ms": p50, "p99_ms": p99, "rss_mib": s.rss_mib()}
            if held:
                # What the streams got: a server that lets streams go as too far behind serves
                # the writes with fewer streams than it was given.
                seen = json.loads(held.communicate()[0])
                r.update(events_received=seen["events_received"], streams_ended=seen["streams_ended"])
            results["POST throughput, " + label] = r
            log("POST with %s: %s" % (label, r))
        finally:
            s.stop()
    if opts.prune_rows:
        results["prune"] = bench_prune(opts)
    with open(os.path.join(OUT, "streams.json"), "w") as f:
        json.dump(results, f, indent=2)
    l = results["streams under writes"]
    print("\n| measure | value |\n| --- | --- |")
    print("| POST p50 / p99 at %d/s, no streams | %s / %s ms |" % (opts.rate, results["posts without streams"]["p50"],
                                                            results["posts without streams"]["p99"]))
    print("| POST p50 / p99 at %d/s, %d streams | %s / %s ms |" % (opts.rate, opts.streams, l["post_ms"]["p50"], l["post_ms"]["p99"]))
    print("| delivery latency p50 / p99 / max | %s / %s / %s ms (%d samples) |" % (
        l["latency_ms"]["p50"], l["latency_ms"]["p99"], l["latency_ms"]["max"], l["latency_ms"]["samples"]))
    print("| events received / expected | %d / %d (streams ended: %d) |" % (l["events_received"], l["events_expected"], l["streams_ended"]))
    print("| server RSS with %d streams | %d MiB |" % (opts.streams, l["rss_mib"]))
    print("| server / client CPU during those %d s | %s / %s s (server %s ms per 1,000 events) |" % (
        opts.seconds, l["server_cpu_s"], l["client_cpu_s"], l["server_cpu_ms_per_1000_events"]))
    for label in ("no streams", "streams, filtered out", "streams, receiving"):
        r = results["POST throughput, " + label]
        held = "" if "streams_ended" not in r else ", %d events received, %d streams let go" % (
            r["events_received"], r["streams_ended"])
        print("| POST throughput, %s | %s/s (p99 %s ms, RSS %s MiB%s) |" % (label, r["rps"], r["p99_ms"], r["rss_mib"], held))
    if "prune" in results:
        p = results["prune"]
        print("| POST p50 / p99 at %d/s while %d events are pruned | %s / %s ms |" % (
            opts.rate, p["rows"], p["post_ms_during"]["p50"], p["post_ms_during"]["p99"]))
        print("| POST p50 / p99 at %d/s after the prune | %s / %s ms |" % (
            opts.rate, p["post_ms_after"]["p50"], p["post_ms_after"]["p99"]))


def seed_old_events(data_dir, rows):
    """`rows` published events two days old, in the server's own database (while it is stopped)."""
    db = sqlite3.connect(os.path.join(data_dir, "tollgate.db"))
    project = db.execute("SELECT id FROM projects LIMIT 1").fetchone()[0]
    seq = db.execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()[0]
    old = int((time.time() - 2 * 86400) * 1_000_000)
    payload = json.dumps({"type": "resource.created", "timestamp": "2026-01-01T00:00:00Z", "data": {"id": "res_x"}})
    with db:
        db.executemany(
            "INSERT INTO events (id, project_id, type, payload, created_at, published_at, seq) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (("evt_00%024d" % i, project, "resource.created", payload, old + i, old + i, seq + 1 + i) for i in range(rows)))
    db.close()


def bench_prune(opts):
    env = {"TOLLGATE_EVENT_RETENTION": "1d", "TOLLGATE_PRUNE_INTERVAL": "1h"}
    first = Server(opts.bin, "sqlite", True, env)
    first.stop(keep=True)
    started = time.time()
    seed_old_events(first.dir, opts.prune_rows)
    log("seeded %d old events in %.0f s" % (opts.prune_rows, time.time() - started))
    s = Server(opts.bin, "sqlite", True, env, reuse=first)  # the pruner's first pass starts now
    try:
        during = json.loads(client(s, 0, opts.rate, opts.seconds).communicate()[0])
        remaining = 1
        deadline = time.time() + 600
        while remaining and time.time() < deadline:
            db = sqlite3.connect(os.path.join(s.dir, "tollgate.db"))
            remaining = db.execute("SELECT count(*) FROM events WHERE created_at < ?",
                                   (int((time.time() - 86400) * 1_000_000),)).fetchone()[0]
            db.close()
            time.sleep(1)
        pruned_after = time.time() - started
        after = json.loads(client(s, 0, opts.rate, opts.seconds).communicate()[0])
    finally:
        s.stop()
    out = {"rows": opts.prune_rows, "post_ms_during": during["post_ms"], "post_ms_after": after["post_ms"],
           "pass_done_within_s": round(pruned_after)}
    log("prune: %s" % out)
    return out


if __name__ == "__main__":
    main()
