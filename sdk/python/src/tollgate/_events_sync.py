"""`client.events` of the synchronous client: the events API and the live stream."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from datetime import datetime
from types import TracebackType
from typing import TYPE_CHECKING

import httpx

from . import _events as ev
from ._events import Event, EventOrder, EventPage
from ._http import connection_error
from .errors import TollgateError, error_from_response

if TYPE_CHECKING:
    from .client import Client


class Events:
    """The events of the client's project: `list`, `iter`, `get` and the live `stream`.

    Every method takes the filters `type` (one type or several, e.g. `resource.updated`),
    `resource_id`, `resource_type`, `after` and `before` (aware datetimes or RFC 3339 strings).
    """

    def __init__(self, client: Client) -> None:
        self._client = client

    def list(
        self,
        *,
        type: str | Sequence[str] | None = None,
        resource_id: str | None = None,
        resource_type: str | None = None,
        after: datetime | str | None = None,
        before: datetime | str | None = None,
        order: EventOrder | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> EventPage:
        """One page, newest first unless `order="oldest"`; `limit` 1-100 (default 50);
        `cursor` the previous page's `next_cursor`."""
        filters = ev.filter_params(
            type=type, resource_id=resource_id, resource_type=resource_type, after=after, before=before
        )
        return self._client._run(ev.list_events(filters, order=order, limit=limit, cursor=cursor))

    def iter(
        self,
        *,
        type: str | Sequence[str] | None = None,
        resource_id: str | None = None,
        resource_type: str | None = None,
        after: datetime | str | None = None,
        before: datetime | str | None = None,
        order: EventOrder | None = None,
        limit: int = 100,
    ) -> Iterator[Event]:
        """Every matching event, page by page by cursor."""
        cursor: str | None = None
        while True:
            page = self.list(
                type=type, resource_id=resource_id, resource_type=resource_type, after=after, before=before,
                order=order, limit=limit, cursor=cursor,
            )
            yield from page.items
            if not page.has_next or not page.next_cursor:
                return
            cursor = page.next_cursor

    def get(self, event_id: str) -> Event:
        return self._client._run(ev.get_event(event_id))

    def stream(
        self,
        *,
        type: str | Sequence[str] | None = None,
        resource_id: str | None = None,
        resource_type: str | None = None,
        after: datetime | str | None = None,
        before: datetime | str | None = None,
        last_event_id: str | None = None,
        max_reconnects: int | None = None,
        idle_timeout: float = ev.DEFAULT_IDLE_TIMEOUT,
    ) -> EventStream:
        """The live events from now (or after `last_event_id`), as an iterator that reconnects
        and resumes by itself; see `EventStream`. Connects on the first `next()`."""
        filters = ev.filter_params(
            type=type, resource_id=resource_id, resource_type=resource_type, after=after, before=before
        )
        return EventStream(self._client, filters, last_event_id, max_reconnects, idle_timeout)


class EventStream(Iterator[Event]):
    """An iterator of live events that outlives connections: after a drop, an end or
    `idle_timeout` seconds of silence it reconnects with backoff and resumes after
    `last_event_id` (the last event it yielded). Raises GoneError (410: events after that id are
    no longer kept) or any other refusal once, without reconnecting; a 429 waits at least its
    Retry-After. `close()` (or leaving a `with` block, or dropping it) closes the connection."""

    def __init__(
        self,
        client: Client,
        filters: list[tuple[str, str]],
        last_event_id: str | None,
        max_reconnects: int | None,
        idle_timeout: float,
    ) -> None:
        self._client = client
        self._filters = filters
        self.last_event_id = last_event_id
        self._idle_timeout = idle_timeout
        self._reconnect = ev.Reconnect(client.retry_policy, max_reconnects)
        self._parser = ev.SseParser()
        self._response: httpx.Response | None = None
        self._chunks: Iterator[bytes] | None = None
        self._closed = False

    def __iter__(self) -> EventStream:
        return self

    def __next__(self) -> Event:
        while not self._closed:
            sse = self._parser.next_event()
            if sse is not None:
                try:
                    event = ev.decode(sse)
                except TollgateError:
                    self.close()
                    raise
                self.last_event_id = event.id
                self._reconnect.after_event()
                return event
            if self._chunks is None:
                try:
                    self._connect()
                except TollgateError as error:
                    wait = self._reconnect.after_error(error)
                    if wait is None:
                        self.close()
                        raise
                    time.sleep(wait)
                continue
            try:
                self._parser.feed(next(self._chunks))
                continue
            except (StopIteration, httpx.TransportError):
                pass  # ended by the server (shutdown; too far behind), broken, or silent
            self._drop()
            time.sleep(self._reconnect.after_drop())
        raise StopIteration

    def _connect(self) -> None:
        client = self._client
        renewed = False
        while True:
            auth = client._auth_headers()
            request = ev.stream_request(
                client._http, self._filters, self.last_event_id, auth,
                timeout=client._settings.timeout, idle_timeout=self._idle_timeout,
            )
            try:
                response = client._http.send(request, stream=True)
            except httpx.TransportError as exc:
                raise connection_error(exc) from exc
            if response.is_success:
                self._response, self._chunks = response, response.iter_bytes()
                self._parser = ev.SseParser()
                return
            response.read()
            response.close()
            if response.status_code == 401 and client.uses_oauth and not renewed:
                client._tokens.invalidate(auth["Authorization"].removeprefix("Bearer "))
                renewed = True
                continue
            raise error_from_response(response)

    def _drop(self) -> None:
        if self._response is not None:
            self._response.close()
        self._response, self._chunks = None, None

    def close(self) -> None:
        """Stops: closes the connection; the iterator ends."""
        self._closed = True
        self._drop()

    def __enter__(self) -> EventStream:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __del__(self) -> None:
        if getattr(self, "_response", None) is not None:
            self._drop()
