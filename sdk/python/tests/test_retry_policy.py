"""The retry rules as pure functions: which requests may be replayed, the jittered backoff's
bounds, and how Retry-After is read."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import httpx
import pytest

from tollgate import APIConnectionError, ConflictError, RateLimitError, RetryPolicy, ServerError, ValidationError
from tollgate._retry import is_replayable
from tollgate.errors import retry_after_seconds


@pytest.mark.parametrize(
    ("method", "headers", "expected"),
    [
        ("GET", {}, True),
        ("delete", {}, True),
        ("PUT", {}, True),
        ("POST", {}, False),
        ("PATCH", {}, False),
        ("POST", {"idempotency-key": "k"}, True),
        ("PATCH", {"Idempotency-Key": "k"}, True),
    ],
)
def test_replayable_methods(method: str, headers: dict[str, str], expected: bool) -> None:
    assert is_replayable(method, headers) is expected


def test_backoff_is_full_jitter_under_the_cap() -> None:
    policy = RetryPolicy(backoff_base=0.5, backoff_cap=2.0)
    for retry, ceiling in [(0, 0.5), (1, 1.0), (2, 2.0), (6, 2.0)]:
        samples = [policy.backoff(retry) for _ in range(200)]
        assert all(0.0 <= s <= ceiling for s in samples)
        assert max(samples) > ceiling / 2, "spread over the whole range"


def test_delay_decisions() -> None:
    policy = RetryPolicy(max_retries=2, backoff_base=0.1, backoff_cap=0.1, max_retry_wait=30)
    unavailable = ServerError("x", status=503)
    assert policy.delay(0, unavailable, replayable=True) is not None
    assert policy.delay(2, unavailable, replayable=True) is None  # budget spent
    assert policy.delay(0, unavailable, replayable=False) is None
    assert policy.delay(0, ServerError("x", status=501), replayable=True) is None  # not implemented: final
    assert policy.delay(0, ValidationError("x", status=400), replayable=True) is None
    assert policy.delay(0, APIConnectionError("x"), replayable=True) is not None
    assert policy.delay(0, RateLimitError("x", status=429, retry_after=7), replayable=True) == 7
    assert policy.delay(0, RateLimitError("x", status=429, retry_after=31), replayable=True) is None
    in_use = ConflictError("x", status=409, code="IDEMPOTENCY_KEY_IN_USE")
    assert policy.delay(0, in_use, replayable=True) is not None
    assert policy.delay(0, ConflictError("x", status=409, code="OTHER"), replayable=True) is None


def test_retry_after_forms() -> None:
    def response(headers: dict[str, str]) -> httpx.Response:
        return httpx.Response(429, headers=headers)

    assert retry_after_seconds(response({"Retry-After": "3"})) == 3
    later = format_datetime(datetime.now(timezone.utc) + timedelta(seconds=30), usegmt=True)
    assert 25 < (retry_after_seconds(response({"Retry-After": later})) or 0) <= 30
    assert retry_after_seconds(response({}), {"retry_after": 5}) == 5
    assert retry_after_seconds(response({"Retry-After": "soon"})) is None
    assert retry_after_seconds(response({})) is None
