"""What one SDK call sends, independent of sync or async: a `Call` is built once per method
call (so its Idempotency-Key is fixed across retries) and sent by either client."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import httpx

from ._retry import is_replayable
from ._version import __version__
from .errors import APIConnectionError, APITimeoutError

T = TypeVar("T")

USER_AGENT = f"tollgate-python/{__version__}"

logger = logging.getLogger("tollgate")
"""The SDK's logger: DEBUG for every response, WARNING for each retry and each deprecation."""


@dataclass(frozen=True, slots=True)
class Call(Generic[T]):
    """One logical request and how to read its successful response."""

    method: str
    path: str
    parse: Callable[[httpx.Response], T]
    params: Sequence[tuple[str, str]] = ()
    headers: Mapping[str, str] = field(default_factory=dict)
    content: bytes | None = None
    authenticate: bool = True
    """False for the token endpoint, which authenticates with the client secret instead."""
    replayable: bool | None = None
    """Overrides the method/Idempotency-Key rule (the token request has no side effect)."""

    @property
    def may_replay(self) -> bool:
        if self.replayable is not None:
            return self.replayable
        return is_replayable(self.method, self.headers)


def json_body(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def parse_json(response: httpx.Response) -> Any:
    """The decoded body, or None for an empty one (204)."""
    return response.json() if response.content else None


def default_headers() -> dict[str, str]:
    return {"User-Agent": USER_AGENT, "Accept": "application/json"}


def build_request(http: httpx.Client | httpx.AsyncClient, call: Call[Any], auth: Mapping[str, str]) -> httpx.Request:
    return http.build_request(
        call.method,
        call.path,
        params=list(call.params) or None,
        headers={**call.headers, **auth},
        content=call.content,
    )


def never_sent(exc: httpx.TransportError) -> bool:
    """True when the request cannot have reached the server, so even a POST may be resent."""
    return isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout))


def connection_error(exc: httpx.TransportError) -> APIConnectionError:
    """The error for a request that got no answer, naming the URL it was sent to."""
    try:
        url = f" ({exc.request.method} {exc.request.url.copy_with(query=None)})"
    except RuntimeError:  # no request attached
        url = ""
    if isinstance(exc, httpx.TimeoutException):
        return APITimeoutError(f"request timed out{url}: {exc or type(exc).__name__}")
    return APIConnectionError(f"connection failed{url}: {exc or type(exc).__name__}")


def log_response(call: Call[Any], response: httpx.Response, started: float) -> None:
    """One debug line per response: method, path, status, request id and duration (never a
    header value or a body, which may hold secrets)."""
    if logger.isEnabledFor(logging.DEBUG):
        logger.debug(
            "%s %s -> %s (request_id=%s, %.1f ms)", call.method, call.path, response.status_code,
            response.headers.get("x-request-id"), (time.monotonic() - started) * 1000,
        )


def log_retry(call: Call[Any], error: Exception, wait: float, retry: int) -> None:
    """One warning per retry: why, and how long the client waits first."""
    logger.warning("%s %s: retry %d in %.2f s after %s", call.method, call.path, retry + 1, wait, error)


def warn_deprecation(call: Call[Any], response: httpx.Response) -> None:
    """Once per process and endpoint: the server said this call is deprecated (RFC 9745)."""
    deprecation = response.headers.get("deprecation")
    if deprecation is None:
        return
    key = (call.method, call.path)
    if key in _warned:
        return
    _warned.add(key)
    sunset = response.headers.get("sunset")
    link = response.headers.get("link")
    logger.warning(
        "%s %s is deprecated (Deprecation: %s%s%s)", call.method, call.path, deprecation,
        f"; Sunset: {sunset}" if sunset else "", f"; see {link}" if link else "",
    )


_warned: set[tuple[str, str]] = set()
