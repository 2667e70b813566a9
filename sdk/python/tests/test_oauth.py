"""OAuth client credentials against the local fault server: lazy token fetch, HTTP Basic client
authentication, renewal before expiry, one renewal on a 401, and token endpoint failures."""

from __future__ import annotations

import time

import pytest

from fault_server import Action, FaultServer, basic_credentials, error, form
from tollgate import AsyncClient, AuthenticationError, Client

RES = "res_01JD3Z0000000000000000000"


def oauth_client(fault: FaultServer, **options: object) -> Client:
    return Client(
        client_id="tgc_id+1", client_secret="tgs_s/cret", endpoint=fault.url, backoff_base=0.01, **options  # type: ignore[arg-type]
    )


def test_token_is_fetched_lazily_with_basic_auth_and_reused() -> None:
    with FaultServer() as fault, oauth_client(fault, scope="resource:read") as c:
        assert fault.requests == []
        c.get_resource(RES)
        c.get_resource(RES)
        token_request = fault.token_requests()
        assert len(token_request) == 1
        assert token_request[0].headers["content-type"] == "application/x-www-form-urlencoded"
        assert basic_credentials(token_request[0]) == ("tgc_id%2B1", "tgs_s%2Fcret")
        assert form(token_request[0]) == {"grant_type": ["client_credentials"], "scope": ["resource:read"]}
        assert [r.headers["authorization"] for r in fault.api_requests()] == ["Bearer tok1"] * 2


def test_token_is_renewed_before_it_expires() -> None:
    # A 2 s token is renewed after half its life (the 60 s margin is capped at half).
    with FaultServer(token_lifetime=2) as fault, oauth_client(fault) as c:
        c.get_resource(RES)
        time.sleep(1.1)
        c.get_resource(RES)
        assert [r.headers["authorization"] for r in fault.api_requests()] == ["Bearer tok1", "Bearer tok2"]


def test_401_renews_the_token_once_and_retries() -> None:
    with FaultServer([error(401, "AUTHENTICATION_FAILED"), Action(200, None)]) as fault, oauth_client(fault) as c:
        c.delete_resource(RES)
        assert [r.headers["authorization"] for r in fault.api_requests()] == ["Bearer tok1", "Bearer tok2"]


def test_persistent_401_raises_after_one_renewal() -> None:
    with FaultServer([error(401, "AUTHENTICATION_FAILED")] * 3) as fault, oauth_client(fault) as c:
        with pytest.raises(AuthenticationError):
            c.get_resource(RES)
        assert len(fault.token_requests()) == 2
        assert len(fault.api_requests()) == 2


def test_refused_client_is_authentication_error() -> None:
    with FaultServer() as fault, oauth_client(fault) as c:
        fault.token_script = [Action(400, {"error": "invalid_scope", "error_description": "no such scope"})]
        with pytest.raises(AuthenticationError) as err:
            c.get_resource(RES)
        assert (err.value.status, err.value.code, err.value.message) == (400, "invalid_scope", "no such scope")
        assert fault.api_requests() == []


def test_token_endpoint_outage_is_retried() -> None:
    with FaultServer() as fault, oauth_client(fault) as c:
        fault.token_script = [error(503, "SERVICE_UNAVAILABLE")]
        c.get_resource(RES)
        assert len(fault.token_requests()) == 2
        assert fault.api_requests()[0].headers["authorization"] == "Bearer tok1"


@pytest.mark.anyio
async def test_async_client_renews_on_401() -> None:
    with FaultServer([error(401, "AUTHENTICATION_FAILED")]) as fault:
        async with AsyncClient(client_id="tgc_a", client_secret="tgs_b", endpoint=fault.url) as c:
            await c.get_resource(RES)
        assert [r.headers["authorization"] for r in fault.api_requests()] == ["Bearer tok1", "Bearer tok2"]


@pytest.mark.anyio
async def test_oauth_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    with FaultServer() as fault:
        monkeypatch.setenv("TOLLGATE_CLIENT_ID", "tgc_env")
        monkeypatch.setenv("TOLLGATE_CLIENT_SECRET", "tgs_env")
        monkeypatch.setenv("TOLLGATE_ENDPOINT", fault.url)
        async with AsyncClient() as c:
            assert c.uses_oauth
            await c.get_resource(RES)
        assert basic_credentials(fault.token_requests()[0]) == ("tgc_env", "tgs_env")
