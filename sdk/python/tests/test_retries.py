"""Retries against a local fault-injecting server: which requests are retried, how often, how
long the client waits, and which error is raised in the end."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from fault_server import Action, FaultServer, drop, error, ok, resource_body
from tollgate import (
    APIConnectionError,
    APITimeoutError,
    Client,
    RateLimitError,
    ServerError,
    ValidationError,
    __version__,
)

RES = "res_01JD3Z0000000000000000000"


@pytest.fixture
def fault() -> Iterator[FaultServer]:
    with FaultServer() as f:
        yield f


def fast_client(fault: FaultServer, **options: object) -> Client:
    """Tiny backoff so tests measure Retry-After, not jitter."""
    settings: dict[str, object] = {"backoff_base": 0.01, "backoff_cap": 0.05, **options}
    return Client("tgk_test", endpoint=fault.url, **settings)  # type: ignore[arg-type]


def test_429_waits_at_least_retry_after(fault: FaultServer) -> None:
    fault.script = [error(429, "RATE_LIMIT_EXCEEDED", {"Retry-After": "1"}, retry_after=1), ok()]
    with fast_client(fault) as c:
        assert c.get_resource(RES).id == RES
    first, second = fault.api_requests()
    assert second.at - first.at >= 1.0
    assert second.at - first.at < 3.0


def test_503_then_200_is_retried(fault: FaultServer) -> None:
    fault.script = [error(503, "SERVICE_UNAVAILABLE"), ok()]
    with fast_client(fault) as c:
        assert c.get_resource(RES).version == 1
    assert len(fault.api_requests()) == 2


@pytest.mark.parametrize("status", [500, 502, 504])
def test_other_5xx_are_retried(fault: FaultServer, status: int) -> None:
    fault.script = [Action(status, {"oops": True}), ok()]
    with fast_client(fault) as c:
        c.get_resource(RES)
    assert len(fault.api_requests()) == 2


def test_dropped_connection_then_200_is_retried(fault: FaultServer) -> None:
    fault.script = [drop(), ok()]
    with fast_client(fault) as c:
        assert c.get_resource(RES).id == RES
    assert len(fault.api_requests()) == 2


def test_post_retries_reuse_one_idempotency_key(fault: FaultServer) -> None:
    fault.script = [error(503, "SERVICE_UNAVAILABLE"), drop(), Action(201, resource_body())]
    with fast_client(fault) as c:
        c.create_resource("x", "machine")
        c.create_resource("y", "machine")
    requests = fault.api_requests()
    assert [r.method for r in requests] == ["POST"] * 4
    keys = [r.headers["idempotency-key"] for r in requests]
    assert keys[0] == keys[1] == keys[2]
    assert uuid.UUID(keys[0]).version == 4
    assert keys[3] != keys[0], "each call gets its own key"


def test_caller_supplied_idempotency_key_is_sent(fault: FaultServer) -> None:
    with fast_client(fault) as c:
        c.create_resource("x", "machine", idempotency_key="order-42")
    assert fault.api_requests()[0].headers["idempotency-key"] == "order-42"


def test_patch_carries_key_and_if_match_and_is_retried(fault: FaultServer) -> None:
    fault.script = [error(502, "BAD_GATEWAY"), ok()]
    with fast_client(fault) as c:
        c.update_resource(RES, name="new", if_version=3)
    first, second = fault.api_requests()
    assert first.method == "PATCH"
    assert first.headers["if-match"] == '"3"'
    assert first.headers["content-type"] == "application/merge-patch+json"
    assert first.headers["idempotency-key"] == second.headers["idempotency-key"]


def test_post_or_patch_without_idempotency_key_is_not_retried(fault: FaultServer) -> None:
    """Only request() can send one without a key; the SDK's own methods always add one."""
    fault.script = [error(503, "SERVICE_UNAVAILABLE"), drop()]
    with fast_client(fault) as c:
        with pytest.raises(ServerError):
            c.request("PATCH", f"/v1/resource/{RES}", json={"name": "x"})
        with pytest.raises(APIConnectionError):
            c.request("POST", "/v1/resource", json={"name": "x", "type": "t"})
    assert len(fault.api_requests()) == 2
    assert "idempotency-key" not in fault.api_requests()[0].headers


