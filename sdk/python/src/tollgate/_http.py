"""What one SDK call sends, independent of sync or async: a `Call` is built once per method
call (so its Idempotency-Key is fixed across retries) and sent by either client."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import httpx

from ._retry import is_replayable
from ._version import __version__
from .errors import APIConnectionError, APITimeoutError

T = TypeVar("T")

USER_AGENT = f"tollgate-python/{__version__}"


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
    if isinstance(exc, httpx.TimeoutException):
        return APITimeoutError(f"request timed out: {exc or type(exc).__name__}")
    return APIConnectionError(f"connection failed: {exc or type(exc).__name__}")
