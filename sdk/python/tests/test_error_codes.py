"""Errors are classed by the envelope's `code`, for every code of the server's error table (read
from the checked-in OpenAPI document), with the HTTP status as the fallback for codes this SDK
does not know; and the newest codes arrive typed from the real server."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from tollgate import (
    Client,
    ConflictError,
    HeadersTooLargeError,
    RateLimitError,
    ServerError,
    TollgateError,
    UriTooLongError,
    ValidationError,
)
from tollgate.errors import _BY_CODE, error_from_response

OPENAPI = Path(__file__).resolve().parents[3] / "docs" / "openapi.json"


def server_codes() -> list[str]:
    doc = json.loads(OPENAPI.read_text())
    return doc["components"]["schemas"]["ErrorCode"]["enum"]


def envelope(status: int, code: str, headers: dict[str, str] | None = None) -> httpx.Response:
    body = {"error": {"code": code, "message": "m", "details": {}, "request_id": "req_1"}}
    return httpx.Response(status, json=body, headers=headers)


def test_every_code_of_the_servers_table_is_mapped() -> None:
    codes = server_codes()
    assert len(codes) >= 18, codes
    unmapped = [c for c in codes if c not in _BY_CODE]
    assert not unmapped, f"codes the SDK does not map: {unmapped}"


@pytest.mark.parametrize(
    ("status", "code", "cls"),
    [
        (409, "CONFLICT", ConflictError),
        (414, "URI_TOO_LONG", UriTooLongError),
        (431, "HEADERS_TOO_LARGE", HeadersTooLargeError),
        (413, "PAYLOAD_TOO_LARGE", ValidationError),
        (503, "SERVICE_UNAVAILABLE", ServerError),
        (408, "REQUEST_TIMEOUT", TollgateError),
        (409, "SOMETHING_NEWER", ConflictError),
        (418, "SOMETHING_NEWER", TollgateError),
    ],
)
def test_the_code_decides_and_the_status_is_the_fallback(status: int, code: str, cls: type) -> None:
    err = error_from_response(envelope(status, code))
    assert type(err) is cls
    assert (err.status, err.code) == (status, code)


def test_rate_limit_by_code_keeps_retry_after() -> None:
    err = error_from_response(envelope(429, "RATE_LIMIT_EXCEEDED", {"retry-after": "7"}))
    assert isinstance(err, RateLimitError) and err.retry_after == 7


def test_str_shows_code_message_and_request_id() -> None:
    err = error_from_response(envelope(409, "CONFLICT"))
    assert str(err) == "409 CONFLICT m (request_id=req_1)"


def test_rotating_a_revoked_key_is_a_conflict(client: Client) -> None:
    key = client.request("POST", "/v1/keys", json={"name": "to revoke", "scopes": ["resource:read"]})
    key_id = key["key"]["id"]
    client.request("DELETE", f"/v1/keys/{key_id}")
    with pytest.raises(ConflictError) as err:
        client.request("POST", f"/v1/keys/{key_id}/rotate")
    assert (err.value.status, err.value.code) == (409, "CONFLICT")
    assert "CONFLICT" in str(err.value) and err.value.request_id in str(err.value)


def test_an_overlong_uri_is_uri_too_long(client: Client) -> None:
    with pytest.raises(UriTooLongError) as err:
        client.list_resources(type="x" * 9000)
    assert (err.value.status, err.value.code) == (414, "URI_TOO_LONG")


def test_oversized_headers_are_headers_too_large(client: Client) -> None:
    headers = {f"x-filler-{i}": "y" * 4000 for i in range(10)}
    with pytest.raises(HeadersTooLargeError) as err:
        client.request("GET", "/v1/resource", headers=headers)
    assert (err.value.status, err.value.code) == (431, "HEADERS_TOO_LARGE")
