"""OAuth client credentials against the real server's `/oauth/token` (enabled by
TOLLGATE_TEST_OAUTH=1)."""

from __future__ import annotations

import os

import httpx
import pytest

from tollgate import AsyncClient, AuthenticationError, Client, PermissionDeniedError
from tollgate_server import TollgateServer

pytestmark = pytest.mark.skipif(
    os.environ.get("TOLLGATE_TEST_OAUTH") != "1",
    reason="OAuth tests against the server run only with TOLLGATE_TEST_OAUTH=1",
)


def test_client_credentials_crud(server: TollgateServer, kind: str) -> None:
    client_id, secret = server.create_oauth_client(["resource:read", "resource:write"])
    with Client(client_id=client_id, client_secret=secret, endpoint=server.url) as c:
        created = c.create_resource("via oauth", kind, attributes={"auth": "oauth"})
        assert c.get_resource(created.id).attributes == {"auth": "oauth"}
        assert [r.id for r in c.iter_resources(type=kind)] == [created.id]


def test_requested_scope_narrows_the_token(server: TollgateServer, kind: str) -> None:
    client_id, secret = server.create_oauth_client(["resource:read", "resource:write"])
    with Client(client_id=client_id, client_secret=secret, scope="resource:read", endpoint=server.url) as c:
        assert c.list_resources(type=kind).items == []
        with pytest.raises(PermissionDeniedError):
            c.create_resource("nope", kind)


def test_wrong_secret_is_authentication_error(server: TollgateServer) -> None:
    client_id, _ = server.create_oauth_client(["resource:read"])
    wrong = "tgs_" + "A" * 46
    with Client(client_id=client_id, client_secret=wrong, endpoint=server.url) as c:
        with pytest.raises(AuthenticationError) as err:
            c.list_resources()
    assert err.value.status == 401
    assert err.value.code == "invalid_client"


def test_revoked_token_is_replaced_transparently(server: TollgateServer, kind: str) -> None:
    client_id, secret = server.create_oauth_client(["resource:read", "resource:write"])
    with Client(client_id=client_id, client_secret=secret, endpoint=server.url) as c:
        c.list_resources(type=kind)
        token = c._tokens.current()  # white-box: the only way to learn which token to revoke
        assert token is not None
        revoked = httpx.post(
            server.url + "/oauth/revoke", data={"token": token.value}, auth=(client_id, secret), timeout=10
        )
        assert revoked.status_code == 200
        assert c.create_resource("after revoke", kind).name == "after revoke"
        renewed = c._tokens.current()
        assert renewed is not None and renewed.value != token.value


@pytest.mark.anyio
async def test_async_client_credentials(server: TollgateServer, kind: str) -> None:
    client_id, secret = server.create_oauth_client(["resource:read", "resource:write"])
    async with AsyncClient(client_id=client_id, client_secret=secret, endpoint=server.url) as c:
        created = await c.create_resource("async oauth", kind)
        assert (await c.get_resource(created.id)).id == created.id
