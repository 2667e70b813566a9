"""What the sync and async events APIs share: the models, the `GET /v1/events` calls, a
Server-Sent Events parser and the stream's reconnect policy (pure code; the clients only differ
in how they wait and read).

The stream reconnects after a drop, an end or `idle_timeout` seconds of silence (the server
sends a keep-alive comment every 15 s), with backoff and full jitter, and resumes after the id
of the last event it yielded (`Last-Event-ID`), so the server replays what was missed: no gap,
no duplicate. A 429 waits at least its `Retry-After`; `410 GONE` (the id is older than the
retention) and every other refusal end the stream by raising the typed error.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal
from urllib.parse import quote

import httpx

from ._http import Call
from ._operations import _comma_list, _rfc3339
from ._retry import RetryPolicy, is_transient
from .errors import TollgateError
from .models import _JsonMapping

EventOrder = Literal["newest", "oldest"]

DEFAULT_IDLE_TIMEOUT = 45.0
"""Three missed keep-alives: the connection is dead even if no error says so."""


@dataclass(frozen=True, slots=True)
class Event(_JsonMapping):
    """One change: the webhook payload with its id. `type` is e.g. `resource.created`; `data`
    the resource (for `resource.deleted`, its id)."""

    id: str
    type: str
    timestamp: datetime
    data: Any
    _json: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> Event:
        return cls(
            id=body["id"],
            type=body["type"],
            timestamp=datetime.fromisoformat(body["timestamp"]),
            data=body.get("data"),
            _json=dict(body),
        )


@dataclass(frozen=True, slots=True)
class EventPage(_JsonMapping):
    """One page of events; `next_cursor` is None on the last page."""

    items: list[Event] = field(default_factory=list)
    has_next: bool = False
    next_cursor: str | None = None
    _json: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> EventPage:
        return cls(
            items=[Event.from_json(e) for e in body.get("items") or []],
            has_next=bool(body.get("has_next")),
            next_cursor=body.get("next_cursor"),
            _json=dict(body),
        )


def filter_params(
    *,
    type: str | Sequence[str] | None,
    resource_id: str | None,
    resource_type: str | None,
    after: datetime | str | None,
    before: datetime | str | None,
) -> list[tuple[str, str]]:
    """The query of the filters shared by the listing and the stream."""
    params: list[tuple[str, str]] = []
    if type is not None:
        params.append(("type", _comma_list("type", type)))
    if resource_id is not None:
        params.append(("resource_id", resource_id))
    if resource_type is not None:
        params.append(("resource_type", resource_type))
    if after is not None:
        params.append(("after", _rfc3339("after", after)))
    if before is not None:
        params.append(("before", _rfc3339("before", before)))
    return params


def list_events(
    filters: list[tuple[str, str]], *, order: EventOrder | None, limit: int | None, cursor: str | None
) -> Call[EventPage]:
    params = list(filters)
    if order is not None:
        if order not in ("newest", "oldest"):
            raise ValueError('order must be "newest" or "oldest"')
        params.append(("order", order))
    if limit is not None:
        params.append(("limit", str(limit)))
    if cursor is not None:
        params.append(("cursor", cursor))
    return Call("GET", "/v1/events", lambda r: EventPage.from_json(r.json()), params=params)


def get_event(event_id: str) -> Call[Event]:
    if not event_id:
        raise ValueError("event_id must not be empty")
    return Call("GET", "/v1/events/" + quote(event_id, safe=""), lambda r: Event.from_json(r.json()))


def stream_request(
    http: httpx.Client | httpx.AsyncClient,
    filters: list[tuple[str, str]],
    last_event_id: str | None,
    auth: Mapping[str, str],
    *,
    timeout: float,
    idle_timeout: float,
) -> httpx.Request:
    """The stream's request: the connect and headers bounded by the client's timeout, each read
    by `idle_timeout` (the body itself may stay open for days)."""
    headers = {"Accept": "text/event-stream", **auth}
    if last_event_id:
        headers["Last-Event-ID"] = last_event_id
    return http.build_request(
        "GET",
        "/v1/events/stream",
        params=filters or None,
        headers=headers,
        timeout=httpx.Timeout(timeout, read=idle_timeout),
    )


@dataclass(slots=True)
class SseEvent:
    id: str | None = None
    event: str | None = None
    data: list[str] = field(default_factory=list)


class SseParser:
    """Incremental `text/event-stream` parsing: lines end in LF, CRLF or CR; a blank line ends
    an event; `:` starts a comment (the keep-alive); several `data:` lines join with LF."""

    def __init__(self) -> None:
        self._buf = ""
        self._after_cr = False
        self._current = SseEvent()
        self._ready: deque[SseEvent] = deque()

    def feed(self, chunk: bytes | str) -> None:
        text = chunk.decode("utf-8", errors="replace") if isinstance(chunk, bytes) else chunk
        for ch in text:
            if self._after_cr:
                self._after_cr = False
                if ch == "\n":
                    continue
            if ch in "\r\n":
                self._after_cr = ch == "\r"
                line, self._buf = self._buf, ""
                self._line(line)
            else:
                self._buf += ch

    def next_event(self) -> SseEvent | None:
        return self._ready.popleft() if self._ready else None

    def _line(self, line: str) -> None:
        if not line:
            event, self._current = self._current, SseEvent()
            if event.data:
                self._ready.append(event)
            return
        if line.startswith(":"):
            return
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "id" and "\0" not in value:
            self._current.id = value
        elif name == "event":
            self._current.event = value
        elif name == "data":
            self._current.data.append(value)


def decode(sse: SseEvent) -> Event:
    """The event in `data:`; the SSE `id:` and `event:` fill in when the JSON lacks them."""
    try:
        body = json.loads("\n".join(sse.data))
    except ValueError as exc:
        raise TollgateError(f"event data is not JSON: {exc}", code="DECODE") from exc
    if isinstance(body, dict):
        if sse.id is not None:
            body.setdefault("id", sse.id)
        if sse.event is not None:
            body.setdefault("type", sse.event)
    try:
        return Event.from_json(body)
    except (KeyError, TypeError, ValueError) as exc:
        raise TollgateError(f"unexpected event: {exc!r}", code="DECODE") from exc


class Reconnect:
    """The stream's reconnect schedule: the retry policy's backoff, counted since the last
    event; `max_reconnects` failed reconnects in a row (None: unlimited) give up."""

    def __init__(self, policy: RetryPolicy, max_reconnects: int | None) -> None:
        self.policy = policy
        self.max_reconnects = max_reconnects
        self.failures = 0

    def after_event(self) -> None:
        self.failures = 0

    def after_drop(self) -> float:
        """The wait before reconnecting a connection that broke or ended: always reconnects."""
        wait = self.policy.backoff(self.failures)
        self.failures += 1
        return wait

    def after_error(self, error: TollgateError) -> float | None:
        """The wait before retrying a refused or failed connect, or None to raise `error`."""
        if not is_transient(error):
            return None
        if self.max_reconnects is not None and self.failures >= self.max_reconnects:
            return None
        wait = self.policy.backoff(self.failures)
        self.failures += 1
        retry_after = getattr(error, "retry_after", None)
        return max(wait, retry_after) if retry_after is not None else wait
