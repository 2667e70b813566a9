"""A local HTTP server that misbehaves on cue, to test the SDK's retries without timing luck.

Each request to an API path takes the next `Action` from the script (and a plain 200 with a
resource once the script is used up); `/oauth/token` issues numbered tokens. Every request is
recorded with its arrival time, headers and body.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs


@dataclass
class Action:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False
    """Close the connection without sending any response."""
    delay: float = 0.0
    """Sleep this long before answering (to trip the client's timeout)."""


def ok() -> Action:
    return Action(200, resource_body())


def error(status: int, code: str, headers: dict[str, str] | None = None, **details: Any) -> Action:
    body = {"error": {"code": code, "message": code.lower(), "details": details, "request_id": f"req_fault{status}"}}
    return Action(status, body, headers or {})


def drop() -> Action:
    return Action(drop=True)


def resource_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": "res_01JD3Z0000000000000000000",
        "name": "fault",
        "type": "machine",
        "status": "active",
        "attributes": {},
        "data": None,
        "created_at": "2026-01-01T00:00:00.000001Z",
        "updated_at": "2026-01-01T00:00:00.000001Z",
        "version": 1,
    }
    body.update(overrides)
    return body


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that timed out and left is expected here, not worth a traceback."""


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    """Names in lower case."""
    body: bytes
    at: float


class FaultServer:
    def __init__(self, script: list[Action] | None = None, *, token_lifetime: int = 3600) -> None:
        self.script = list(script or [])
        self.requests: list[Recorded] = []
        self.token_lifetime = token_lifetime
        self.token_script: list[Action] = []
        """Answers for `/oauth/token` before it starts issuing tokens."""
        self.tokens_issued = 0
        self._lock = threading.Lock()
        self._httpd = _QuietServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def api_requests(self) -> list[Recorded]:
        return [r for r in self.requests if not r.path.startswith("/oauth/")]

    def token_requests(self) -> list[Recorded]:
        return [r for r in self.requests if r.path.startswith("/oauth/")]

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> FaultServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _next(self, recorded: Recorded) -> Action:
        with self._lock:
            self.requests.append(recorded)
            if recorded.path.startswith("/oauth/token"):
                return self._token_action()
            return self.script.pop(0) if self.script else ok()

    def _token_action(self) -> Action:
        if self.token_script:
            return self.token_script.pop(0)
        self.tokens_issued += 1
        body = {
            "access_token": f"tok{self.tokens_issued}",
            "token_type": "Bearer",
            "expires_in": self.token_lifetime,
            "scope": "resource:read resource:write",
        }
        return Action(200, body)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # keep pytest output clean
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {name.lower(): value for name, value in self.headers.items()}
                recorded = Recorded(self.command, self.path, headers, body, time.monotonic())
                action = server._next(recorded)
                if action.delay:
                    time.sleep(action.delay)
                if action.drop:
                    self.close_connection = True
                    return
                payload = b"" if action.body is None else json.dumps(action.body).encode()
                self.send_response(action.status)
                for name, value in action.headers.items():
                    self.send_header(name, value)
                if payload:
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve

        return Handler


def basic_credentials(recorded: Recorded) -> tuple[str, str]:
    """The (id, secret) of an HTTP Basic header, still form-encoded."""
    scheme, _, encoded = recorded.headers["authorization"].partition(" ")
    assert scheme == "Basic"
    client_id, _, secret = base64.b64decode(encoded).decode().partition(":")
    return client_id, secret


def form(recorded: Recorded) -> dict[str, list[str]]:
    return parse_qs(recorded.body.decode())
