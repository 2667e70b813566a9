"""The events API and the live stream with the async client against the real server: listing,
live events, resuming across a `kill -9` and restart without a gap or a duplicate, and 410."""

from __future__ import annotations

import time
from collections.abc import Iterator

import anyio
import pytest

from tollgate import AsyncClient, GoneError
from tollgate_server import TollgateServer

pytestmark = pytest.mark.anyio

ANCIENT_EVENT = "evt_000000YGJ00000000000000007"


async def all_ids(client: AsyncClient, **filters: str) -> list[str]:
    return [e.id async for e in client.events.iter(order="oldest", **filters)]


@pytest.fixture
def own_server(request: pytest.FixtureRequest) -> Iterator[TollgateServer]:
    srv = TollgateServer(env=getattr(request, "param", None))
    yield srv
    srv.stop()


async def test_list_get_and_live_stream(async_client: AsyncClient, kind: str) -> None:
    client = async_client
    got = []

    async def write() -> None:
        await anyio.sleep(0.3)
        for i in range(3):
            await client.create_resource(f"live-{i}", kind)

    async with anyio.create_task_group() as tg:
        tg.start_soon(write)
        with anyio.fail_after(10):
            async with client.events.stream(resource_type=kind, type="resource.created") as stream:
                async for event in stream:
                    got.append(event)
                    if len(got) == 3:
                        break
    assert [e.id for e in got] == await all_ids(client, resource_type=kind)
    page = await client.events.list(resource_type=kind, limit=2, order="oldest")
    assert [e.data["name"] for e in page.items] == ["live-0", "live-1"]
    assert await client.events.get(page.items[0].id) == page.items[0]


async def test_stream_survives_a_server_restart_without_gap_or_duplicate(own_server: TollgateServer) -> None:
    srv = own_server
    async with AsyncClient(srv.admin_key, endpoint=srv.url) as client:
        for i in range(4):
            await client.create_resource(f"before-{i}", "machine")
        first = (await all_ids(client))[0]
        seen = [first]
        async with client.events.stream(last_event_id=first) as stream:
            for _ in range(3):
                seen.append((await anext(stream)).id)
            await anyio.to_thread.run_sync(srv.restart)
            for i in range(3):
                await client.create_resource(f"after-{i}", "machine")

            async def write() -> None:
                await anyio.sleep(0.5)
                for i in range(3):
                    await client.create_resource(f"live-{i}", "machine")

            async with anyio.create_task_group() as tg:
                tg.start_soon(write)
                with anyio.fail_after(30):
                    while len(seen) < 10:
                        seen.append((await anext(stream)).id)
        assert seen == await all_ids(client), "every event once, in commit order"


@pytest.mark.parametrize("own_server", [{"TOLLGATE_EVENT_RETENTION": "1h"}], indirect=True)
async def test_gone_is_raised_once_without_reconnecting(own_server: TollgateServer) -> None:
    async with AsyncClient(own_server.admin_key, endpoint=own_server.url) as client:
        stream = client.events.stream(last_event_id=ANCIENT_EVENT)
        started = time.monotonic()
        with pytest.raises(GoneError):
            await anext(stream)
        assert time.monotonic() - started < 2
        assert [e async for e in stream] == []
