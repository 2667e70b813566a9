#!/usr/bin/env python3
"""Checks the Grafana dashboard deploy/grafana/tollgate.json.

- it is well-formed JSON, a dashboard of schemaVersion >= 36 with unique panel ids;
- every panel and query uses the `${DS_PROMETHEUS}` data source, declared as a templating
  variable (so the file works imported through the UI and provisioned from disk);
- every PromQL expression (panel targets and template variable queries) names only metrics that
  Tollgate exports (the list below), and every one of those metrics is shown somewhere;
- with promtool on PATH, every expression parses as PromQL (`promtool check rules` on a
  temporary rule file with the Grafana variables substituted).

Usage: check.py [DASHBOARD]   (default: tollgate.json beside this file). Exit 1 on any problem.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

# What Tollgate serves at /metrics (histograms as their _bucket/_sum/_count series).
HISTOGRAMS = ["http_server_request_duration_seconds", "tollgate_db_query_duration_seconds"]
OTHERS = [
    "tollgate_http_requests_total",
    "http_server_active_requests",
    "tollgate_auth_failures_total",
    "tollgate_ratelimit_rejections_total",
    "tollgate_ratelimit_backend_errors_total",
    "tollgate_quota_usage_max_ratio",
    "tollgate_quota_credentials",
    "tollgate_db_pool_connections",
    "tollgate_credential_cache_lookups_total",
    "tollgate_credential_cache_emptied_total",
    "tollgate_credential_cache_lapses_total",
    "tollgate_credential_cache_fresh",
    "tollgate_resource_reads_coalesced_total",
    "tollgate_resource_read_queries_total",
    "tollgate_build_info",
]
ALLOWED = set(OTHERS) | {h + s for h in HISTOGRAMS for s in ("_bucket", "_sum", "_count")}
# Tokens of PromQL that are not metric names: binary operator keywords and special numbers.
KEYWORDS = {"and", "or", "unless", "bool", "offset", "atan2", "inf", "nan", "start", "end"}
DATASOURCE_VAR = "${DS_PROMETHEUS}"


def grafana_to_promql(expr):
    """Replaces Grafana's variables with values that make a parseable query."""
    expr = re.sub(r"\$__(rate_interval|interval|range)\b", "5m", expr)
    expr = re.sub(r"\$\{?job\}?", "tollgate", expr)
    return re.sub(r"\$\{?(\w+)(?::\w+)?\}?", ".*", expr)


