#!/usr/bin/env python3
"""Runs every example of docs/INTEGRATION.md against a live server, so the guide cannot rot.

The server is the guide's own: the one ```bash server``` block (Setup, Step 1) is run as written,
except that its address 127.0.0.1:8080 becomes a free port, in a temporary directory (so its
`./tollgate-data` is fresh); the first admin key is read from its stderr, as a reader would.

Fenced blocks whose info string carries `test` are then executed in document order:
- ```bash test```: `bash -euo pipefail`; every variable a block assigns is kept for the blocks
  after it (each block starts from the state the previous one left, via `export -p`), as if the
  reader typed them into one terminal;
- ```python test```: with the virtualenv the guide's Install step made (`.venv`, the wheel from
  TOLLGATE_PACKAGES installed offline);
- ```js test``` / ```javascript test```: as an ES module (`example.mjs`) in the npm project the
  Install step made (the tarball from TOLLGATE_PACKAGES installed);
- ```rust test:examples/NAME.rs```: must equal crates/tollgate-client/examples/NAME.rs (after
  trimming), and the example binary cargo built ($CARGO_TARGET_DIR/debug/examples/NAME) is run.
Every block runs in the same temporary directory and sees TOLLGATE_ENDPOINT,
TOLLGATE_API_KEY (the server's first admin key), TOLLGATE_DATA_DIR, TOLLGATE_SRC (this
checkout), TOLLGATE_PACKAGES (the built packages, for the install commands) and `tollgate` on the PATH; python, js and rust blocks also
see the variables the bash blocks before them assigned.

Commands the guide shows without running (marked in the text as not run here):
- `tollgate serve` in the foreground: the server block above is the one this harness starts;
- `./scripts/test`, `cargo test`: the test suite itself, which runs this harness.

Besides the examples, the document itself is checked (one line each):
- every section heading of the integration guide template, in the template's order;
- no template placeholder left;
- every operation of docs/openapi.json has its `#### METHOD /path` section in the API
  reference whose `**Status Codes:**` list is exactly the documented one (and /metrics and
  /openapi.json, served but not in the document, have theirs);
- every error code of crates/tollgate-core/src/error_code.rs is in the error table with its
  status; every metric, alert rule and TOLLGATE_* variable the guide names exists.

Output: one line per block or check (`ok   INTEGRATION.md:LINE LANG` or `FAIL ...` with the
output), then `guide: N passed, M failed`. Exits non-zero on any failure, or when fewer than
MIN_BLOCKS blocks ran. Standard library only.
"""

import glob
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GUIDE = os.environ.get("GUIDE_FILE", os.path.join(ROOT, "docs", "INTEGRATION.md"))
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.expanduser("~/.cache/tollgate/target"))
TOLLGATE = os.path.abspath(os.environ.get("TOLLGATE_BIN", os.path.join(TARGET, "debug", "tollgate")))
PACKAGES = os.path.abspath(os.environ.get("TOLLGATE_PACKAGES", os.path.join(ROOT, "target", "packages")))
EXAMPLES = os.path.join(TARGET, "debug", "examples")
MIN_BLOCKS = 25
TIMEOUT = 180
FENCE = re.compile(r"^```(\w+)(?:[ \t]+(\S.*?))?\s*$")
PLACEHOLDERS = ("[Service Name]", "[Team Name]", "[Name]", "YYYY-MM-DD", "TBD", "TODO", "(link)",
                "service.com", "example.com", "your-api-key", "{{")

