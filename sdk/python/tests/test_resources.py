"""The resource API through the sync client, against the real server."""

from __future__ import annotations

from datetime import datetime

import pytest

from tollgate import Client, NotFoundError, PreconditionFailedError, Resource, ValidationError


def test_create_get_update_delete_with_version_preconditions(client: Client, kind: str) -> None:
    created = client.create_resource(
        "Build server", kind, attributes={"region": "eu-west-1"}, data={"cpus": 8, "tags": ["ci"]}
    )
    assert isinstance(created, Resource)
    assert created.id.startswith("res_")
    assert (created.name, created.type, created.status, created.version) == ("Build server", kind, "active", 1)
    assert created.attributes == {"region": "eu-west-1"}
    assert created.data == {"cpus": 8, "tags": ["ci"]}
    assert isinstance(created.created_at, datetime) and created.created_at.tzinfo is not None

    assert client.get_resource(created.id) == created

    updated = client.update_resource(
        created.id, status="archived", attributes={"owner": "infra"}, if_version=created.version
    )
    assert updated.version == 2
    assert updated.status == "archived"
    assert updated.attributes == {"region": "eu-west-1", "owner": "infra"}  # merged, not replaced
    assert updated.name == "Build server"

    with pytest.raises(PreconditionFailedError) as stale:
        client.update_resource(created.id, name="lost update", if_version=1)
    assert stale.value.status == 412
    assert stale.value.code == "PRECONDITION_FAILED"
    assert stale.value.details.get("current_version") == 2
    assert client.get_resource(created.id).name == "Build server"

    with pytest.raises(PreconditionFailedError):
        client.delete_resource(created.id, if_version=1)
    client.delete_resource(created.id, if_version=2)
    with pytest.raises(NotFoundError):
        client.get_resource(created.id)


def test_merge_patch_removes_attribute_and_clears_data(client: Client, kind: str) -> None:
    created = client.create_resource("r", kind, attributes={"a": "1", "b": "2"}, data={"x": 1})
    updated = client.update_resource(created.id, attributes={"a": None}, data=None)
    assert updated.attributes == {"b": "2"}
    assert updated.data is None


def test_create_with_status(client: Client, kind: str) -> None:
    assert client.create_resource("old", kind, status="archived").status == "archived"


def test_list_with_filters_and_page_numbers(client: Client, kind: str) -> None:
    eu = client.create_resource("eu", kind, attributes={"region": "eu", "tier": "gold"})
    us = client.create_resource("us", kind, attributes={"region": "us", "tier": "gold"})
    old = client.create_resource("old", kind, status="archived", attributes={"region": "eu"})
    client.create_resource("other type", kind + "_x", attributes={"region": "eu"})

    assert [r.id for r in client.list_resources(type=kind).items] == [eu.id, us.id, old.id]
    assert [r.id for r in client.list_resources(type=kind, status="archived").items] == [old.id]
    assert [r.id for r in client.list_resources(type=kind, attributes={"region": "eu"}).items] == [eu.id, old.id]
    both = client.list_resources(type=kind, attributes={"region": "eu", "tier": "gold"})
    assert [r.id for r in both.items] == [eu.id]

    first = client.list_resources(type=kind, per_page=2, page=1)
    assert (first.page, first.per_page, first.has_next) == (1, 2, True)
    second = client.list_resources(type=kind, per_page=2, page=2)
    assert [r.id for r in second.items] == [old.id] and second.has_next is False


def test_iter_resources_follows_cursor_across_pages(client: Client, kind: str) -> None:
    ids = [client.create_resource(f"item {i}", kind, attributes={"n": str(i)}).id for i in range(25)]

    first = client.list_resources(type=kind, per_page=10, cursor="")
    assert first.page is None and first.has_next and first.next_cursor
    assert [r.id for r in first.items] == ids[:10]
    second = client.list_resources(type=kind, per_page=10, cursor=first.next_cursor)
    assert [r.id for r in second.items] == ids[10:20]

    assert [r.id for r in client.iter_resources(type=kind, per_page=10)] == ids
    assert [r.id for r in client.iter_resources(type=kind, attributes={"n": "7"})] == [ids[7]]


def test_iter_resources_on_empty_listing(client: Client, kind: str) -> None:
    assert list(client.iter_resources(type=kind)) == []


def test_request_reaches_endpoints_the_sdk_does_not_wrap(client: Client) -> None:
    usage = client.request("GET", "/v1/usage")
    assert isinstance(usage, dict) and "write" in usage


def test_idempotency_key_makes_a_repeated_write_a_replay(client: Client, kind: str) -> None:
    """What makes the SDK's POST/PATCH retries safe: the server answers a repeated key with the
    first response instead of writing again, and refuses the key for a different request."""
    first = client.create_resource("once", kind, idempotency_key=f"create-{kind}")
    again = client.create_resource("once", kind, idempotency_key=f"create-{kind}")
    assert again.id == first.id
    assert [r.id for r in client.iter_resources(type=kind)] == [first.id]

    patched = client.update_resource(first.id, name="twice", idempotency_key=f"patch-{kind}")
    replayed = client.update_resource(first.id, name="twice", idempotency_key=f"patch-{kind}")
    assert patched.version == replayed.version == 2

    with pytest.raises(ValidationError) as err:
        client.create_resource("something else", kind, idempotency_key=f"create-{kind}")
    assert (err.value.status, err.value.code) == (422, "IDEMPOTENCY_KEY_REUSED")
