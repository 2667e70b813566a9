//! Per-credential rate limits. The algorithm is a sliding-window log: a request is admitted
//! when fewer than `limit` requests were admitted in the `window` before it, so no window of
//! that length, wherever it starts, ever admits more than the limit. Bursts are allowed up to
//! the whole limit at once; after that one request is admitted each time an old one leaves the
//! window. The log lives in memory (one node) or in Redis (several nodes, one Lua script per
//! request, timed by Redis's clock so that nodes' clocks do not matter).

pub mod memory;
pub mod redis_backend;

use std::time::{Duration, Instant};

use async_trait::async_trait;

pub use memory::MemoryLimiter;
pub use redis_backend::RedisLimiter;
pub use tollgate_core::{Limit, Quota, RouteClass};

/// The state of one credential's window after a check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// Whether this request is admitted (always true for [`RateLimiter::peek`]).
    pub allowed: bool,
    /// The quota checked against.
    pub quota: Quota,
    /// Requests admitted in the current window, this one included.
    pub used: u32,
    /// Time until the oldest admitted request leaves the window, freeing a slot (zero when
    /// nothing was admitted in the window).
    pub reset_after: Duration,
}

impl Decision {
    /// Requests still admissible now.
    pub fn remaining(&self) -> u32 {
        self.quota.limit.saturating_sub(self.used)
    }
}

/// Why the limiter could not decide.
#[derive(Debug, thiserror::Error)]
pub enum LimiterError {
    /// The shared backend did not answer in time or failed.
    #[error("rate limiter backend unavailable: {0}")]
    Unavailable(String),
}

/// A rate limiter backend.
#[async_trait]
pub trait RateLimiter: Send + Sync + 'static {
    /// Counts a request against `key`'s window and says whether it is admitted.
    async fn acquire(&self, key: &str, quota: Quota) -> Result<Decision, LimiterError>;
    /// Counts `n` requests at once, all or none (a batch of `n` operations).
    async fn acquire_many(&self, key: &str, quota: Quota, n: u32) -> Result<Decision, LimiterError>;
    /// The window's state without counting a request.
    async fn peek(&self, key: &str, quota: Quota) -> Result<Decision, LimiterError>;
    /// [`RateLimiter::acquire`] at `now` without awaiting, for backends that decide in memory:
    /// saves the boxed future on every request, and the caller's clock reading serves for the
    /// rest of the request's bookkeeping too. `None` means "use `acquire`".
    fn acquire_now(&self, _key: &str, _quota: Quota, _now: Instant) -> Option<Decision> {
        None
    }
    /// `memory` or `redis`, for logs.
    fn backend(&self) -> &'static str;
}
