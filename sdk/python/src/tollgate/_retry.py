"""When to retry and how long to wait: pure functions, shared by the sync and async clients.

A request is retried only if sending it twice cannot do something twice:
- GET, HEAD, OPTIONS, PUT and DELETE are idempotent by definition;
- POST and PATCH only when they carry an `Idempotency-Key` (the SDK adds one to every POST and
  PATCH it builds, and reuses it across that call's attempts, so the server can deduplicate);
- any request whose connection failed before a byte was sent (nothing reached the server).

It is retried on 429 (no sooner than `Retry-After`), 500, 502, 503, 504, on 409
`IDEMPOTENCY_KEY_IN_USE` (the first attempt is still running on the server) and on network
failures, with exponential backoff and full jitter so that many clients do not retry in step.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass

from .errors import APIConnectionError, RateLimitError, TollgateError

RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
IDEMPOTENCY_HEADER = "Idempotency-Key"


def is_replayable(method: str, headers: Mapping[str, str]) -> bool:
    """Whether the request may be sent again after an ambiguous failure."""
    if method.upper() in IDEMPOTENT_METHODS:
        return True
    return any(name.lower() == IDEMPOTENCY_HEADER.lower() for name in headers)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """`max_retries` counts retries, not attempts: 3 means up to 4 requests.

    `max_retry_wait` bounds how long the SDK sleeps for a `Retry-After`: a longer one (an hourly
    quota is spent) is raised at once as RateLimitError so the caller decides, rather than the
    SDK blocking silently for an hour.
    """

    max_retries: int = 3
    backoff_base: float = 0.5
    backoff_cap: float = 8.0
    max_retry_wait: float = 60.0

    def __post_init__(self) -> None:
        if self.max_retries < 0:
            raise ValueError("max_retries must be 0 or more")
        if self.backoff_base < 0 or self.backoff_cap < 0:
            raise ValueError("backoff_base and backoff_cap must be 0 or more")

    def backoff(self, retry: int) -> float:
        """Full jitter: uniform in [0, min(cap, base * 2**retry)]."""
        return random.uniform(0.0, min(self.backoff_cap, self.backoff_base * (2**retry)))

    def delay(self, retry: int, error: TollgateError, *, replayable: bool) -> float | None:
        """Seconds to sleep before retry number `retry + 1`, or None to give up and raise."""
        if retry >= self.max_retries or not replayable or not is_transient(error):
            return None
        wait = self.backoff(retry)
        if isinstance(error, RateLimitError) and error.retry_after is not None:
            if error.retry_after > self.max_retry_wait:
                return None
            wait = max(wait, error.retry_after)
        return wait


def is_transient(error: TollgateError) -> bool:
    """Whether the same request may succeed later."""
    if isinstance(error, APIConnectionError):
        return True
    if error.status in RETRYABLE_STATUSES:
        return True
    return error.status == 409 and error.code == "IDEMPOTENCY_KEY_IN_USE"