def metric_names(expr):
    """The metric names an expression selects (a small PromQL tokenizer, good for dashboards)."""
    s = grafana_to_promql(expr)
    s = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`', '""', s)  # string literals
    s = re.sub(r"\{[^{}]*\}", " ", s)  # label matchers
    s = re.sub(r"\[[^\[\]]*\]", " ", s)  # ranges and subqueries
    s = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)", " ", s)
    s = re.sub(r"\b(group_left|group_right)\b", " ", s)
    names = []
    for m in re.finditer(r"(?<![\w.:])[A-Za-z_:][A-Za-z0-9_:]*", s):
        rest = s[m.end():].lstrip()
        if rest.startswith("("):  # a function or aggregation
            continue
        if m.group(0).lower() in KEYWORDS:
            continue
        names.append(m.group(0))
    return names


def variable_query_expr(query):
    """The PromQL inside a Grafana Prometheus variable query, or None when there is none."""
    if isinstance(query, dict):
        query = query.get("query", "")
    query = (query or "").strip()
    m = re.fullmatch(r"label_values\(\s*(.*?)\s*,\s*\w+\s*\)", query, re.S)
    if m:
        return m.group(1)
    if re.fullmatch(r"label_values\(\s*\w+\s*\)|label_names\(\s*\)|metrics\(.*\)", query, re.S):
        return None
    m = re.fullmatch(r"query_result\((.*)\)", query, re.S)
    return m.group(1) if m else (query or None)


def walk_panels(panels):
    for p in panels:
        yield p
        yield from walk_panels(p.get("panels", []))


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "tollgate.json")
    errors = []
    try:
        with open(path) as f:
            dash = json.load(f)
    except (OSError, ValueError) as e:
        print(f"{path}: not valid JSON: {e}")
        return 1

    if not isinstance(dash.get("schemaVersion"), int) or dash["schemaVersion"] < 36:
        errors.append(f"schemaVersion {dash.get('schemaVersion')!r}: want 36 or later")
    for key in ("title", "uid", "panels", "templating"):
        if key not in dash:
            errors.append(f"dashboard has no {key!r}")

    variables = dash.get("templating", {}).get("list", [])
    ds_vars = [v for v in variables if v.get("name") == "DS_PROMETHEUS"]
    if not ds_vars or ds_vars[0].get("type") != "datasource" or ds_vars[0].get("query") != "prometheus":
        errors.append("no templating variable DS_PROMETHEUS of type datasource (query prometheus)")

    exprs = []  # (where, expr)
    for v in variables:
        if v.get("type") != "query":
            continue
        if (v.get("datasource") or {}).get("uid") != DATASOURCE_VAR:
            errors.append(f"variable {v.get('name')}: data source is not {DATASOURCE_VAR}")
        e = variable_query_expr(v.get("query"))
        if e:
            exprs.append((f"variable {v.get('name')}", e))

    ids = set()
    n_panels = 0
    for p in walk_panels(dash.get("panels", [])):
        title = p.get("title", "?")
        if p.get("id") in ids:
            errors.append(f"panel {title!r}: duplicate id {p.get('id')}")
        ids.add(p.get("id"))
        g = p.get("gridPos", {})
        if not all(k in g for k in "hwxy") or g["x"] + g["w"] > 24:
            errors.append(f"panel {title!r}: bad gridPos {g}")
        if p.get("type") == "row":
            continue
        n_panels += 1
        if (p.get("datasource") or {}).get("uid") != DATASOURCE_VAR:
            errors.append(f"panel {title!r}: data source is not {DATASOURCE_VAR}")
        targets = p.get("targets") or []
        if not targets:
            errors.append(f"panel {title!r}: no query")
        for t in targets:
            if (t.get("datasource") or {}).get("uid") != DATASOURCE_VAR:
                errors.append(f"panel {title!r} query {t.get('refId')}: data source is not {DATASOURCE_VAR}")
            if not (t.get("expr") or "").strip():
                errors.append(f"panel {title!r} query {t.get('refId')}: empty expr")
            else:
                exprs.append((f"panel {title!r} query {t.get('refId')}", t["expr"]))

    used = set()
    for where, e in exprs:
        names = metric_names(e)
        if not names:
            errors.append(f"{where}: selects no metric: {e}")
        for n in names:
            if n in ALLOWED:
                used.add(n)
            else:
                errors.append(f"{where}: unknown metric {n!r}")
    base = lambda n: next((h for h in HISTOGRAMS if n.startswith(h + "_")), n)
    shown = {base(n) for n in used}
    for m in HISTOGRAMS + OTHERS:
        if m not in shown:
            errors.append(f"metric {m} is on no panel")

    promtool = shutil.which("promtool")
    if promtool and exprs:
        rules = {"groups": [{"name": "grafana-dashboard-check", "rules": [
            {"record": f"dashboard:expr_{i}", "expr": grafana_to_promql(e)} for i, (_, e) in enumerate(exprs)]}]}
        with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as f:
            json.dump(rules, f)  # JSON is YAML
        try:
            r = subprocess.run([promtool, "check", "rules", f.name], capture_output=True, text=True)
        finally:
            os.unlink(f.name)
        if r.returncode != 0:
            out = (r.stdout + r.stderr).replace(f.name, "dashboard")
            for line in out.splitlines():
                m = re.search(r"dashboard:expr_(\d+)", line)
                where = exprs[int(m.group(1))][0] if m else ""
                if "error" in line.lower() or m:
                    errors.append(f"PromQL does not parse: {where} {line.strip()}")
            if not any(e.startswith("PromQL") for e in errors):
                errors.append("promtool check rules failed: " + out.strip())
        parsed = "all parse (promtool)"
    else:
        parsed = "not parsed (no promtool)"

    for e in errors:
        print(f"{os.path.basename(path)}: {e}")
    if errors:
        print(f"{os.path.basename(path)}: FAILED, {len(errors)} problem(s)")
        return 1
    print(f"{os.path.basename(path)}: OK: {n_panels} panels, {len(exprs)} expressions, "
          f"{len(shown)} of {len(HISTOGRAMS) + len(OTHERS)} metrics shown, only known metric names, {parsed}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
