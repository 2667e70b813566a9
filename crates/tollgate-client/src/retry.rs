//! When to retry and how long to wait. A request is retried only if sending it twice cannot do
//! something twice: GET, HEAD, PUT and DELETE always; POST and PATCH only with an
//! `Idempotency-Key` (the client adds one to every POST and PATCH and reuses it across that
//! call's attempts, so the server deduplicates); any request whose connection could not be
//! made, since nothing reached the server. It is retried on 429 (no sooner than
//! `Retry-After`), 500, 502, 503, 504, on 409 `IDEMPOTENCY_KEY_IN_USE` and when no response
//! came, with exponential backoff and full jitter so that many clients do not retry in step.

use std::time::Duration;

use rand::Rng;

use crate::{Error, ErrorKind};

/// The retry policy.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Retries after the first attempt: 3 means up to 4 requests.
    pub max_retries: u32,
    /// The first backoff's upper bound; it doubles with each retry.
    pub backoff_base: Duration,
    /// The largest backoff.
    pub backoff_cap: Duration,
    /// The longest `Retry-After` the client sleeps through; a longer one (an hourly quota is
    /// spent) is returned at once as a rate-limit error so the caller decides.
    pub max_retry_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 3,
            backoff_base: Duration::from_millis(500),
            backoff_cap: Duration::from_secs(8),
            max_retry_wait: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// Full jitter: uniform in [0, min(cap, base * 2^retry)].
    pub fn backoff(&self, retry: u32) -> Duration {
        let ceiling = self.backoff_base.saturating_mul(1 << retry.min(20)).min(self.backoff_cap);
        ceiling.mul_f64(rand::rng().random::<f64>())
    }

    /// How long to sleep before retry number `retry + 1`, or `None` to give up.
    pub fn delay(&self, retry: u32, error: &Error, replayable: bool) -> Option<Duration> {
        if retry >= self.max_retries || !replayable || !is_transient(error) {
            return None;
        }
        let wait = self.backoff(retry);
        match error.retry_after() {
            Some(after) if after > self.max_retry_wait => None,
            Some(after) => Some(wait.max(after)),
            None => Some(wait),
        }
    }
}

/// Whether the same request may succeed later.
pub(crate) fn is_transient(error: &Error) -> bool {
    match error.kind() {
        ErrorKind::Connection | ErrorKind::Timeout | ErrorKind::RateLimit => true,
        ErrorKind::Server => matches!(error.status(), Some(500 | 502 | 503 | 504)),
        ErrorKind::Conflict => error.code() == Some("IDEMPOTENCY_KEY_IN_USE"),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ApiError;

    fn api(status: u16, code: &str, retry_after: Option<u64>) -> Error {
        Error::Api(Box::new(ApiError {
            kind: crate::ErrorKind::from_status(status),
            status,
            code: code.into(),
            message: String::new(),
            details: serde_json::Value::Null,
            request_id: None,
            retry_after: retry_after.map(Duration::from_secs),
        }))
    }

    #[test]
    fn retries_only_what_is_safe_and_transient() {
        let p = RetryPolicy::default();
        assert!(p.delay(0, &api(503, "X", None), true).is_some());
        assert!(p.delay(0, &api(503, "X", None), false).is_none(), "not replayable");
        assert!(p.delay(0, &api(400, "VALIDATION_FAILED", None), true).is_none());
        assert!(p.delay(0, &api(501, "X", None), true).is_none());
        assert!(p.delay(0, &api(409, "IDEMPOTENCY_KEY_IN_USE", None), true).is_some());
        assert!(p.delay(3, &api(503, "X", None), true).is_none(), "out of retries");
        assert!(p.delay(0, &api(429, "RATE_LIMIT_EXCEEDED", Some(3600)), true).is_none(), "too long to wait");
        assert!(p.delay(0, &api(429, "RATE_LIMIT_EXCEEDED", Some(2)), true).unwrap() >= Duration::from_secs(2));
    }

    #[test]
    fn backoff_is_jittered_under_a_doubling_cap() {
        let p = RetryPolicy::default();
        for retry in 0..10 {
            let ceiling = (Duration::from_millis(500) * 2u32.pow(retry)).min(Duration::from_secs(8));
            let samples: Vec<_> = (0..50).map(|_| p.backoff(retry)).collect();
            assert!(samples.iter().all(|d| *d <= ceiling));
            assert!(samples.windows(2).any(|w| w[0] != w[1]), "no jitter");
        }
    }
}
