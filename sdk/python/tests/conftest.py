"""Shared fixtures: one real Tollgate server for the whole session, clients on it, and a clean
environment so that a developer's own TOLLGATE_* variables never leak into a test."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterator

import pytest

from tollgate import AsyncClient, Client
from tollgate_server import TollgateServer

SDK_ENV = ("TOLLGATE_API_KEY", "TOLLGATE_ENDPOINT", "TOLLGATE_CLIENT_ID", "TOLLGATE_CLIENT_SECRET")

@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in SDK_ENV:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def server() -> Iterator[TollgateServer]:
    srv = TollgateServer()
    yield srv
    srv.stop()


@pytest.fixture
def client(server: TollgateServer) -> Iterator[Client]:
    with Client(server.admin_key, endpoint=server.url) as c:
        yield c


@pytest.fixture
async def async_client(server: TollgateServer) -> AsyncIterator[AsyncClient]:
    async with AsyncClient(server.admin_key, endpoint=server.url) as c:
        yield c


@pytest.fixture
def kind() -> str:
    """A resource type no other test uses, so list assertions see only this test's resources."""
    return "t_" + secrets.token_hex(6)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
