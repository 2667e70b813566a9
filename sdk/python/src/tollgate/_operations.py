"""The resource endpoints as `Call`s: paths, query strings, bodies and headers in one place, so
the sync and async clients only differ in how they wait."""

from __future__ import annotations

import enum
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

import httpx

from ._http import Call, json_body, parse_json
from ._retry import IDEMPOTENCY_HEADER
from .models import BatchResult, Resource, ResourcePage, ResourceStatus


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
    query: ListQuery | None = None,
) -> Call[ResourcePage]:
    params: list[tuple[str, str]] = []
    for key, value in (("page", page), ("per_page", per_page), ("type", type), ("status", status)):
        if value is not None:
            params.append((key, str(value)))
    for key, value in (attributes or {}).items():
        params.append((f"attributes[{key}]", value))
    if cursor is not None:
        params.append(("cursor", cursor))  # "" asks for the first page in cursor mode
    query = query or ListQuery()
    params.extend(query.params())
    sparse = query.fields is not None
    return Call("GET", "/v1/resource", lambda r: ResourcePage.from_json(r.json(), sparse=sparse), params=params)


@dataclass(frozen=True, slots=True)
class ListQuery:
    """The listing's query options beyond filters and paging (shared by list and iter):
    `sort` keys (`name`, `-created_at`, `attributes.region`), time ranges (aware datetimes or
    RFC 3339 strings), `fields` for sparse items, `include_total` and `q`, the full-text search."""

    sort: str | Sequence[str] | None = None
    created_after: datetime | str | None = None
    created_before: datetime | str | None = None
    updated_after: datetime | str | None = None
    updated_before: datetime | str | None = None
    fields: str | Sequence[str] | None = None
    include_total: bool = False
    q: str | None = None

    @property
    def by_relevance(self) -> bool:
        """Search results in rank order, which page by number only (no cursor marks a place in a
        ranking)."""
        return self.q is not None and self.sort is None

    def params(self) -> list[tuple[str, str]]:
        params: list[tuple[str, str]] = []
        if self.sort is not None:
            params.append(("sort", _comma_list("sort", self.sort)))
        for name in ("created_after", "created_before", "updated_after", "updated_before"):
            value = getattr(self, name)
            if value is not None:
                params.append((name, _rfc3339(name, value)))
        if self.fields is not None:
            params.append(("fields", _comma_list("fields", self.fields)))
        if self.include_total:
            params.append(("include_total", "true"))
        if self.q is not None:
            params.append(("q", self.q))
        return params


PagePosition = tuple[int | None, str | None]
"""Where a listing's iteration stands: a page number, or a cursor."""


def first_position(query: ListQuery) -> PagePosition:
    """Page 1 for search results by relevance, else the first cursor page (stable while resources
    are added, unlike page numbers)."""
    return (1, None) if query.by_relevance else (None, "")


def next_position(page: ResourcePage, number: int | None) -> PagePosition | None:
    """The page after `page` (page `number` when paging by number), or None after the last."""
    if number is not None:
        # A page by number carries a `next_cursor` too, which search by relevance refuses.
        return (number + 1, None) if page.has_next else None
    return (None, page.next_cursor) if page.next_cursor else None


def _comma_list(name: str, value: str | Sequence[str]) -> str:
    items = [value] if isinstance(value, str) else list(value)
    if not items or not all(isinstance(i, str) and i for i in items):
        raise ValueError(f"{name} must be a non-empty string or a list of non-empty strings")
    return ",".join(items)


def _rfc3339(name: str, value: datetime | str) -> str:
    if isinstance(value, str):
        return value
    if not isinstance(value, datetime):
        raise TypeError(f"{name} must be a datetime or an RFC 3339 string, not {type(value).__name__}")
    if value.tzinfo is None:
        raise ValueError(f"{name} must be timezone-aware (e.g. datetime.now(timezone.utc))")
    return value.isoformat()


BatchOperation = Mapping[str, Any]
"""One operation of a batch, as the API takes it; build them with `tollgate.batch_create`,
`batch_update` and `batch_delete`."""


def batch_create(
    name: str,
    type: str,
    *,
    status: ResourceStatus | None = None,
    attributes: Mapping[str, str] | None = None,
    data: Any = None,
) -> dict[str, Any]:
    """A batch operation creating a resource (what `create_resource` takes)."""
    body: dict[str, Any] = {"name": name, "type": type}
    if status is not None:
        body["status"] = status
    if attributes is not None:
        body["attributes"] = dict(attributes)
    if data is not None:
        body["data"] = data
    return {"op": "create", "body": body}


def batch_update(
    resource_id: str,
    *,
    if_version: int | None = None,
    name: str | Unset = UNSET,
    type: str | Unset = UNSET,
    status: ResourceStatus | Unset = UNSET,
    attributes: Mapping[str, str | None] | Unset = UNSET,
    data: Any = UNSET,
) -> dict[str, Any]:
    """A batch operation merge-patching a resource (what `update_resource` takes)."""
    op: dict[str, Any] = {"op": "update", "id": resource_id}
    if if_version is not None:
        op["if_match"] = int(if_version)
    op["body"] = merge_patch(name=name, type=type, status=status, attributes=attributes, data=data)
    return op


def batch_delete(resource_id: str, *, if_version: int | None = None) -> dict[str, Any]:
    """A batch operation deleting a resource."""
    op: dict[str, Any] = {"op": "delete", "id": resource_id}
    if if_version is not None:
        op["if_match"] = int(if_version)
    return op


MAX_BATCH_OPERATIONS = 100


def batch(operations: Sequence[BatchOperation], *, idempotency_key: str | None) -> Call[BatchResult]:
    """`POST /v1/batch`: all operations or none. An Idempotency-Key (random unless given) makes the
    retry of a batch whose answer was lost a replay, not a second application."""
    ops = [dict(op) for op in operations]
    if not 1 <= len(ops) <= MAX_BATCH_OPERATIONS:
        raise ValueError(f"a batch holds 1 to {MAX_BATCH_OPERATIONS} operations, not {len(ops)}")
    headers = {"Content-Type": _JSON, IDEMPOTENCY_HEADER: idempotency_key or _new_key()}
    return Call(
        "POST", "/v1/batch", lambda r: BatchResult.from_json(r.json()), headers=headers,
        content=json_body({"operations": ops}),
    )


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
