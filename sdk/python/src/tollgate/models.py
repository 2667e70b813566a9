"""Typed views of the API's JSON: a resource, a page of resources, a batch's results and a
registered resource type.

Each also reads like the JSON document it came from (`resource["id"]`, `page["items"]`), so code
written against the API's JSON (the integration guide's examples) works unchanged; the mapping
view is the wire document, the attributes are typed (datetimes, ints).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

ResourceStatus = Literal["active", "archived"]


class _JsonMapping(Mapping[str, Any]):
    """Read-only mapping over the `_json` document a model was built from."""

    __slots__ = ()
    _json: dict[str, Any]

    def __getitem__(self, key: str) -> Any:
        return self._json[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._json)

    def __len__(self) -> int:
        return len(self._json)

    def to_json(self) -> dict[str, Any]:
        """The JSON document as the server sent it."""
        return dict(self._json)


@dataclass(frozen=True, slots=True, eq=True)
class Resource(_JsonMapping):
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
    _json: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

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
            _json=dict(body),
        )


class PartialResource(_JsonMapping):
    """A resource listed with `fields=`: only `id` and the fields asked for. Read it as a mapping
    (`r["attributes"]["region"]`) or by attribute (`r.name`); a field not asked for raises
    KeyError / AttributeError rather than pretending to be None."""

    __slots__ = ("_json",)

    def __init__(self, body: Mapping[str, Any]) -> None:
        self._json = dict(body)

    @property
    def id(self) -> str:
        return str(self._json["id"])

    def __getattr__(self, name: str) -> Any:
        try:
            return self._json[name]
        except KeyError:
            raise AttributeError(f"{name!r} was not among the fields asked for") from None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PartialResource) and other._json == self._json

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"PartialResource({self._json!r})"


@dataclass(frozen=True, slots=True)
class ResourcePage(_JsonMapping):
    """One page of a listing. `page` is None when paging by cursor; `next_cursor` is None on
    the last page; `total` is set only when asked for (`include_total=True`). With `fields=`,
    the items are `PartialResource`s."""

    items: list[Any] = field(default_factory=list)
    page: int | None = None
    per_page: int = 20
    has_next: bool = False
    next_cursor: str | None = None
    total: int | None = None
    _json: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, body: Mapping[str, Any], *, sparse: bool = False) -> ResourcePage:
        item = PartialResource if sparse else Resource.from_json
        total = body.get("total")
        return cls(
            items=[item(i) for i in body.get("items") or []],
            page=body.get("page"),
            per_page=int(body.get("per_page") or 0),
            has_next=bool(body.get("has_next")),
            next_cursor=body.get("next_cursor"),
            total=None if total is None else int(total),
            _json=dict(body),
        )


@dataclass(frozen=True, slots=True)
class BatchItem(_JsonMapping):
    """What one operation of a batch did: `op` (`create`, `update`, `delete`), the `status` its
    single form answers with (201, 200, 204), the `resource` after a create or update, and the
    `id` of a deleted resource."""

    op: str
    status: int
    resource: Resource | None = None
    id: str | None = None
    _json: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> BatchItem:
        resource = body.get("resource")
        return cls(
            op=str(body["op"]),
            status=int(body["status"]),
            resource=None if resource is None else Resource.from_json(resource),
            id=body.get("id") if resource is None else resource["id"],
            _json=dict(body),
        )


@dataclass(frozen=True, slots=True)
class BatchResult(_JsonMapping):
    """Every operation applied, in request order (`results[i]` is operation `i`)."""

    results: list[BatchItem] = field(default_factory=list)
    _json: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> BatchResult:
        return cls(results=[BatchItem.from_json(r) for r in body.get("results") or []], _json=dict(body))


@dataclass(frozen=True, slots=True)
class AttributeRule:
    """What an attribute of a registered type must be: present on every resource of the type
    (`required`), and one of `enum` when given."""

    required: bool = False
    enum: list[str] | None = None

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> AttributeRule:
        allowed = body.get("enum")
        return cls(required=bool(body.get("required")), enum=None if allowed is None else [str(v) for v in allowed])

    def to_json(self) -> dict[str, Any]:
        """The rule as the API takes it."""
        body: dict[str, Any] = {"required": self.required}
        if self.enum is not None:
            body["enum"] = list(self.enum)
        return body


@dataclass(frozen=True, slots=True)
class ResourceType(_JsonMapping):
    """A registered type: the JSON Schema (2020-12) every resource's `data` must match (`True`
    when none was given), the rule per attribute key, and `version`, 1 at registration and one
    more with each `update_type`."""

    name: str
    version: int
    schema: Any
    attributes: dict[str, AttributeRule]
    description: str
    created_at: datetime
    updated_at: datetime
    _json: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> ResourceType:
        return cls(
            name=body["name"],
            version=int(body["version"]),
            schema=body.get("schema", True),
            attributes={k: AttributeRule.from_json(v) for k, v in (body.get("attributes") or {}).items()},
            description=str(body.get("description") or ""),
            created_at=datetime.fromisoformat(body["created_at"]),
            updated_at=datetime.fromisoformat(body["updated_at"]),
            _json=dict(body),
        )