# The integration guide template's section headings (## and ###), in its order.
TEMPLATE = """
## Table of Contents
## Overview
### Service Description
### Integration Purpose
### Use Cases
### Integration Type
## Prerequisites
### Required Access
### Required Services
### Required Tools
### Required Knowledge
## Architecture
### Integration Architecture
### Data Flow
### Components
## Setup and Configuration
### Step 1: Create Service Account
### Step 2: Configure Service Settings
### Step 3: Set Up Environment Variables
### Step 4: Install Dependencies
## Authentication and Authorization
### Authentication Method
### Obtaining Credentials
### Credential Management
### Rotating Credentials
## API Reference
### Base URL
### Common Headers
### Endpoints
## Code Examples
### Initialize Client
### Example 1: Retrieve Data
### Example 2: Create Resource
### Example 3: Handle Pagination
### Example 4: Error Handling
## Testing and Validation
### Test Environment
### Unit Tests
### Integration Tests
### Validation Checklist
## Error Handling
### Common Errors
### Error Response Format
## Monitoring and Maintenance
### Key Metrics
### CloudWatch Metrics
### Logging
### Maintenance Tasks
## Troubleshooting
## Related Documentation
## Changelog
## Appendix
### Rate Limits
### API Changelog
""".strip().splitlines()


def parse(text):
    """(line, language, tag, code) of every fenced block that has an info-string tag."""
    found, current = [], None
    for number, line in enumerate(text.splitlines(), 1):
        if current is None:
            if line.startswith("```"):
                m = FENCE.match(line)
                current = (number, m.group(1), m.group(2) or "", []) if m else (number, "", "", [])
        elif line.startswith("```"):
            if current[2]:
                found.append((current[0], current[1], current[2], "\n".join(current[3]) + "\n"))
            current = None
        else:
            current[3].append(line)
    if current is not None:
        sys.exit("INTEGRATION.md:%d: unclosed block" % current[0])
    return found


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def clean_env():
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOLLGATE_")}
    env["PATH"] = os.path.dirname(TOLLGATE) + os.pathsep + env.get("PATH", "")
    return env


def start_server(code, work):
    """The guide's server block, on a free port, in `work`; returns (process, url, admin key)."""
    port = free_port()
    lines = code.replace("127.0.0.1:8080", "127.0.0.1:%d" % port).rstrip("\n").split("\n")
    if not lines[-1].startswith("tollgate serve"):
        sys.exit("the ```bash server``` block must end with its `tollgate serve` command line")
    lines[-1] = "exec " + lines[-1]
    err = open(os.path.join(work, "server.stderr"), "w+")
    out = open(os.path.join(work, "server.log"), "w")
    proc = subprocess.Popen(["bash", "-euo", "pipefail", "-c", "\n".join(lines)], cwd=work,
                            stdout=out, stderr=err, env=clean_env())
    url = "http://127.0.0.1:%d" % port
    deadline = time.time() + 30
    while time.time() < deadline:
        if proc.poll() is not None:
            err.seek(0)
            sys.exit("tollgate serve exited: " + err.read())
        try:
            urllib.request.urlopen(url + "/health", timeout=1)
            break
        except OSError:
            time.sleep(0.1)
    else:
        proc.kill()
        sys.exit("tollgate serve did not answer on " + url)
    err.seek(0)
    key = re.search(r"export TOLLGATE_API_KEY=(tgk_[A-Za-z0-9]+)", err.read())
    if not key:
        proc.kill()
        sys.exit("no admin key on the server's stderr")
    return proc, url, key.group(1)


def exported(state_file, base_env):
    """The environment after the bash blocks so far."""
    if not os.path.exists(state_file):
        return dict(base_env)
    out = subprocess.run(["bash", "-c", 'source "$1" >/dev/null 2>&1; env -0', "_", state_file],
                         env=base_env, capture_output=True, check=True)
    return dict(item.split("=", 1) for item in out.stdout.decode().split("\0") if "=" in item)


def failed(message):
    return subprocess.CompletedProcess([], 1, "", message + "\n")


