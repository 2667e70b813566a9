"""Resolves a client's settings from its arguments and the environment, once, so that the sync
and async clients cannot disagree about precedence."""

from __future__ import annotations

import os
from dataclasses import dataclass

from ._retry import RetryPolicy

DEFAULT_ENDPOINT = "http://127.0.0.1:8080"
"""Where `tollgate serve` listens by default."""


@dataclass(frozen=True, slots=True)
class Credentials:
    """Exactly one of an API key or an OAuth client id + secret."""

    api_key: str | None = None
    client_id: str | None = None
    client_secret: str | None = None
    scope: str | None = None

    @property
    def is_oauth(self) -> bool:
        return self.client_id is not None


@dataclass(frozen=True, slots=True)
class Settings:
    endpoint: str
    credentials: Credentials
    timeout: float
    retry: RetryPolicy


def resolve_settings(
    *,
    api_key: str | None,
    endpoint: str | None,
    client_id: str | None,
    client_secret: str | None,
    scope: str | None,
    timeout: float,
    retry: RetryPolicy,
) -> Settings:
    """Arguments win over the environment; an explicit OAuth client wins over `TOLLGATE_API_KEY`.

    Raises ValueError when no credential can be found or two are given, because a client that
    would only fail on its first request hides a configuration mistake.
    """
    if api_key is not None and (client_id is not None or client_secret is not None):
        raise ValueError("give either api_key or client_id/client_secret, not both")
    if (client_id is None) != (client_secret is None):
        raise ValueError("client_id and client_secret must be given together")
    if api_key is None and client_id is None:
        api_key = os.environ.get("TOLLGATE_API_KEY") or None
        if api_key is None:
            client_id = os.environ.get("TOLLGATE_CLIENT_ID") or None
            client_secret = os.environ.get("TOLLGATE_CLIENT_SECRET") or None
    if api_key is not None:
        credentials = Credentials(api_key=api_key)
    elif client_id is not None and client_secret is not None:
        credentials = Credentials(client_id=client_id, client_secret=client_secret, scope=scope)
    else:
        raise ValueError(
            "no credentials: pass api_key (or client_id and client_secret), "
            "or set TOLLGATE_API_KEY (or TOLLGATE_CLIENT_ID and TOLLGATE_CLIENT_SECRET)"
        )
    endpoint = endpoint or os.environ.get("TOLLGATE_ENDPOINT") or DEFAULT_ENDPOINT
    if timeout <= 0:
        raise ValueError("timeout must be positive")
    return Settings(endpoint=normalize_endpoint(endpoint), credentials=credentials, timeout=timeout, retry=retry)


def normalize_endpoint(endpoint: str) -> str:
    """The base URL without a trailing `/` or `/v1`: paths already start with `/v1`, and
    `https://host/v1` is what people copy from the API reference."""
    endpoint = endpoint.strip().rstrip("/")
    if not endpoint.startswith(("http://", "https://")):
        raise ValueError(f"endpoint must be an http:// or https:// URL, not {endpoint!r}")
    if endpoint.endswith("/v1"):
        endpoint = endpoint[: -len("/v1")]
    return endpoint
