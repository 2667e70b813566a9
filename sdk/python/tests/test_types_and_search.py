"""Resource types (register, validate, update, delete) and full-text search, against the real server."""

from __future__ import annotations

import secrets

import pytest

from tollgate import (
    AsyncClient,
    AttributeRule,
    Client,
    ConflictError,
    FieldError,
    NotFoundError,
    ResourceType,
    ValidationError,
)


def _schema(max_cpus: int) -> dict[str, object]:
    return {
        "type": "object",
        "required": ["cpus"],
        "properties": {"cpus": {"type": "integer", "minimum": 1, "maximum": max_cpus}},
    }


def test_a_registered_type_validates_writes_and_is_versioned(client: Client, kind: str) -> None:
    created = client.create_type(
        kind,
        schema=_schema(64),
        attributes={"region": AttributeRule(required=True, enum=["eu", "us"]), "team": {"required": False}},
        description="A machine",
    )
    assert isinstance(created, ResourceType)
    assert (created.name, created.version, created.description) == (kind, 1, "A machine")
    assert created.attributes == {"region": AttributeRule(True, ["eu", "us"]), "team": AttributeRule()}
    assert created.schema == _schema(64) and created["schema"] == _schema(64)
    with pytest.raises(ConflictError):
        client.create_type(kind, schema=_schema(64))

    good = client.create_resource("m1", kind, attributes={"region": "eu"}, data={"cpus": 4})
    with pytest.raises(ValidationError) as bad:
        client.create_resource("m2", kind, attributes={"region": "mars"}, data={"cpus": 0})
    errors = bad.value.errors
    assert all(isinstance(e, FieldError) and e.message for e in errors)
    assert sorted(e.pointer for e in errors) == ["/attributes/region", "/data/cpus"]
    assert bad.value.code == "VALIDATION_FAILED"
    assert "/data/cpus: " in str(bad.value) and "/attributes/region: " in str(bad.value)

    updated = client.update_type(kind, schema=_schema(2), attributes={"region": AttributeRule(required=True)})
    assert (updated.version, updated.created_at) == (2, created.created_at)
    assert updated.attributes == {"region": AttributeRule(required=True)}
    assert updated.description == "", "a PUT replaces the whole definition"
    assert client.get_type(kind) == updated
    assert kind in [t.name for t in client.list_types()]
    with pytest.raises(ValidationError) as too_big:
        client.create_resource("m3", kind, attributes={"region": "us"}, data={"cpus": 4})
    assert [e.pointer for e in too_big.value.errors] == ["/data/cpus"], "checked against version 2"

    with pytest.raises(ConflictError):
        client.delete_type(kind)
    client.delete_resource(good.id)
    client.delete_type(kind)
    with pytest.raises(NotFoundError):
        client.get_type(kind)
    assert kind not in [t.name for t in client.list_types()]


def test_a_refused_schema_names_the_schema(client: Client, kind: str) -> None:
    with pytest.raises(ValidationError) as refused:
        client.create_type(kind, schema={"$ref": "https://schemas.invalid/x.json"})
    assert "schema" in refused.value.fields and refused.value.errors == []


def test_q_finds_resources_by_a_word_in_their_data(client: Client, kind: str) -> None:
    word = "zq" + secrets.token_hex(4)  # a word no other test's resource holds
    first = client.create_resource("first", kind, data={"text": f"the {word} waddles on the ice"})
    client.create_resource("second", kind, data={"text": "a camel crosses the desert"})
    third = client.create_resource("third", kind, data={"notes": [f"a {word} colony"]})
    page = client.list_resources(q=word, include_total=True)
    assert page.total == 2 and sorted(r.id for r in page.items) == sorted([first.id, third.id])
    # By relevance the iterator pages by number; with a sort, by cursor.
    assert sorted(r.name for r in client.iter_resources(q=word, per_page=1)) == ["first", "third"]
    assert [r.name for r in client.iter_resources(q=word, sort="-name", per_page=1)] == ["third", "first"]
    assert client.list_resources(q="zq" + secrets.token_hex(4)).items == []
    with pytest.raises(ValidationError) as too_long:
        client.list_resources(q="a" * 501)
    assert "q" in too_long.value.fields


@pytest.mark.anyio
async def test_the_async_client_manages_types_and_searches(async_client: AsyncClient, kind: str) -> None:
    created = await async_client.create_type(kind, schema=_schema(8), attributes={"region": {"required": True}})
    assert created.version == 1 and created.attributes["region"].required
    with pytest.raises(ValidationError) as bad:
        await async_client.create_resource("x", kind, data={"cpus": "many"})
    assert sorted(e.pointer for e in bad.value.errors) == ["/attributes/region", "/data/cpus"]
    word = "zq" + secrets.token_hex(4)
    made = await async_client.create_resource(word, kind, attributes={"region": "eu"}, data={"cpus": 2})
    assert [r.id async for r in async_client.iter_resources(q=word)] == [made.id]
    assert (await async_client.update_type(kind, schema=_schema(8))).version == 2
    assert [t.name for t in await async_client.list_types()].count(kind) == 1
    with pytest.raises(ConflictError):
        await async_client.delete_type(kind)
    await async_client.delete_resource(made.id)
    await async_client.delete_type(kind)
    with pytest.raises(NotFoundError):
        await async_client.get_type(kind)