def run_block(language, tag, code, work, env, state_file):
    if language != "bash":
        env = exported(state_file, env)

    def run(argv):
        # Its own process group, so that whatever a block leaves running (a failed block's
        # background server) is stopped with it and cannot answer for the guide's server.
        proc = subprocess.Popen(argv, cwd=work, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, start_new_session=True)
        try:
            out, err = proc.communicate(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, err = proc.communicate()
            return subprocess.CompletedProcess(argv, 1, out, err + "\ntimed out after %ss\n" % TIMEOUT)
        finally:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        return subprocess.CompletedProcess(argv, proc.returncode, out, err)

    if language == "bash":
        script = 'set -a\n[ -f "$GUIDE_STATE" ] && source "$GUIDE_STATE"\n%s\nexport -p > "$GUIDE_STATE"\n' % code
        return run(["bash", "-euo", "pipefail", "-c", script])
    if language == "python":
        venv = os.path.join(work, ".venv", "bin", "python")
        if not os.path.exists(venv):
            return failed("no %s: the guide's Install step (Python) must run before this block" % venv)
        return run([venv, "-c", code])
    if language in ("js", "javascript"):
        path = os.path.join(work, "example.mjs")
        with open(path, "w") as f:
            f.write(code)
        return run(["node", path])
    if language == "rust":
        argument = tag.partition(":")[2]
        source = os.path.join(ROOT, "crates", "tollgate-client", argument)
        if not argument or not os.path.isfile(source):
            return failed("crates/tollgate-client/%s does not exist (yet): the Rust SDK example this block "
                          "quotes (```rust test:examples/NAME.rs) must be written first" % argument)
        with open(source) as f:
            if f.read().strip() != code.strip():
                return failed("differs from crates/tollgate-client/%s: quote the file verbatim" % argument)
        binary = os.path.join(EXAMPLES, os.path.splitext(os.path.basename(argument))[0])
        if not os.path.exists(binary):
            return failed("no example binary at %s: run `cargo build -j1 -p tollgate-client --examples`" % binary)
        if os.path.getmtime(binary) < os.path.getmtime(source):
            return failed("%s is older than its source: run `cargo build -j1 -p tollgate-client --examples`" % binary)
        return run([binary])
    return failed("unknown language %r" % language)


# ---- checks of the document itself ------------------------------------------------------------

def check_template(text):
    headings = [l.strip() for l in text.splitlines() if re.match(r"^#{2,3} ", l)]
    at, problems = 0, []
    for wanted in TEMPLATE:
        try:
            at = headings.index(wanted, at) + 1
        except ValueError:
            problems.append("missing or out of order: " + wanted)
    return problems


def check_placeholders(text):
    return ["placeholder left: %r" % p for p in PLACEHOLDERS if p in text]


def sections(text):
    """{'METHOD /path': section text} for every #### heading of the form `METHOD /path`."""
    found = {}
    parts = re.split(r"^(#{1,4} .*)$", text, flags=re.M)
    for heading, body in zip(parts[1::2], parts[2::2]):
        m = re.match(r"^#### ((?:GET|POST|PATCH|DELETE|PUT) /\S*)\s*$", heading)
        if m:
            found[m.group(1)] = body
    return found


def check_endpoints(text):
    with open(os.path.join(ROOT, "docs", "openapi.json")) as f:
        doc = json.load(f)
    have, problems = sections(text), []
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method not in ("get", "post", "patch", "delete", "put"):
                continue
            name = "%s %s" % (method.upper(), path)
            if name not in have:
                problems.append("no `#### %s` section in the API reference" % name)
                continue
            m = re.search(r"^\*\*Status Codes:\*\*(.*?)(?:\n\n|\Z)", have[name], flags=re.M | re.S)
            if not m:
                problems.append("`#### %s` has no **Status Codes:** list" % name)
                continue
            listed = set(re.findall(r"`(\d{3})`", m.group(1)))
            documented = set(op["responses"])
            if listed != documented:
                problems.append("%s: guide lists %s, docs/openapi.json %s" % (name, sorted(listed), sorted(documented)))
    for name in ("GET /metrics", "GET /openapi.json"):
        if name not in have:
            problems.append("no `#### %s` section in the API reference" % name)
    return problems


def check_error_codes(text):
    with open(os.path.join(ROOT, "crates", "tollgate-core", "src", "error_code.rs")) as f:
        rows = re.findall(r'\("([A-Z_]+)", (\d{3}),', f.read())
    problems = ["error table lacks `| `%s` | %s |`" % (c, s) for c, s in rows
                if not re.search(r"^\| `%s` \| %s \|" % (c, s), text, flags=re.M)]
    named = set(re.findall(r"\b[A-Z]+(?:_[A-Z]+)+\b", text))
    codes = {c for c, _ in rows}
    # Names that look like codes but are not: environment variables and headers are filtered out.
    for word in sorted(named):
        if word.startswith(("TOLLGATE_", "RESOURCE_", "CLIENT_", "ACCESS_", "EXAMPLE_", "GUIDE_")):
            continue
        if word.endswith(("_FAILED", "_DENIED", "_FOUND", "_JSON", "_TYPE", "_LARGE", "_ALLOWED",
                          "_REUSED", "_IN_USE", "_EXCEEDED", "_TIMEOUT", "_ERROR", "_UNAVAILABLE")) \
                and word not in codes:
            problems.append("the guide names an error code that does not exist: " + word)
    return problems


def source_text(*patterns):
    chunks = []
    for pattern in patterns:
        for path in glob.glob(os.path.join(ROOT, pattern), recursive=True):
            with open(path, errors="replace") as f:
                chunks.append(f.read())
    return "\n".join(chunks)


def check_names(text):
    problems = []
    telemetry = source_text("crates/tollgate-telemetry/src/**/*.rs")
    for name in sorted(set(re.findall(r"(?<![:\w])(?:tollgate|http_server)_[a-z_]+[a-z]\b", text))):
        base = re.sub(r"_(bucket|count|sum)$", "", name)
        if '"%s"' % base not in telemetry and name not in ("tollgate_client", "tollgate_data"):
            problems.append("metric %s is not in crates/tollgate-telemetry" % name)
    with open(os.path.join(ROOT, "deploy", "prometheus", "alerts.yml")) as f:
        alerts = set(re.findall(r"alert: (\w+)", f.read()))
    sdk = source_text("sdk/python/src/**/*.py", "sdk/node/src/**/*.ts", "crates/tollgate-client/src/**/*.rs")
    for name in sorted(set(re.findall(r"\bTollgate[A-Z]\w+", text)) - alerts):
        if re.search(r"\b(class|interface|enum|struct) %s\b" % name, sdk + text):
            continue  # a type (TollgateError, a test class), not an alert
        problems.append("alert rule %s is not in deploy/prometheus/alerts.yml" % name)
    # The settings' declarations (one line each in the settings! table): TOLLGATE_ + the name,
    # and TOLLGATE_..._FILE for the secret ones.
    with open(os.path.join(ROOT, "crates", "tollgate", "src", "config", "mod.rs")) as f:
        declarations = re.findall(r'^\s+(\w+): [^=\n]+ = "[^"\n]*", (.*);$', f.read(), flags=re.M)
    known = {"TOLLGATE_" + name.upper() for name, _ in declarations}
    known |= {"TOLLGATE_%s_FILE" % name.upper() for name, rest in declarations if rest.endswith(", secret")}
    if len(declarations) < 30:
        problems.append("found only %d settings in crates/tollgate/src/config/mod.rs" % len(declarations))
    code = source_text("crates/*/src/**/*.rs", "sdk/python/src/**/*.py", "sdk/node/src/**/*.ts")
    known |= set(re.findall(r"\bTOLLGATE_[A-Z_]+[A-Z]\b", code)) | {"TOLLGATE_SRC", "TOLLGATE_BIN", "TOLLGATE_PACKAGES"}
    for name in sorted(set(re.findall(r"\bTOLLGATE_[A-Z_]+[A-Z]\b", text)) - known):
        problems.append("environment variable %s is read nowhere in the code" % name)
    return problems


CHECKS = [("template sections", check_template), ("placeholders", check_placeholders),
          ("endpoints and status codes", check_endpoints), ("error codes", check_error_codes),
          ("metric, alert and variable names", check_names)]


def main():
    with open(GUIDE) as f:
        text = f.read()
    passed = failures = 0

    def report(label, ok, output=""):
        nonlocal passed, failures
        if ok:
            passed += 1
            print("ok   " + label, flush=True)
        else:
            failures += 1
            print("FAIL %s\n%s" % (label, output.rstrip() + "\n" if output else ""), end="", flush=True)

    for name, check in CHECKS:
        problems = check(text)
        report("INTEGRATION.md check: " + name, not problems, "\n".join("  " + p for p in problems))

    found = parse(text)
    servers = [b for b in found if b[2] == "server"]
    tested = [b for b in found if b[2].startswith("test")]
    if len(servers) != 1:
        sys.exit("INTEGRATION.md needs exactly one ```bash server``` block, found %d" % len(servers))
    work = tempfile.mkdtemp(prefix="tollgate-guide-")
    # The SDKs come from the packages the guide's Install step installs into `work` (its .venv
    # and node_modules), never from this checkout's source folders.
    proc, url, admin = start_server(servers[0][3], work)
    report("INTEGRATION.md:%d bash server (%s)" % (servers[0][0], url), True)
    state_file = os.path.join(work, "state.sh")
    env = clean_env()
    env.update({"TOLLGATE_ENDPOINT": url, "TOLLGATE_API_KEY": admin,
                "TOLLGATE_DATA_DIR": os.path.join(work, "tollgate-data"), "TOLLGATE_SRC": ROOT,
                "TOLLGATE_PACKAGES": PACKAGES,
                "GUIDE_STATE": state_file})
    ran = 0
    try:
        for line, language, tag, code in tested:
            label = "INTEGRATION.md:%d %s" % (line, language)
            if proc.poll() is not None:
                report(label, False, "  not run: the server stopped (exit %s) before this block" % proc.returncode)
                continue
            ran += 1
            result = run_block(language, tag, code, work, env, state_file)
            note = ""
            if result.returncode < 0:
                note = "killed by signal %d (not by this harness)\n" % -result.returncode
            if proc.poll() is not None:
                note += "the server stopped during this block (exit %s; a negative exit is a signal " \
                        "from outside); its last log lines:\n%s\n" % (proc.returncode, tail(work))
            report(label, result.returncode == 0 and not note,
                   "%s(exit %s)\n--- stdout\n%s--- stderr\n%s" % (note, result.returncode, result.stdout, result.stderr))
        problems = unmeant_rate_limits(work, env)
        report("INTEGRATION.md walkthrough on the default limits: no credential hit its limit unmeant",
               not problems, "\n".join("  " + p for p in problems))
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=40)
    if ran < MIN_BLOCKS:
        report("INTEGRATION.md: at least %d tested blocks" % MIN_BLOCKS, False, "  only %d ran" % ran)
    # The work directory holds keys, a backup and the server's data: kept only to look into a
    # failure.
    if failures:
        print("guide: its files are kept in %s" % work)
    else:
        shutil.rmtree(work, ignore_errors=True)
    print("guide: %d passed, %d failed" % (passed, failures))
    return 1 if failures else 0


