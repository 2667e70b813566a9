"""The exceptions the SDK raises, one class per kind of failure a caller handles differently.

Every API error carries the server's envelope (`code`, `message`, `details`, `request_id`) so
that a log line or a support ticket can quote the exact request the server saw. The class is
chosen by the envelope's `code` (`_BY_CODE` covers every code of the server's error table; a
test checks it against docs/openapi.json); a code this SDK does not know, or an answer without
the envelope, is classed by its HTTP status.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any

import httpx


class TollgateError(Exception):
    """Base of every error this SDK raises.

    `status` is the HTTP status, or None when no response arrived (network failures).
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        details: Mapping[str, Any] | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.details: dict[str, Any] = dict(details or {})
        self.request_id = request_id

    @property
    def operation_index(self) -> int | None:
        """For a failed batch: the position of the operation that failed (`details.index`)."""
        index = self.details.get("index")
        return index if isinstance(index, int) and not isinstance(index, bool) else None

    def _extra(self) -> str:
        """What the string form adds after the message (the fields of a validation error)."""
        return ""

    def __str__(self) -> str:
        """`STATUS CODE message[: fields] (request_id=...)`: what a log line or ticket needs."""
        parts = [f"{self.status}" if self.status else None, self.code, self.message]
        text = " ".join(p for p in parts if p) + self._extra()
        if self.operation_index is not None:
            text += f" (operation {self.operation_index})"
        return f"{text} (request_id={self.request_id})" if self.request_id else text


class AuthenticationError(TollgateError):
    """401: the key or token is missing, malformed, expired or revoked (also OAuth token failures)."""


class PermissionDeniedError(TollgateError):
    """403: the credential is valid but lacks the scope; `details["required_scope"]` names it."""


class NotFoundError(TollgateError):
    """404: no such resource in the credential's project (also for malformed ids)."""


@dataclass(frozen=True, slots=True)
class FieldError:
    """One way a resource breaks its registered type: an entry of `details.errors`."""

    pointer: str
    """Where, as a JSON Pointer (RFC 6901) into the resource: `/data/cpus`, `/attributes/region`."""
    message: str
    """What is wrong there."""


class ValidationError(TollgateError):
    """400, 413, 415 or 422: the request itself is wrong; `details` maps each bad field to why
    (`fields` reads that map, and also the `details.errors` list of `{pointer, message}` that
    schema validation answers with, which `errors` gives typed and in full)."""

    @property
    def errors(self) -> list[FieldError]:
        """For a write that breaks its registered type: every violation, in the server's order
        (empty for other validation errors)."""
        errors = self.details.get("errors")
        if not isinstance(errors, list):
            return []
        return [
            FieldError(str(e["pointer"]), str(e.get("message", "")))
            for e in errors
            if isinstance(e, Mapping) and "pointer" in e
        ]

    @property
    def fields(self) -> dict[str, str]:
        """Each bad field (a parameter name or a JSON Pointer) and why it was refused."""
        found = {e.pointer: e.message for e in self.errors}
        for key, value in self.details.items():
            if isinstance(value, str):
                found[key] = value
        return found

    def _extra(self) -> str:
        # Every violation, even two at one pointer (which `fields` holds once), then the map.
        parts = [f"{e.pointer}: {e.message}" for e in self.errors]
        parts += [f"{k}: {v}" for k, v in self.details.items() if isinstance(v, str)]
        return ": " + "; ".join(parts) if parts else ""


class ConflictError(TollgateError):
    """409: CONFLICT (the change conflicts with the current state, e.g. rotating a revoked key), or
    IDEMPOTENCY_KEY_IN_USE while the first request with that key is still running."""


class GoneError(TollgateError):
    """410 GONE: an event stream was resumed from an id older than the retention window; some
    events were missed, so read the current state again and resume from the newest event."""


class UriTooLongError(ValidationError):
    """414 URI_TOO_LONG: the path and query are longer than the server accepts."""


class HeadersTooLargeError(ValidationError):
    """431 HEADERS_TOO_LARGE: the request's header section is larger than the server accepts."""


