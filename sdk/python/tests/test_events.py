"""The events API and the live stream (sync client) against the real server: filters and
paging, live events, resuming across a `kill -9` and restart without a gap or a duplicate,
410 GONE raised without a reconnect, and a 429's Retry-After honoured."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from tollgate import Client, Event, GoneError, NotFoundError, RateLimitError, ValidationError
from tollgate_server import TollgateServer

ANCIENT_EVENT = "evt_000000YGJ00000000000000007"
"""An event id minted in 1970: older than any retention."""


def all_ids(client: Client, **filters: str) -> list[str]:
    return [e.id for e in client.events.iter(order="oldest", **filters)]


def later(seconds: float, action: object) -> threading.Thread:
    """Runs `action` in `seconds` on a thread, while the test blocks on the stream."""

    def run() -> None:
        time.sleep(seconds)
        action()  # type: ignore[operator]

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


@pytest.fixture
def own_server(request: pytest.FixtureRequest) -> Iterator[TollgateServer]:
    srv = TollgateServer(env=getattr(request, "param", None))
    yield srv
    srv.stop()


def test_list_get_filters_and_iter(client: Client, kind: str) -> None:
    first = client.create_resource("a", kind)
    client.create_resource("b", kind)
    client.delete_resource(first.id)
    page = client.events.list(resource_type=kind, limit=2)
    assert [e.type for e in page.items] == ["resource.deleted", "resource.created"]
    assert page.has_next and page.next_cursor
    assert client.events.get(page.items[1].id) == page.items[1]
    assert page.items[1]["data"]["type"] == kind  # also reads as the JSON document
    about = client.events.list(resource_id=first.id, order="oldest")
    assert [e.type for e in about.items] == ["resource.created", "resource.deleted"]
    created = client.events.list(resource_type=kind, type=["resource.created"])
    assert len(created.items) == 2
    assert len(list(client.events.iter(resource_type=kind, limit=1))) == 3
    with pytest.raises(NotFoundError):
        client.events.get("evt_01JD3Z9T6W4X8Y2K5M7N9P1Q3R")
    with pytest.raises(ValidationError):
        client.events.list(after="yesterday")


def test_stream_yields_live_events_and_resumes_after_an_id(client: Client, kind: str) -> None:
    later(0.3, lambda: [client.create_resource(f"live-{i}", kind) for i in range(3)])
    with client.events.stream(resource_type=kind) as stream:
        got = [next(stream) for _ in range(3)]
    assert all(isinstance(e, Event) for e in got)
    assert [e.id for e in got] == all_ids(client, resource_type=kind)
    assert got[0].data["name"] == "live-0"
    assert stream.last_event_id == got[-1].id
    with pytest.raises(StopIteration):
        next(stream)  # closed

    resumed = client.events.stream(resource_type=kind, last_event_id=got[0].id)
    assert [next(resumed).id for _ in range(2)] == [e.id for e in got[1:]]
    resumed.close()


def test_stream_survives_a_server_restart_without_gap_or_duplicate(own_server: TollgateServer) -> None:
    srv = own_server
    with Client(srv.admin_key, endpoint=srv.url) as client:
        for i in range(4):
            client.create_resource(f"before-{i}", "machine")
        first = all_ids(client)[0]
        stream = client.events.stream(last_event_id=first)
        seen = [first] + [next(stream).id for _ in range(3)]

        srv.restart()
        for i in range(3):  # written while the stream is away: replayed on reconnect
            client.create_resource(f"after-{i}", "machine")
        writer = later(0.5, lambda: [client.create_resource(f"live-{i}", "machine") for i in range(3)])
        for event in stream:
            seen.append(event.id)
            if len(seen) == 10:
                break
        writer.join()
        stream.close()
        assert seen == all_ids(client), "every event once, in commit order"


@pytest.mark.parametrize("own_server", [{"TOLLGATE_EVENT_RETENTION": "1h"}], indirect=True)
def test_gone_is_raised_once_without_reconnecting(own_server: TollgateServer) -> None:
    with Client(own_server.admin_key, endpoint=own_server.url) as client:
        stream = client.events.stream(last_event_id=ANCIENT_EVENT)
        started = time.monotonic()
        with pytest.raises(GoneError) as caught:
            next(stream)
        assert caught.value.status == 410 and caught.value.code == "GONE"
        assert time.monotonic() - started < 2
        assert list(stream) == [], "the stream ends after 410"


@pytest.mark.parametrize("own_server", [{"TOLLGATE_EVENT_STREAMS_PER_CREDENTIAL": "1"}], indirect=True)
def test_too_many_streams_waits_for_retry_after_and_close_frees_the_slot(own_server: TollgateServer) -> None:
    with Client(own_server.admin_key, endpoint=own_server.url) as client:
        holder = client.events.stream()
        later(0.3, lambda: client.create_resource("first", "machine"))
        assert next(holder).data["name"] == "first"  # holder now holds the one slot

        with pytest.raises(RateLimitError) as caught:
            next(client.events.stream(max_reconnects=0))
        assert caught.value.retry_after == 5

        later(0.5, holder.close)  # stopping frees the slot on the server
        later(6.5, lambda: client.create_resource("after-the-wait", "machine"))
        started = time.monotonic()
        with client.events.stream() as waiting:
            event = next(waiting)
        assert time.monotonic() - started >= 5, "Retry-After honoured"
        assert event.data["name"] == "after-the-wait"


def test_sse_parser_handles_any_split_comments_and_line_endings() -> None:
    from tollgate._events import SseParser, decode

    whole = (
        b": keep-alive\n\nid: evt_1\nevent: resource.created\ndata: {\"timestamp\":\"2026-01-01T00:00:00Z\",\n"
        b"data: \"data\":{}}\n\nid:evt_2\r\nevent:x\r\ndata:{\"timestamp\":\"2026-01-01T00:00:00Z\"}\r\n\r\n"
    )
    for size in (len(whole), 1, 7):
        parser = SseParser()
        events = []
        for i in range(0, len(whole), size):
            parser.feed(whole[i : i + size])
            while (sse := parser.next_event()) is not None:
                events.append(decode(sse))
        assert [(e.id, e.type) for e in events] == [("evt_1", "resource.created"), ("evt_2", "x")], size
