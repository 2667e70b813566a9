"""What a user sees: debug and warning logs, endpoints given with /v1, errors that name the URL
and the bad fields, unknown options refused, deprecation warnings once."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator

import pytest

from fault_server import Action, FaultServer, error, ok, resource_body
from tollgate import APIConnectionError, Client, ValidationError
from tollgate_server import TollgateServer


@pytest.fixture
def fault() -> Iterator[FaultServer]:
    with FaultServer() as f:
        yield f


def test_every_request_is_logged_at_debug_without_secrets(
    server: TollgateServer, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger="tollgate"), Client(server.admin_key, endpoint=server.url) as c:
        c.list_resources(per_page=1)
    (line,) = [r.getMessage() for r in caplog.records if r.name == "tollgate"]
    assert line.startswith("GET /v1/resource -> 200 (request_id=req_") and line.endswith(" ms)")
    assert server.admin_key not in caplog.text


def test_each_retry_is_a_warning_with_its_reason_and_wait(fault: FaultServer, caplog: pytest.LogCaptureFixture) -> None:
    fault.script = [error(503, "SERVICE_UNAVAILABLE"), ok()]
    with caplog.at_level(logging.WARNING, logger="tollgate"):
        with Client("tgk_test", endpoint=fault.url, backoff_base=0.01, backoff_cap=0.01) as c:
            c.get_resource("res_1")
    (warning,) = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert warning.getMessage().startswith("GET /v1/resource/res_1: retry 1 in 0.0")
    assert "503 SERVICE_UNAVAILABLE" in warning.getMessage()


def test_deprecation_headers_warn_once_per_endpoint(fault: FaultServer, caplog: pytest.LogCaptureFixture) -> None:
    headers = {"Deprecation": "@1767225599", "Sunset": "Wed, 30 Jun 2027 23:59:59 GMT",
               "Link": '<https://example.test/changelog#deprecated>; rel="deprecation"'}
    fault.script = [Action(200, resource_body(), headers) for _ in range(3)]
    with caplog.at_level(logging.WARNING, logger="tollgate"):
        with Client("tgk_test", endpoint=fault.url) as c:
            for _ in range(3):
                c.get_resource("res_deprecated_once")
    warnings = [r.getMessage() for r in caplog.records if "deprecated" in r.getMessage()]
    assert len(warnings) == 1
    assert "Deprecation: @1767225599; Sunset: Wed, 30 Jun 2027 23:59:59 GMT; see <https://example.test" in warnings[0]


def test_the_servers_deprecation_is_a_warning_once(server: TollgateServer, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="tollgate"), Client(server.admin_key, endpoint=server.url) as c:
        for _ in range(3):
            c.request("POST", "/v1/keys", json={"name": "legacy", "scopes": "resource:read"})
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [
        "POST /v1/keys is deprecated (Deprecation: @1796083200; Sunset: Wed, 30 Jun 2027 23:59:59 GMT; "
        'see </CHANGELOG.md#deprecation-scopes-string>; rel="deprecation"; type="text/markdown")'
    ]
    debug = [r.getMessage() for r in caplog.records if r.getMessage().startswith("POST /v1/keys -> 201")]
    assert len(debug) == 3


def test_an_endpoint_ending_in_v1_works(server: TollgateServer) -> None:
    with Client(server.admin_key, endpoint=server.url + "/v1/") as c:
        assert c.endpoint == server.url
        assert c.list_resources(per_page=1).per_page == 1
    with pytest.raises(ValueError, match="http:// or https://"):
        Client("tgk_x", endpoint="127.0.0.1:8080")


def test_a_refused_connection_names_the_url() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with Client("tgk_x", endpoint=f"http://127.0.0.1:{port}", max_retries=0) as c:
        with pytest.raises(APIConnectionError) as err:
            c.list_resources()
    assert f"GET http://127.0.0.1:{port}/v1/resource" in str(err.value)


def test_validation_error_string_names_the_fields(client: Client) -> None:
    with pytest.raises(ValidationError) as err:
        client.create_resource("", "Not A Type")
    text = str(err.value)
    assert text.startswith("400 VALIDATION_FAILED Validation failed: ")
    assert "name: " in text and "type: " in text and "(request_id=req_" in text


def test_unknown_options_are_refused(server: TollgateServer) -> None:
    with pytest.raises(TypeError, match="unexpected keyword argument 'perPage'"):
        Client("tgk_x", endpoint=server.url).list_resources(perPage=5)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="retries"):
        Client("tgk_x", endpoint=server.url, retries=2)  # type: ignore[call-arg]