def test_max_retries_is_honoured_and_last_error_raised(fault: FaultServer) -> None:
    fault.script = [error(503, "SERVICE_UNAVAILABLE")] * 5
    with fast_client(fault, max_retries=2) as c, pytest.raises(ServerError) as err:
        c.get_resource(RES)
    assert len(fault.api_requests()) == 3
    assert (err.value.status, err.value.code) == (503, "SERVICE_UNAVAILABLE")


def test_exhausted_429_raises_rate_limit_error(fault: FaultServer) -> None:
    fault.script = [error(429, "RATE_LIMIT_EXCEEDED", retry_after=0)] * 3
    with fast_client(fault, max_retries=1) as c, pytest.raises(RateLimitError) as err:
        c.get_resource(RES)
    assert len(fault.api_requests()) == 2
    assert err.value.retry_after == 0  # from details.retry_after when there is no header


def test_exhausted_drops_raise_connection_error(fault: FaultServer) -> None:
    fault.script = [drop()] * 3
    with fast_client(fault, max_retries=2) as c, pytest.raises(APIConnectionError):
        c.delete_resource(RES)
    assert len(fault.api_requests()) == 3


def test_max_retries_zero_sends_once(fault: FaultServer) -> None:
    fault.script = [error(503, "SERVICE_UNAVAILABLE"), ok()]
    with fast_client(fault, max_retries=0) as c, pytest.raises(ServerError):
        c.get_resource(RES)
    assert len(fault.api_requests()) == 1


def test_retry_after_longer_than_max_retry_wait_is_raised_at_once(fault: FaultServer) -> None:
    fault.script = [error(429, "RATE_LIMIT_EXCEEDED", {"Retry-After": "120"})]
    with fast_client(fault, max_retry_wait=10) as c, pytest.raises(RateLimitError) as err:
        c.get_resource(RES)
    assert err.value.retry_after == 120
    assert len(fault.api_requests()) == 1


def test_client_errors_are_not_retried(fault: FaultServer) -> None:
    fault.script = [error(400, "VALIDATION_FAILED", name="must be 1-200 characters")]
    with fast_client(fault) as c, pytest.raises(ValidationError) as err:
        c.create_resource("", "machine")
    assert err.value.details == {"name": "must be 1-200 characters"}
    assert len(fault.api_requests()) == 1


def test_timeout_is_retried_then_raised(fault: FaultServer) -> None:
    fault.script = [Action(200, resource_body(), delay=1.0), ok()]
    with fast_client(fault, timeout=0.3) as c:
        assert c.get_resource(RES).id == RES
    fault.script = [Action(200, resource_body(), delay=1.0)] * 2
    with fast_client(fault, timeout=0.3, max_retries=1) as c, pytest.raises(APITimeoutError):
        c.get_resource(RES)


def test_non_json_error_page_is_still_typed(fault: FaultServer) -> None:
    fault.script = [Action(502, None, {"X-Request-Id": "req_proxy"})]
    with fast_client(fault, max_retries=0) as c, pytest.raises(ServerError) as err:
        c.get_resource(RES)
    assert (err.value.status, err.value.code, err.value.request_id) == (502, "HTTP_502", "req_proxy")


def test_user_agent_and_api_key_header(fault: FaultServer) -> None:
    with fast_client(fault) as c:
        c.get_resource(RES)
    sent = fault.api_requests()[0].headers
    assert sent["user-agent"] == f"tollgate-python/{__version__}"
    assert sent["x-api-key"] == "tgk_test"
