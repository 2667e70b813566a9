"""Typed views of the API's JSON: a resource and a page of resources."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

ResourceStatus = Literal["active", "archived"]


@dataclass(frozen=True, slots=True)
class Resource:
    """One stored resource. `version` starts at 1 and grows by one per change; pass it as
    `if_version` to update or delete only if nobody changed the resource since you read it."""

    id: str
    name: str
    type: str
    status: ResourceStatus
    attributes: dict[str, str]
    data: Any
    created_at: datetime
    updated_at: datetime
    version: int

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> Resource:
        return cls(
            id=body["id"],
            name=body["name"],
            type=body["type"],
            status=body["status"],
            attributes=dict(body.get("attributes") or {}),
            data=body.get("data"),
            created_at=datetime.fromisoformat(body["created_at"]),
            updated_at=datetime.fromisoformat(body["updated_at"]),
            version=int(body["version"]),
        )


@dataclass(frozen=True, slots=True)
class ResourcePage:
    """One page of a listing. `page` is None when paging by cursor; `next_cursor` is None on
    the last page."""

    items: list[Resource] = field(default_factory=list)
    page: int | None = None
    per_page: int = 20
    has_next: bool = False
    next_cursor: str | None = None

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> ResourcePage:
        return cls(
            items=[Resource.from_json(item) for item in body.get("items") or []],
            page=body.get("page"),
            per_page=int(body.get("per_page") or 0),
            has_next=bool(body.get("has_next")),
            next_cursor=body.get("next_cursor"),
        )
