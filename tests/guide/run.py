#!/usr/bin/env python3
"""Runs every example of docs/INTEGRATION.md against a live server, so the guide cannot rot.

Fenced blocks whose info string carries `test` are executed in document order:
- ```bash test```: in bash with `-euo pipefail`; variables a block assigns are kept for the
  blocks after it (each block starts from the state the previous one left), as if the reader
  typed them into one terminal;
- ```python test```: with the Python SDK's virtualenv (PYTHON);
- ```js test```: as an ES module, with `@tollgate/sdk` resolving to sdk/node;
- ```rust test:examples/NAME.rs```: must equal crates/tollgate-client/examples/NAME.rs byte for
  byte (trailing whitespace aside), and the example binary built by cargo is run.
Every block sees TOLLGATE_ENDPOINT, TOLLGATE_API_KEY (the server's first admin key),
TOLLGATE_DATA_DIR and `tollgate` on the PATH; python, js and rust blocks also see the
variables earlier bash blocks exported. One line per block, then `guide: N passed, M failed`.
Standard library only.
"""

import os
import re
import shlex
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GUIDE = os.path.join(ROOT, "docs", "INTEGRATION.md")
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.expanduser("~/.cache/tollgate/target"))
TOLLGATE = os.environ.get("TOLLGATE_BIN", os.path.join(TARGET, "debug", "tollgate"))
PYTHON = os.environ.get("PYTHON", os.path.expanduser("~/.cache/tollgate/py-venv/bin/python"))
EXAMPLES = os.path.join(TARGET, "debug", "examples")
MIN_BLOCKS = 25
FENCE = re.compile(r"^```(\w+)\s+test(?::(\S+))?\s*$")


def blocks(text):
    """(line number, language, argument, code) of every tested block."""
    found, current = [], None
    for number, line in enumerate(text.splitlines(), 1):
        if current is None:
            m = FENCE.match(line)
            if m:
                current = (number, m.group(1), m.group(2), [])
        elif line.startswith("```"):
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


def start_server(work):
    """`tollgate serve` as the guide's Setup section starts it, on a free port."""
    data = os.path.join(work, "tollgate-data")
    port = free_port()
    err = open(os.path.join(work, "server.stderr"), "w+")
    out = open(os.path.join(work, "server.log"), "w")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOLLGATE_")}
    env.update({"TOLLGATE_WEBHOOK_ALLOW_LOOPBACK": "true"})
    proc = subprocess.Popen([TOLLGATE, "serve", "--listen", "127.0.0.1:%d" % port, "--data-dir", data],
                            stdout=out, stderr=err, env=env)
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
    key = re.search(r"\btgk_[A-Za-z0-9]+", err.read())
    if not key:
        proc.kill()
        sys.exit("no admin key on the server's stderr")
    return proc, url, key.group(0), data


def exported(state_file, base_env):
    """The environment after the bash blocks so far."""
    if not os.path.exists(state_file):
        return dict(base_env)
    out = subprocess.run(["bash", "-c", 'source "$1" >/dev/null 2>&1; env -0', "_", state_file],
                         env=base_env, capture_output=True, check=True)
    return dict(item.split("=", 1) for item in out.stdout.decode().split("\0") if "=" in item)


def run_block(language, argument, code, work, env, state_file):
    if language == "bash":
        script = 'set -a\n[ -f "$GUIDE_STATE" ] && source "$GUIDE_STATE"\n%s\nexport -p > "$GUIDE_STATE"\n' % code
        return subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=work, env=env,
                              capture_output=True, text=True, timeout=120)
    env = exported(state_file, env)
    if language == "python":
        return subprocess.run([PYTHON, "-c", code], cwd=work, env=env, capture_output=True, text=True, timeout=120)
    if language in ("js", "javascript"):
        path = os.path.join(work, "example.mjs")
        with open(path, "w") as f:
            f.write(code)
        return subprocess.run(["node", path], cwd=work, env=env, capture_output=True, text=True, timeout=120)
    if language == "rust":
        source = os.path.join(ROOT, "crates", "tollgate-client", argument or "")
        if not argument or not os.path.isfile(source):
            return failed("rust block names no example file (```rust test:examples/NAME.rs)")
        with open(source) as f:
            if f.read().rstrip() != code.rstrip():
                return failed("differs from crates/tollgate-client/%s: quote the file verbatim" % argument)
        binary = os.path.join(EXAMPLES, os.path.splitext(os.path.basename(argument))[0])
        if not os.path.exists(binary):
            return failed("no example binary at %s: cargo build -p tollgate-client --examples" % binary)
        args = shlex.split(env.get("EXAMPLE_ARGS", ""))
        return subprocess.run([binary, *args], cwd=work, env=env, capture_output=True, text=True, timeout=120)
    return failed("unknown language " + language)


def failed(message):
    return subprocess.CompletedProcess([], 1, "", message)


def main():
    with open(GUIDE) as f:
        text = f.read()
    for placeholder in ("[Service Name]", "[Your", "TBD", "TODO", "{{"):
        if placeholder in text:
            sys.exit("INTEGRATION.md still contains the placeholder %r" % placeholder)
    tested = blocks(text)
    work = tempfile.mkdtemp(prefix="tollgate-guide-")
    node_modules = os.path.join(work, "node_modules", "@tollgate")
    os.makedirs(node_modules)
    os.symlink(os.path.join(ROOT, "sdk", "node"), os.path.join(node_modules, "sdk"))
    proc, url, admin, data = start_server(work)
    state_file = os.path.join(work, "state.sh")
    env = dict(os.environ)
    env.update({"TOLLGATE_ENDPOINT": url, "TOLLGATE_URL": url, "TOLLGATE_API_KEY": admin,
                "TOLLGATE_DATA_DIR": data, "GUIDE_STATE": state_file,
                "PATH": os.path.dirname(os.path.abspath(TOLLGATE)) + os.pathsep + env.get("PATH", "")})
    for k in ("TOLLGATE_CLIENT_ID", "TOLLGATE_CLIENT_SECRET"):
        env.pop(k, None)
    passed = failures = 0
    try:
        for line, language, argument, code in tested:
            result = run_block(language, argument, code, work, env, state_file)
            label = "INTEGRATION.md:%d %s" % (line, language)
            if result.returncode == 0:
                passed += 1
                print("ok   " + label, flush=True)
            else:
                failures += 1
                print("FAIL %s (exit %s)\n--- stdout\n%s--- stderr\n%s" % (
                    label, result.returncode, result.stdout, result.stderr), flush=True)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    if len(tested) < MIN_BLOCKS:
        print("only %d tested blocks in INTEGRATION.md, expected at least %d" % (len(tested), MIN_BLOCKS))
        failures += 1
    print("guide: %d passed, %d failed" % (passed, failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