class PreconditionFailedError(TollgateError):
    """412: `if_version` named an older version; `details["current_version"]` is the live one."""


class RateLimitError(TollgateError):
    """429: over the credential's limit; wait `retry_after` seconds before trying again."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ServerError(TollgateError):
    """5xx: the server (or a proxy in front of it) failed; safe requests are retried first."""


class APIConnectionError(TollgateError):
    """No response: the connection could not be made or was dropped."""


class APITimeoutError(APIConnectionError):
    """No response within the client's timeout."""


_BY_CODE: dict[str, type[TollgateError]] = {
    "AUTHENTICATION_FAILED": AuthenticationError,
    "PERMISSION_DENIED": PermissionDeniedError,
    "NOT_FOUND": NotFoundError,
    "VALIDATION_FAILED": ValidationError,
    "MALFORMED_JSON": ValidationError,
    "UNSUPPORTED_MEDIA_TYPE": ValidationError,
    "PAYLOAD_TOO_LARGE": ValidationError,
    "IDEMPOTENCY_KEY_REUSED": ValidationError,
    # A wrong method, or a request the server gave up waiting for: nothing more specific.
    "METHOD_NOT_ALLOWED": TollgateError,
    "REQUEST_TIMEOUT": TollgateError,
    "URI_TOO_LONG": UriTooLongError,
    "HEADERS_TOO_LARGE": HeadersTooLargeError,
    "PRECONDITION_FAILED": PreconditionFailedError,
    "CONFLICT": ConflictError,
    "IDEMPOTENCY_KEY_IN_USE": ConflictError,
    "RATE_LIMIT_EXCEEDED": RateLimitError,
    "INTERNAL_ERROR": ServerError,
    "SERVICE_UNAVAILABLE": ServerError,
    "GONE": GoneError,
}
"""The class for each code of the server's error table."""

_BY_STATUS: dict[int, type[TollgateError]] = {
    400: ValidationError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    410: GoneError,
    412: PreconditionFailedError,
    413: ValidationError,
    414: UriTooLongError,
    415: ValidationError,
    422: ValidationError,
    429: RateLimitError,
    431: HeadersTooLargeError,
}
"""The fallback for codes this SDK does not know and answers without the envelope."""


def error_from_response(response: httpx.Response) -> TollgateError:
    """Builds the typed error for a non-2xx response.

    Understands the API's envelope `{"error": {"code", ...}}`, the OAuth endpoints' RFC 6749
    form `{"error": "invalid_client", "error_description": ...}`, and anything else (a proxy's
    HTML page) by status alone.
    """
    status = response.status_code
    body = _json_or_none(response)
    code, message = f"HTTP_{status}", response.reason_phrase or "HTTP error"
    details: dict[str, Any] = {}
    request_id: str | None = None
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        code = str(error.get("code") or code)
        message = str(error.get("message") or message)
        if isinstance(error.get("details"), dict):
            details = error["details"]
        request_id = error.get("request_id")
    elif isinstance(error, str) and isinstance(body, dict):
        code = error
        message = str(body.get("error_description") or error)
    request_id = request_id or response.headers.get("x-request-id")
    fields: dict[str, Any] = {"status": status, "code": code, "details": details, "request_id": request_id}
    cls = _BY_CODE.get(code) or _BY_STATUS.get(status) or (ServerError if status >= 500 else TollgateError)
    if issubclass(cls, RateLimitError):
        return cls(message, retry_after=retry_after_seconds(response, details), **fields)
    return cls(message, **fields)


def retry_after_seconds(response: httpx.Response, details: Mapping[str, Any] | None = None) -> float | None:
    """Seconds to wait, from `Retry-After` (delta-seconds or an HTTP date), else `details.retry_after`."""
    header = response.headers.get("retry-after")
    if header:
        header = header.strip()
        try:
            return max(0.0, float(header))
        except ValueError:
            pass
        try:
            when = parsedate_to_datetime(header)
        except (TypeError, ValueError):
            when = None
        if when is not None:
            return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())
    value = (details or {}).get("retry_after")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return max(0.0, float(value))
    return None


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return json.loads(response.content) if response.content else None
    except ValueError:
        return None
