"""The resource endpoints as `Call`s: paths, query strings, bodies and headers in one place, so
the sync and async clients only differ in how they wait."""

from __future__ import annotations

import enum
import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import httpx

from ._http import Call, json_body, parse_json
from ._retry import IDEMPOTENCY_HEADER
from .models import Resource, ResourcePage, ResourceStatus


class Unset(enum.Enum):
    """Marks a patch field as "leave unchanged", as distinct from None ("set to null")."""

    UNSET = enum.auto()

    def __repr__(self) -> str:
        return "UNSET"


UNSET = Unset.UNSET

_JSON = "application/json"
_MERGE_PATCH = "application/merge-patch+json"


def get_resource(resource_id: str) -> Call[Resource]:
    return Call("GET", _resource_path(resource_id), _resource)


def create_resource(
    name: str,
    type: str,
    *,
    status: ResourceStatus | None,
    attributes: Mapping[str, str] | None,
    data: Any,
    idempotency_key: str | None,
) -> Call[Resource]:
    body: dict[str, Any] = {"name": name, "type": type}
    if status is not None:
        body["status"] = status
    if attributes is not None:
        body["attributes"] = dict(attributes)
    if data is not None:
        body["data"] = data
    headers = {"Content-Type": _JSON, IDEMPOTENCY_HEADER: idempotency_key or _new_key()}
    return Call("POST", "/v1/resource", _resource, headers=headers, content=json_body(body))


def update_resource(
    resource_id: str,
    patch: Mapping[str, Any],
    *,
    if_version: int | None,
    idempotency_key: str | None,
) -> Call[Resource]:
    """A JSON Merge Patch (RFC 7396): absent fields stay, null removes (an attribute, or data)."""
    headers = {"Content-Type": _MERGE_PATCH, IDEMPOTENCY_HEADER: idempotency_key or _new_key()}
    headers.update(_if_match(if_version))
    return Call("PATCH", _resource_path(resource_id), _resource, headers=headers, content=json_body(dict(patch)))


def merge_patch(**fields: Any) -> dict[str, Any]:
    """The patch document from keyword fields, leaving out those still UNSET."""
    return {key: value for key, value in fields.items() if value is not UNSET}


def delete_resource(resource_id: str, *, if_version: int | None) -> Call[None]:
    return Call("DELETE", _resource_path(resource_id), _nothing, headers=_if_match(if_version))


def list_resources(
    *,
    page: int | None,
    per_page: int | None,
    type: str | None,
    status: ResourceStatus | None,
    attributes: Mapping[str, str] | None,
    cursor: str | None,
) -> Call[ResourcePage]:
    params: list[tuple[str, str]] = []
    for key, value in (("page", page), ("per_page", per_page), ("type", type), ("status", status)):
        if value is not None:
            params.append((key, str(value)))
    for key, value in (attributes or {}).items():
        params.append((f"attributes[{key}]", value))
    if cursor is not None:
        params.append(("cursor", cursor))  # "" asks for the first page in cursor mode
    return Call("GET", "/v1/resource", lambda r: ResourcePage.from_json(r.json()), params=params)


def raw(
    method: str,
    path: str,
    *,
    params: Mapping[str, str] | None,
    json: Any,
    headers: Mapping[str, str] | None,
) -> Call[Any]:
    """Any endpoint, sent exactly as given: no Idempotency-Key is added, so a POST or PATCH is
    retried only if the caller passes one in `headers`."""
    all_headers = dict(headers or {})
    content = None
    if json is not UNSET:
        all_headers.setdefault("Content-Type", _JSON)
        content = json_body(json)
    return Call(method.upper(), path, parse_json, params=list((params or {}).items()), headers=all_headers, content=content)


def _resource_path(resource_id: str) -> str:
    if not resource_id:
        raise ValueError("resource id must not be empty")
    return "/v1/resource/" + quote(resource_id, safe="")


def _if_match(version: int | None) -> dict[str, str]:
    return {} if version is None else {"If-Match": f'"{int(version)}"'}


def _new_key() -> str:
    return str(uuid.uuid4())


def _resource(response: httpx.Response) -> Resource:
    return Resource.from_json(response.json())


def _nothing(response: httpx.Response) -> None:
    return None
