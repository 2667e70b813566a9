"""OAuth 2.0 client credentials: the token request and the cached token's lifetime.

The token is fetched on the first API call, not when the client is built, so that building a
client never does I/O; it is renewed shortly before it expires so that no request is sent with
a token that dies in flight.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote_plus, urlencode

import httpx

from ._http import Call
from ._settings import Credentials
from .errors import AuthenticationError, TollgateError

REFRESH_MARGIN = 60.0
"""Renew this many seconds before expiry (at most half the token's lifetime, so a short-lived
token is still reused)."""


@dataclass(frozen=True, slots=True)
class Token:
    value: str
    refresh_at: float
    """time.monotonic() after which the token is renewed before use."""


class TokenCache:
    """Holds the current token; callers serialize access with their own (thread or task) lock."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._token: Token | None = None

    def current(self) -> Token | None:
        token = self._token
        return token if token is not None and self._clock() < token.refresh_at else None

    def store(self, token: Token) -> None:
        self._token = token

    def invalidate(self, value: str) -> None:
        """Drops the token the server refused, unless another request already replaced it."""
        if self._token is not None and self._token.value == value:
            self._token = None

    def token_from(self, response: httpx.Response) -> Token:
        body = response.json()
        value = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(value, str) or not value:
            raise AuthenticationError("the token endpoint answered without an access_token", status=response.status_code)
        lifetime = float(body.get("expires_in") or 3600)
        margin = min(REFRESH_MARGIN, lifetime / 2)
        return Token(value=value, refresh_at=self._clock() + lifetime - margin)


def token_call(credentials: Credentials, cache: TokenCache) -> Call[Token]:
    """`POST /oauth/token` with HTTP Basic client authentication (RFC 6749 section 2.3.1: id and
    secret form-urlencoded before base64)."""
    assert credentials.client_id is not None and credentials.client_secret is not None
    pair = f"{quote_plus(credentials.client_id)}:{quote_plus(credentials.client_secret)}"
    form = {"grant_type": "client_credentials"}
    if credentials.scope:
        form["scope"] = credentials.scope
    return Call(
        "POST",
        "/oauth/token",
        cache.token_from,
        headers={
            "Authorization": "Basic " + base64.b64encode(pair.encode()).decode("ascii"),
            "Content-Type": "application/x-www-form-urlencoded",
        },
        content=urlencode(form).encode(),
        authenticate=False,
        replayable=True,  # issuing a token changes nothing on the server
    )


def token_error(error: TollgateError) -> TollgateError:
    """A refused token request (RFC 6749 `invalid_client`, `invalid_scope`, ... on 400 or 401)
    is an authentication failure whatever its status; server errors stay what they are."""
    if error.status in (400, 401) and not isinstance(error, AuthenticationError):
        return AuthenticationError(
            error.message, status=error.status, code=error.code, details=error.details, request_id=error.request_id
        )
    return error
