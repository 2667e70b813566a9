"""The synchronous client."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, TypeVar

import httpx

from . import _operations as ops
from . import _resource_types as type_ops
from ._base import DEFAULT_TIMEOUT, ClientBase
from ._http import (
    Call,
    build_request,
    connection_error,
    default_headers,
    log_response,
    log_retry,
    never_sent,
    warn_deprecation,
)
from ._oauth import token_error
from ._events_sync import Events
from ._operations import UNSET, Unset
from ._resource_types import AttributeRules
from .errors import TollgateError, error_from_response
from .models import BatchResult, Resource, ResourcePage, ResourceStatus, ResourceType

T = TypeVar("T")


class Client(ClientBase):
    """A Tollgate API client. Thread-safe; reuse one per process (it pools connections).

    Credentials: `api_key`, or `client_id` + `client_secret` (OAuth 2.0 client credentials,
    optionally narrowed to `scope`); when none are given, `TOLLGATE_API_KEY` (or
    `TOLLGATE_CLIENT_ID` + `TOLLGATE_CLIENT_SECRET`) from the environment. `endpoint` defaults
    to `TOLLGATE_ENDPOINT`, then `http://127.0.0.1:8080`.
    """

    def __init__(
        self,
        api_key: str | None = None,
        *,
        endpoint: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        scope: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        max_retries: int = 3,
        backoff_base: float = 0.5,
        backoff_cap: float = 8.0,
        max_retry_wait: float = 60.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        super().__init__(
            api_key,
            endpoint=endpoint,
            client_id=client_id,
            client_secret=client_secret,
            scope=scope,
            timeout=timeout,
            max_retries=max_retries,
            backoff_base=backoff_base,
            backoff_cap=backoff_cap,
            max_retry_wait=max_retry_wait,
        )
        self._http = httpx.Client(
            base_url=self.endpoint, timeout=timeout, headers=default_headers(), transport=transport
        )
        self._token_lock = threading.Lock()
        self.events = Events(self)
        """The events API and the live stream: `client.events.list()`, `.iter()`, `.get()`, `.stream()`."""

    # --- resources -------------------------------------------------------------------------

    def get_resource(self, resource_id: str) -> Resource:
        return self._run(ops.get_resource(resource_id))

    def create_resource(
        self,
        name: str,
        type: str,
        *,
        status: ResourceStatus | None = None,
        attributes: Mapping[str, str] | None = None,
        data: Any = None,
        idempotency_key: str | None = None,
    ) -> Resource:
        """Creates a resource. A random Idempotency-Key is sent (or yours) so a retry after a
        lost response cannot create it twice."""
        return self._run(
            ops.create_resource(
                name, type, status=status, attributes=attributes, data=data, idempotency_key=idempotency_key
            )
        )

    def update_resource(
        self,
        resource_id: str,
        *,
        name: str | Unset = UNSET,
        type: str | Unset = UNSET,
        status: ResourceStatus | Unset = UNSET,
        attributes: Mapping[str, str | None] | Unset = UNSET,
        data: Any = UNSET,
        if_version: int | None = None,
        idempotency_key: str | None = None,
    ) -> Resource:
        """Changes the given fields (JSON Merge Patch): an attribute set to None is removed,
        `data=None` clears data. With `if_version`, fails with PreconditionFailedError if the
        resource is no longer at that version."""
        patch = ops.merge_patch(name=name, type=type, status=status, attributes=attributes, data=data)
        return self._run(
            ops.update_resource(resource_id, patch, if_version=if_version, idempotency_key=idempotency_key)
        )

    def delete_resource(self, resource_id: str, *, if_version: int | None = None) -> None:
        self._run(ops.delete_resource(resource_id, if_version=if_version))

    def list_resources(
        self,
        *,
        page: int | None = None,
        per_page: int | None = None,
        type: str | None = None,
        status: ResourceStatus | None = None,
        attributes: Mapping[str, str] | None = None,
        cursor: str | None = None,
        sort: str | Sequence[str] | None = None,
        created_after: datetime | str | None = None,
        created_before: datetime | str | None = None,
        updated_after: datetime | str | None = None,
        updated_before: datetime | str | None = None,
        fields: str | Sequence[str] | None = None,
        include_total: bool = False,
        q: str | None = None,
    ) -> ResourcePage:
        """One page, by number (`page`) or by cursor (`cursor=""` for the first page).

        `sort`: keys among `created_at`, `updated_at`, `name`, `type`, `status`,
        `attributes.KEY`, each with `-` for descending (a list or a comma-separated string);
        cursors follow any sort. `created_after` ... `updated_before`: aware datetimes or RFC 3339
        strings. `fields`: only `id` and these fields per item (items are then
        `PartialResource`s). `include_total`: also count the matches (`page.total`; a scan).
        `q`: full-text search over name, attribute values and the strings in `data` (words and
        `"quoted phrases"`, all required, stemmed); by relevance, paged by `page`, unless `sort`
        is given.
        """
        query = ops.ListQuery(
            sort=sort, created_after=created_after, created_before=created_before,
            updated_after=updated_after, updated_before=updated_before, fields=fields, include_total=include_total,
            q=q,
        )
        return self._run(
            ops.list_resources(
                page=page, per_page=per_page, type=type, status=status, attributes=attributes, cursor=cursor,
                query=query,
            )
        )

    def iter_resources(
        self,
        *,
        per_page: int = 100,
        type: str | None = None,
        status: ResourceStatus | None = None,
        attributes: Mapping[str, str] | None = None,
        sort: str | Sequence[str] | None = None,
        created_after: datetime | str | None = None,
        created_before: datetime | str | None = None,
        updated_after: datetime | str | None = None,
        updated_before: datetime | str | None = None,
        fields: str | Sequence[str] | None = None,
        q: str | None = None,
    ) -> Iterator[Resource]:
        """Every matching resource, oldest first unless `sort` says otherwise, fetched page by
        page by cursor (stable while resources are added, unlike page numbers); search results
        by relevance (`q` without `sort`) page by number. `sort`, the ranges, `fields` and `q`
        are those of `list_resources`."""
        query = ops.ListQuery(
            sort=sort, created_after=created_after, created_before=created_before,
            updated_after=updated_after, updated_before=updated_before, fields=fields, q=q,
        )
        position: ops.PagePosition | None = ops.first_position(query)
        while position is not None:
            number, cursor = position
            page = self._run(
                ops.list_resources(
                    page=number, per_page=per_page, type=type, status=status, attributes=attributes, cursor=cursor,
                    query=query,
                )
            )
            yield from page.items
            position = ops.next_position(page, number)

    def batch(
        self, operations: Sequence[Mapping[str, Any]], *, idempotency_key: str | None = None
    ) -> BatchResult:
        """Applies 1 to 100 operations (`batch_create`, `batch_update`, `batch_delete`) in one
        transaction: all of them, answered in order, or none, raising the failing operation's
        error with its position in `err.operation_index`. Each operation counts as one write."""
        return self._run(ops.batch(operations, idempotency_key=idempotency_key))

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Any = UNSET,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        """Calls any endpoint (e.g. `/v1/usage`) with this client's auth and retries, and
        returns the decoded JSON body (None when empty)."""
        return self._run(ops.raw(method, path, params=params, json=json, headers=headers))

    # --- resource types (admin) -------------------------------------------------------------

    def create_type(
        self,
        name: str,
        *,
        schema: Any = None,
        attributes: AttributeRules | None = None,
        description: str | None = None,
    ) -> ResourceType:
        """Registers type `name` (version 1): a JSON Schema (2020-12) for `data` and rules per
        attribute (`AttributeRule(required=True, enum=[...])`). Every later write of a resource of
        the type is checked against it; one that breaks it raises ValidationError, every
        violation in `err.errors`. ConflictError if the name is registered already."""
        return self._run(type_ops.create_type(name, schema=schema, attributes=attributes, description=description))

    def list_types(self) -> list[ResourceType]:
        """The project's registered types, by name."""
        return self._run(type_ops.list_types())

    def get_type(self, name: str) -> ResourceType:
        return self._run(type_ops.get_type(name))

    def update_type(
        self,
        name: str,
        *,
        schema: Any = None,
        attributes: AttributeRules | None = None,
        description: str | None = None,
    ) -> ResourceType:
        """Replaces the type's definition (what is left out is reset: any data, no rules, no
        description) and raises its version by one. Stored resources are checked at their next
        write."""
        return self._run(type_ops.update_type(name, schema=schema, attributes=attributes, description=description))

    def delete_type(self, name: str) -> None:
        """Removes the type; ConflictError while resources of the type exist."""
        self._run(type_ops.delete_type(name))

    # --- lifecycle -------------------------------------------------------------------------

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # --- sending ---------------------------------------------------------------------------

    def _run(self, call: Call[T]) -> T:
        return call.parse(self._send(call))

    def _send(self, call: Call[Any]) -> httpx.Response:
        policy = self.retry_policy
        retries = 0
        renewed_token = False
        while True:
            auth = self._auth_headers() if call.authenticate else {}
            started = time.monotonic()
            try:
                response = self._http.send(build_request(self._http, call, auth))
            except httpx.TransportError as exc:
                error: TollgateError = connection_error(exc)
                wait = policy.delay(retries, error, replayable=call.may_replay or never_sent(exc))
                if wait is None:
                    raise error from exc
            else:
                log_response(call, response, started)
                warn_deprecation(call, response)
                if response.is_success:
                    return response
                if response.status_code == 401 and self.uses_oauth and call.authenticate and not renewed_token:
                    # The cached token was revoked or expired early: get a new one, once.
                    self._tokens.invalidate(auth["Authorization"].removeprefix("Bearer "))
                    renewed_token = True
                    continue
                error = error_from_response(response)
                wait = policy.delay(retries, error, replayable=call.may_replay)
                if wait is None:
                    raise error
            log_retry(call, error, wait, retries)
            time.sleep(wait)
            retries += 1

    def _auth_headers(self) -> dict[str, str]:
        if not self.uses_oauth:
            return self._key_headers()
        with self._token_lock:
            token = self._tokens.current()
            if token is None:
                try:
                    token = self._run(self._token_call())
                except TollgateError as exc:
                    mapped = token_error(exc)
                    if mapped is exc:
                        raise
                    raise mapped from exc
                self._tokens.store(token)
        return {"Authorization": f"Bearer {token.value}"}