MEANT_TO_HIT_LIMITS = {"bulk-job"}
"""Credentials the guide limits on purpose to show a 429 (Error Handling)."""


def unmeant_rate_limits(work, env):
    """Every 429 in the server's request log, by credential: the walkthrough (run on the server's
    default limits: the server block sets none, and clean_env passes no TOLLGATE_ variable) must
    not hit a quota except with the credentials it limits on purpose."""
    limited = {}
    with open(os.path.join(work, "tollgate-server.log"), errors="replace") as f:
        for line in f:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if event.get("status_code") == 429 and event.get("key_id"):
                limited[event["key_id"]] = limited.get(event["key_id"], 0) + 1
    if not limited:
        return []
    names = {}
    cli = lambda *args: json.loads(subprocess.run(["tollgate", *args, "--output", "json"], env=env, cwd=work,
                                                  capture_output=True, check=True).stdout)
    for project in cli("projects", "list"):
        for kind in ("keys", "clients"):
            for cred in cli(kind, "list", "--project", project["name"]):
                names[cred.get("id") or cred.get("client_id")] = cred["name"]
    return ["%s (%s) was refused with 429 %d times" % (key, names.get(key, "unknown"), n)
            for key, n in sorted(limited.items()) if names.get(key) not in MEANT_TO_HIT_LIMITS]


def tail(work, lines=5):
    with open(os.path.join(work, "tollgate-server.log"), errors="replace") as f:
        return "".join(f.readlines()[-lines:])


if __name__ == "__main__":
    sys.exit(main())
