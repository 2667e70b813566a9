"""The async client: the same behaviour as the sync one, against the real server and the fault
server."""

from __future__ import annotations

import uuid

import pytest

from fault_server import FaultServer, drop, error, ok
from tollgate import (
    AsyncClient,
    AuthenticationError,
    NotFoundError,
    PreconditionFailedError,
    ServerError,
    ValidationError,
)
from tollgate_server import TollgateServer

pytestmark = pytest.mark.anyio

RES = "res_01JD3Z0000000000000000000"


async def test_crud_with_version_precondition(async_client: AsyncClient, kind: str) -> None:
    created = await async_client.create_resource("async", kind, attributes={"k": "v"}, data=[1, 2])
    assert (await async_client.get_resource(created.id)) == created
    updated = await async_client.update_resource(created.id, data={"n": 1}, if_version=1)
    assert updated.version == 2 and updated.data == {"n": 1}
    with pytest.raises(PreconditionFailedError):
        await async_client.update_resource(created.id, name="stale", if_version=1)
    await async_client.delete_resource(created.id)
    with pytest.raises(NotFoundError):
        await async_client.get_resource(created.id)


async def test_list_and_async_iteration(async_client: AsyncClient, kind: str) -> None:
    ids = [(await async_client.create_resource(f"n{i}", kind)).id for i in range(12)]
    page = await async_client.list_resources(type=kind, per_page=5, cursor="")
    assert [r.id for r in page.items] == ids[:5] and page.next_cursor
    assert [r.id async for r in async_client.iter_resources(type=kind, per_page=5)] == ids


async def test_typed_errors(server: TollgateServer, async_client: AsyncClient) -> None:
    with pytest.raises(ValidationError) as invalid:
        await async_client.create_resource("x", "Bad Type")
    assert "type" in invalid.value.details
    async with AsyncClient("tgk_nope", endpoint=server.url) as bad:
        with pytest.raises(AuthenticationError):
            await bad.get_resource(RES)


async def test_env_fallback(server: TollgateServer, kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOLLGATE_API_KEY", server.admin_key)
    monkeypatch.setenv("TOLLGATE_ENDPOINT", server.url)
    async with AsyncClient() as c:
        assert (await c.create_resource("env", kind)).type == kind


async def test_retries_429_503_and_drop_with_one_idempotency_key() -> None:
    script = [error(429, "RATE_LIMIT_EXCEEDED", {"Retry-After": "1"}), error(503, "SERVICE_UNAVAILABLE"), drop(), ok()]
    with FaultServer(script) as fault:
        async with AsyncClient("tgk_test", endpoint=fault.url, backoff_base=0.01, backoff_cap=0.05) as c:
            await c.create_resource("x", "machine")
        requests = fault.api_requests()
    assert len(requests) == 4
    assert requests[1].at - requests[0].at >= 1.0
    keys = {r.headers["idempotency-key"] for r in requests}
    assert len(keys) == 1 and uuid.UUID(keys.pop()).version == 4


async def test_max_retries_honoured() -> None:
    with FaultServer([error(500, "INTERNAL_ERROR")] * 4) as fault:
        async with AsyncClient("tgk_test", endpoint=fault.url, max_retries=2, backoff_base=0.01) as c:
            with pytest.raises(ServerError) as err:
                await c.get_resource(RES)
        assert len(fault.api_requests()) == 3
    assert err.value.code == "INTERNAL_ERROR"


async def test_patch_without_key_through_request_is_not_retried() -> None:
    with FaultServer([error(503, "SERVICE_UNAVAILABLE"), ok()]) as fault:
        async with AsyncClient("tgk_test", endpoint=fault.url, backoff_base=0.01) as c:
            with pytest.raises(ServerError):
                await c.request("PATCH", f"/v1/resource/{RES}", json={"name": "x"})
        assert len(fault.api_requests()) == 1
