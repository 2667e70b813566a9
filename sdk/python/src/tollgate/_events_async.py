"""`client.events` of the asynchronous client: the events API and the live stream."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from types import TracebackType
from typing import TYPE_CHECKING

import anyio
import httpx

from . import _events as ev
from ._events import Event, EventOrder, EventPage
from ._http import connection_error
from .errors import TollgateError, error_from_response

if TYPE_CHECKING:
    from .async_client import AsyncClient


class AsyncEvents:
    """The events of the client's project: `list`, `iter`, `get` and the live `stream`.

    Every method takes the filters `type` (one type or several, e.g. `resource.updated`),
    `resource_id`, `resource_type`, `after` and `before` (aware datetimes or RFC 3339 strings).
    """

    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    async def list(
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
        return await self._client._run(ev.list_events(filters, order=order, limit=limit, cursor=cursor))

    async def iter(
        self,
        *,
        type: str | Sequence[str] | None = None,
        resource_id: str | None = None,
        resource_type: str | None = None,
        after: datetime | str | None = None,
        before: datetime | str | None = None,
        order: EventOrder | None = None,
        limit: int = 100,
    ) -> AsyncIterator[Event]:
        """Every matching event, page by page by cursor."""
        cursor: str | None = None
        while True:
            page = await self.list(
                type=type, resource_id=resource_id, resource_type=resource_type, after=after, before=before,
                order=order, limit=limit, cursor=cursor,
            )
            for event in page.items:
                yield event
            if not page.has_next or not page.next_cursor:
                return
            cursor = page.next_cursor

    async def get(self, event_id: str) -> Event:
        return await self._client._run(ev.get_event(event_id))

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
    ) -> AsyncEventStream:
        """The live events from now (or after `last_event_id`), as an iterator that reconnects
        and resumes by itself; see `EventStream`. Connects on the first `next()`."""
        filters = ev.filter_params(
            type=type, resource_id=resource_id, resource_type=resource_type, after=after, before=before
        )
        return AsyncEventStream(self._client, filters, last_event_id, max_reconnects, idle_timeout)


class AsyncEventStream(AsyncIterator[Event]):
    """An iterator of live events that outlives connections: after a drop, an end or
    `idle_timeout` seconds of silence it reconnects with backoff and resumes after
    `last_event_id` (the last event it yielded). Raises GoneError (410: events after that id are
    no longer kept) or any other refusal once, without reconnecting; a 429 waits at least its
    Retry-After. `await aclose()` (or leaving an `async with` block) closes the connection."""

    def __init__(
        self,
        client: AsyncClient,
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
        self._chunks: AsyncIterator[bytes] | None = None
        self._closed = False

    def __aiter__(self) -> AsyncEventStream:
        return self

    async def __anext__(self) -> Event:
        while not self._closed:
            sse = self._parser.next_event()
            if sse is not None:
                try:
                    event = ev.decode(sse)
                except TollgateError:
                    await self.aclose()
                    raise
                self.last_event_id = event.id
                self._reconnect.after_event()
                return event
            if self._chunks is None:
                try:
                    await self._connect()
                except TollgateError as error:
                    wait = self._reconnect.after_error(error)
                    if wait is None:
                        await self.aclose()
                        raise
                    await anyio.sleep(wait)
                continue
            try:
                self._parser.feed(await anext(self._chunks))
                continue
            except (StopAsyncIteration, httpx.TransportError):
                pass  # ended by the server (shutdown; too far behind), broken, or silent
            await self._drop()
            await anyio.sleep(self._reconnect.after_drop())
        raise StopAsyncIteration

    async def _connect(self) -> None:
        client = self._client
        renewed = False
        while True:
            auth = await client._auth_headers()
            request = ev.stream_request(
                client._http, self._filters, self.last_event_id, auth,
                timeout=client._settings.timeout, idle_timeout=self._idle_timeout,
            )
            try:
                response = await client._http.send(request, stream=True)
            except httpx.TransportError as exc:
                raise connection_error(exc) from exc
            if response.is_success:
                self._response, self._chunks = response, response.aiter_bytes()
                self._parser = ev.SseParser()
                return
            await response.aread()
            await response.aclose()
            if response.status_code == 401 and client.uses_oauth and not renewed:
                client._tokens.invalidate(auth["Authorization"].removeprefix("Bearer "))
                renewed = True
                continue
            raise error_from_response(response)

    async def _drop(self) -> None:
        if self._response is not None:
            await self._response.aclose()
        self._response, self._chunks = None, None

    async def aclose(self) -> None:
        """Stops: closes the connection; the iterator ends."""
        self._closed = True
        await self._drop()

    async def __aenter__(self) -> AsyncEventStream:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()
