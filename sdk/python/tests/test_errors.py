"""Typed errors for the server's real failures, and credentials from the environment."""

from __future__ import annotations

import time

import pytest

from tollgate import (
    AuthenticationError,
    Client,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    TollgateError,
    ValidationError,
)
from tollgate_server import TollgateServer


def test_bad_key_is_authentication_error(server: TollgateServer) -> None:
    with Client("tgk_not_a_real_key", endpoint=server.url) as c, pytest.raises(AuthenticationError) as err:
        c.list_resources()
    assert err.value.status == 401
    assert err.value.code == "AUTHENTICATION_FAILED"
    assert err.value.request_id and err.value.request_id.startswith("req_")
    assert isinstance(err.value, TollgateError)


def test_read_only_key_cannot_create(server: TollgateServer, kind: str) -> None:
    read_only = server.create_key(["resource:read"])
    with Client(read_only, endpoint=server.url) as c:
        assert c.list_resources(type=kind).items == []
        with pytest.raises(PermissionDeniedError) as err:
            c.create_resource("x", kind)
    assert err.value.status == 403
    assert err.value.code == "PERMISSION_DENIED"
    assert err.value.details == {"required_scope": "resource:write"}


def test_missing_resource_is_not_found(client: Client) -> None:
    with pytest.raises(NotFoundError) as err:
        client.get_resource("res_01JD3Z0000000000000000000")
    assert (err.value.status, err.value.code) == (404, "NOT_FOUND")
    assert err.value.request_id and err.value.request_id.startswith("req_")


def test_invalid_resource_is_validation_error_with_details(client: Client) -> None:
    with pytest.raises(ValidationError) as err:
        client.create_resource("", "Not A Type")
    assert (err.value.status, err.value.code) == (400, "VALIDATION_FAILED")
    assert set(err.value.details) >= {"name", "type"}
    assert "name" in str(err.value.details)


def test_unknown_list_filter_is_validation_error(client: Client) -> None:
    with pytest.raises(ValidationError) as err:
        client.request("GET", "/v1/resource", params={"colour": "red"})
    assert err.value.details == {"colour": "unknown query parameter"}


def test_rate_limit_error_carries_retry_after(server: TollgateServer, kind: str) -> None:
    limited = server.create_key(["resource:read", "resource:write"], limits={"write": "1/1m"})
    # The server asks for ~60 s; over max_retry_wait the SDK raises at once instead of sleeping.
    with Client(limited, endpoint=server.url, max_retry_wait=5) as c:
        c.create_resource("first", kind)
        started = time.monotonic()
        with pytest.raises(RateLimitError) as err:
            c.create_resource("second", kind)
    assert time.monotonic() - started < 5
    assert (err.value.status, err.value.code) == (429, "RATE_LIMIT_EXCEEDED")
    assert err.value.retry_after is not None and 0 < err.value.retry_after <= 60
    assert err.value.details.get("retry_after") is not None


def test_credentials_and_endpoint_from_environment(
    server: TollgateServer, kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TOLLGATE_API_KEY", server.admin_key)
    monkeypatch.setenv("TOLLGATE_ENDPOINT", server.url + "/")
    with Client() as c:
        assert c.endpoint == server.url
        assert c.create_resource("from env", kind).name == "from env"


def test_arguments_override_environment(server: TollgateServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOLLGATE_API_KEY", "tgk_wrong")
    monkeypatch.setenv("TOLLGATE_ENDPOINT", "http://127.0.0.1:9")
    with Client(server.admin_key, endpoint=server.url) as c:
        assert c.list_resources(per_page=1).per_page == 1


def test_no_credentials_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="TOLLGATE_API_KEY"):
        Client(endpoint="http://127.0.0.1:9")


def test_api_key_and_oauth_client_together_is_refused() -> None:
    with pytest.raises(ValueError, match="not both"):
        Client("tgk_x", client_id="tgc_x", client_secret="tgs_x")
