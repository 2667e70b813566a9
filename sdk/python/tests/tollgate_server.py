"""Runs the real `tollgate serve` (TOLLGATE_BIN) for the tests, on a random port with a throwaway
data directory, and makes credentials on it through the admin API and the CLI. Deliberately uses
plain httpx rather than the SDK, so a bug in the SDK cannot hide in the test setup."""

from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
import threading
import time
from typing import Any

import httpx

DEFAULT_BIN = os.path.expanduser("~/.cache/tollgate/target/debug/tollgate")


def tollgate_bin() -> str:
    return os.environ.get("TOLLGATE_BIN") or DEFAULT_BIN


class TollgateServer:
    def __init__(self, env: dict[str, str] | None = None) -> None:
        self.bin = tollgate_bin()
        if not os.access(self.bin, os.X_OK):
            raise RuntimeError(f"no tollgate binary at {self.bin}: build it or set TOLLGATE_BIN")
        self._dir = tempfile.TemporaryDirectory(prefix="tollgate-sdk-py-")
        self.data_dir = self._dir.name
        self.url = ""
        self.admin_key = ""
        self._listening = threading.Event()
        self._key_found = threading.Event()
        self._extra_env = dict(env or {})
        self._spawn("127.0.0.1:0")
        try:
            self._wait_until_ready()
        except BaseException:
            self.stop()
            raise

    def _spawn(self, listen: str) -> None:
        self.proc = subprocess.Popen(
            [self.bin, "serve", "--listen", listen, "--data-dir", self.data_dir, "--log-format", "json"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**self._env(), **self._extra_env},
        )
        threading.Thread(target=self._read_stdout, daemon=True).start()
        threading.Thread(target=self._read_stderr, daemon=True).start()

    def restart(self) -> None:
        """`kill -9`, then the binary again on the same port and data directory: a crash that
        clients at the same URL must ride out."""
        self.proc.kill()
        self.proc.wait(timeout=10)
        self._listening.clear()
        self._spawn(self.url.removeprefix("http://"))
        self._listening.set()  # the address is known; /health says when it is up
        self._wait_until_ready()

    @staticmethod
    def _env() -> dict[str, str]:
        """The caller's environment without its TOLLGATE_* settings, and with no rate limits:
        the suite makes far more writes than the default 100 per hour. The rate-limit tests give
        their own key a small limit instead."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("TOLLGATE_")}
        env["TOLLGATE_RATE_LIMIT_READ"] = "unlimited"
        env["TOLLGATE_RATE_LIMIT_WRITE"] = "unlimited"
        return env

    def _read_stdout(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if event.get("message") == "listening" and not self.url:
                self.url = "http://" + event["address"]
                self._listening.set()

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            match = re.search(r"(?<!\S)tgk_[A-Za-z0-9]+", line)
            if match and not self.admin_key:
                self.admin_key = match.group(0)
                self._key_found.set()

    def _wait_until_ready(self) -> None:
        if not self._listening.wait(30):
            raise RuntimeError("tollgate did not log `listening` within 30 s")
        if not self._key_found.wait(10):
            raise RuntimeError("tollgate printed no admin key")
        deadline = time.monotonic() + 10
        while True:
            try:
                if httpx.get(self.url + "/health", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("GET /health never answered 200")
            time.sleep(0.05)

    def create_key(self, scopes: list[str], limits: dict[str, str] | None = None) -> str:
        body: dict[str, Any] = {"name": "sdk-test", "scopes": scopes, "expires_in": "1d"}
        if limits:
            body["limits"] = limits
        response = httpx.post(self.url + "/v1/keys", json=body, headers={"X-API-Key": self.admin_key}, timeout=10)
        response.raise_for_status()
        secret: str = response.json()["secret"]
        return secret

    def create_oauth_client(self, scopes: list[str]) -> tuple[str, str]:
        """Through the CLI, as an operator would; accepts the id at the top level or under `client`."""
        out = subprocess.run(
            [self.bin, "--data-dir", self.data_dir, "clients", "create", "--name", "sdk-test",
             "--scopes", ",".join(scopes), "--output", "json"],
            check=True, capture_output=True, text=True, env=self._env(), timeout=30,
        ).stdout
        body = json.loads(out)
        client_id = body.get("client_id") or body.get("client", {}).get("client_id")
        secret = body.get("client_secret") or body.get("secret")
        assert client_id and secret, f"unexpected `clients create` output: {out}"
        return client_id, secret

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)
        self._dir.cleanup()
