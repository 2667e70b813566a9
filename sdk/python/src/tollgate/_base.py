"""What the sync and async clients share: settings, credentials and the token cache."""

from __future__ import annotations

from ._oauth import Token, TokenCache, token_call
from ._http import Call
from ._retry import RetryPolicy
from ._settings import Settings, resolve_settings

DEFAULT_TIMEOUT = 30.0


class ClientBase:
    def __init__(
        self,
        api_key: str | None,
        *,
        endpoint: str | None,
        client_id: str | None,
        client_secret: str | None,
        scope: str | None,
        timeout: float,
        max_retries: int,
        backoff_base: float,
        backoff_cap: float,
        max_retry_wait: float,
    ) -> None:
        retry = RetryPolicy(
            max_retries=max_retries, backoff_base=backoff_base, backoff_cap=backoff_cap, max_retry_wait=max_retry_wait
        )
        self._settings: Settings = resolve_settings(
            api_key=api_key,
            endpoint=endpoint,
            client_id=client_id,
            client_secret=client_secret,
            scope=scope,
            timeout=timeout,
            retry=retry,
        )
        self._tokens = TokenCache()

    @property
    def endpoint(self) -> str:
        """The base URL requests go to."""
        return self._settings.endpoint

    @property
    def retry_policy(self) -> RetryPolicy:
        return self._settings.retry

    @property
    def uses_oauth(self) -> bool:
        return self._settings.credentials.is_oauth

    def _key_headers(self) -> dict[str, str]:
        """The API key header (only meaningful when not using OAuth)."""
        return {"X-API-Key": self._settings.credentials.api_key or ""}

    def _token_call(self) -> Call[Token]:
        return token_call(self._settings.credentials, self._tokens)

    def __repr__(self) -> str:
        kind = "oauth" if self.uses_oauth else "api_key"
        return f"{type(self).__name__}(endpoint={self.endpoint!r}, auth={kind})"
