"""Starts a real `tollgate serve` (TOLLGATE_BIN) on a random port with a temporary data dir,
and hands tests its URL, admin key and a fresh OAuth client."""

import json
import os
import re
import subprocess
import tempfile
import threading
import time

import pytest
import requests

BIN = os.environ.get("TOLLGATE_BIN", os.path.expanduser("~/.cache/tollgate/target/debug/tollgate"))


class Server:
    def __init__(self, env=None):
        self.dir = tempfile.TemporaryDirectory()
        self.extra_env = dict(env or {})
        self.admin_key = None
        self.start()

    def start(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith("TOLLGATE_")}
        env.update(self.extra_env)
        self.proc = subprocess.Popen(
            [BIN, "serve", "--listen", "127.0.0.1:0", "--log-format", "json", "--data-dir", self.dir.name],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        )
        self.url = None
        found = threading.Event()

        def read_stdout():
            for line in self.proc.stdout:
                try:
                    event = json.loads(line)
                except ValueError:
                    continue
                if event.get("message") == "listening":
                    self.url = "http://" + event["address"]
                    found.set()

        def read_stderr():
            for line in self.proc.stderr:
                m = re.search(r"\btgk_[A-Za-z0-9]+", line)
                if m and not self.admin_key:
                    self.admin_key = m.group(0)

        threading.Thread(target=read_stdout, daemon=True).start()
        threading.Thread(target=read_stderr, daemon=True).start()
        if not found.wait(20):
            self.stop()
            raise RuntimeError("tollgate did not start")
        deadline = time.time() + 10
        while time.time() < deadline and not self.admin_key:
            time.sleep(0.02)
        assert self.admin_key, "no admin key printed"
        if self.extra_env.get("TOLLGATE_RATE_LIMIT_WRITE") == "unlimited":
            # The first admin key carries limits of its own (10000/h), which the server's
            # defaults do not lift: a fuzzing run asked for no limits at all.
            me = requests.get(self.url + "/v1/usage", headers={"X-API-Key": self.admin_key}, timeout=10).json()
            requests.patch(self.url + "/v1/keys/" + me["credential"], headers={"X-API-Key": self.admin_key},
                           json={"limits": {"read": "unlimited", "write": "unlimited"}}, timeout=10).raise_for_status()

    def create_client(self, scopes):
        r = requests.post(
            self.url + "/v1/clients",
            headers={"X-API-Key": self.admin_key},
            json={"name": "interop", "scopes": scopes},
            timeout=10,
        )
        r.raise_for_status()
        body = r.json()
        return body["client_id"], body["client_secret"]

    def kill(self):
        self.proc.kill()
        self.proc.wait()

    def stop(self):
        self.kill()
        self.dir.cleanup()

    def call(self, method, path, json_body=None):
        return requests.request(method, self.url + path, headers={"X-API-Key": self.admin_key}, json=json_body, timeout=10)


@pytest.fixture(scope="module")
def server():
    s = Server()
    yield s
    s.stop()
