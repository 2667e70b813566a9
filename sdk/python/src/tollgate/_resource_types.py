"""The resource-type endpoints (`/v1/types`, admin) as `Call`s, shared by the sync and async
clients: a JSON Schema for a type's `data` and rules for its attributes, checked by the server
on every write of a resource of that type."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import httpx

from ._http import Call, json_body
from .models import AttributeRule, ResourceType

_JSON = {"Content-Type": "application/json"}

AttributeRules = Mapping[str, AttributeRule | Mapping[str, Any]]
"""Rules per attribute key: `AttributeRule(required=True, enum=[...])`, or the API's own form
`{"required": True, "enum": [...]}`."""


def create_type(
    name: str, *, schema: Any, attributes: AttributeRules | None, description: str | None
) -> Call[ResourceType]:
    body = {"name": name, **_definition(schema, attributes, description)}
    return Call("POST", "/v1/types", _type, headers=_JSON, content=json_body(body))


def list_types() -> Call[list[ResourceType]]:
    return Call("GET", "/v1/types", lambda r: [ResourceType.from_json(t) for t in r.json().get("items") or []])


def get_type(name: str) -> Call[ResourceType]:
    return Call("GET", _type_path(name), _type)


def update_type(
    name: str, *, schema: Any, attributes: AttributeRules | None, description: str | None
) -> Call[ResourceType]:
    body = _definition(schema, attributes, description)
    return Call("PUT", _type_path(name), _type, headers=_JSON, content=json_body(body))


def delete_type(name: str) -> Call[None]:
    return Call("DELETE", _type_path(name), lambda r: None)


def _definition(schema: Any, attributes: AttributeRules | None, description: str | None) -> dict[str, Any]:
    """The body's definition; what is None is left out (the server's default: any data, no rules,
    no description)."""
    body: dict[str, Any] = {}
    if schema is not None:
        body["schema"] = schema
    if attributes is not None:
        body["attributes"] = {
            key: rule.to_json() if isinstance(rule, AttributeRule) else dict(rule) for key, rule in attributes.items()
        }
    if description is not None:
        body["description"] = description
    return body


def _type_path(name: str) -> str:
    if not name:
        raise ValueError("type name must not be empty")
    return "/v1/types/" + quote(name, safe="")


def _type(response: httpx.Response) -> ResourceType:
    return ResourceType.from_json(response.json())
