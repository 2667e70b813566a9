"""Sorting, time ranges, sparse fieldsets, totals and atomic batches, against the real server."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest

from tollgate import (
    AsyncClient,
    BatchResult,
    Client,
    NotFoundError,
    PartialResource,
    PreconditionFailedError,
    Resource,
    ValidationError,
    batch_create,
    batch_delete,
    batch_update,
)


def test_sort_by_name_and_attribute_descending_with_cursors(client: Client, kind: str) -> None:
    made = [client.create_resource(n, kind, attributes={"rank": r}) for n, r in (("b", "2"), ("c", "1"), ("a", "3"))]
    by_name = client.list_resources(type=kind, sort="name")
    assert [r.name for r in by_name.items] == ["a", "b", "c"]
    by_rank = client.list_resources(type=kind, sort=["-attributes.rank", "name"])
    assert [r["attributes"]["rank"] for r in by_rank["items"]] == ["3", "2", "1"]
    # The pagination helper keeps the sort across cursor pages.
    assert [r.name for r in client.iter_resources(type=kind, per_page=1, sort="-name")] == ["c", "b", "a"]
    assert {r.id for r in made} == {r.id for r in by_name.items}


def test_time_ranges_accept_datetimes_and_strings(client: Client, kind: str) -> None:
    first = client.create_resource("first", kind)
    time.sleep(0.01)
    second = client.create_resource("second", kind)
    after_first = first.created_at + timedelta(microseconds=1)
    assert [r.id for r in client.list_resources(type=kind, created_after=after_first).items] == [second.id]
    assert [r.id for r in client.list_resources(type=kind, created_before=after_first.isoformat()).items] == [first.id]
    future = datetime.now(timezone.utc) + timedelta(hours=1)
    assert list(client.iter_resources(type=kind, updated_after=future)) == []
    with pytest.raises(ValueError, match="timezone-aware"):
        client.list_resources(created_after=datetime(2026, 1, 1))


def test_sparse_fieldsets_and_total(client: Client, kind: str) -> None:
    created = client.create_resource("sparse", kind, attributes={"region": "eu"}, data={"cpus": 4, "ram": 8})
    page = client.list_resources(type=kind, fields=["name", "attributes.region", "data.cpus"], include_total=True)
    assert page.total == 1 and page["total"] == 1
    (item,) = page.items
    assert isinstance(item, PartialResource)
    assert dict(item) == {"id": created.id, "name": "sparse", "attributes": {"region": "eu"}, "data": {"cpus": 4}}
    assert item.name == "sparse" and item["data"]["cpus"] == 4
    with pytest.raises(AttributeError, match="fields asked for"):
        _ = item.version
    assert client.list_resources(type=kind).total is None  # only when asked
    assert [r.id for r in client.iter_resources(type=kind, fields="name")] == [created.id]


def test_resource_and_page_read_like_mappings(client: Client, kind: str) -> None:
    created = client.create_resource("mapped", kind, attributes={"a": "1"})
    assert created["id"] == created.id and created["version"] == 1
    assert created["created_at"].endswith("Z") or "+" in created["created_at"]  # the wire string
    page = client.list_resources(type=kind)
    assert page["items"][0]["name"] == "mapped" and page["has_next"] is False
    assert set(created.keys()) >= {"id", "name", "type", "status", "attributes", "data", "version"}


def test_bad_query_parameters_name_the_parameter(client: Client) -> None:
    with pytest.raises(ValidationError) as err:
        client.list_resources(sort="colour")
    assert "sort" in err.value.fields
    assert "sort: unknown sort key" in str(err.value)


def test_batch_applies_every_operation_in_order(client: Client, kind: str) -> None:
    existing = client.create_resource("old", kind)
    doomed = client.create_resource("doomed", kind)
    result = client.batch(
        [
            batch_create("new", kind, attributes={"region": "eu"}),
            batch_update(existing.id, if_version=1, name="renamed", attributes={"x": "1"}),
            batch_delete(doomed.id, if_version=1),
        ]
    )
    assert isinstance(result, BatchResult)
    assert [(r.op, r.status) for r in result.results] == [("create", 201), ("update", 200), ("delete", 204)]
    created = result.results[0].resource
    assert isinstance(created, Resource) and created.name == "new" and created.attributes == {"region": "eu"}
    assert result.results[1].resource is not None and result.results[1].resource.version == 2
    assert result.results[2].id == doomed.id and result.results[2].resource is None
    assert result["results"][0]["op"] == "create"
    with pytest.raises(NotFoundError):
        client.get_resource(doomed.id)


def test_failed_batch_applies_nothing_and_names_the_operation(client: Client, kind: str) -> None:
    existing = client.create_resource("kept", kind)
    with pytest.raises(PreconditionFailedError) as err:
        client.batch([batch_create("never", kind), batch_update(existing.id, if_version=7, name="never")])
    assert err.value.operation_index == 1
    assert "(operation 1)" in str(err.value) and err.value.request_id in str(err.value)
    assert [r.name for r in client.iter_resources(type=kind)] == ["kept"]

    with pytest.raises(ValidationError) as bad:
        client.batch([batch_create("", kind)])
    assert "operations[0].body.name" in bad.value.fields
    with pytest.raises(ValueError, match="1 to 100"):
        client.batch([])


def test_batch_retry_with_the_same_key_is_a_replay(client: Client, kind: str) -> None:
    ops = [batch_create("once", kind)]
    first = client.batch(ops, idempotency_key=f"batch-{kind}")
    again = client.batch(ops, idempotency_key=f"batch-{kind}")
    assert first.results[0].id == again.results[0].id
    assert len(list(client.iter_resources(type=kind))) == 1


@pytest.mark.anyio
async def test_async_client_sorts_and_batches(async_client: AsyncClient, kind: str) -> None:
    result = await async_client.batch([batch_create(n, kind) for n in ("y", "x", "z")])
    assert len(result.results) == 3
    page = await async_client.list_resources(type=kind, sort="-name", include_total=True)
    assert [r.name for r in page.items] == ["z", "y", "x"] and page.total == 3
    names = [r.name async for r in async_client.iter_resources(type=kind, sort="name", per_page=2)]
    assert names == ["x", "y", "z"]
