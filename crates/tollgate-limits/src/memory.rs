//! The in-memory sliding-window log, for one node. Keys are spread over shards so that
//! credentials do not contend on one lock.

use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, VecDeque};
use std::hash::{Hash, Hasher};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;

use crate::{Decision, LimiterError, Quota, RateLimiter};

const SHARDS: usize = 16;

type Log = VecDeque<Instant>;

/// The limiter.
pub struct MemoryLimiter {
    shards: Vec<Mutex<HashMap<String, Log>>>,
}

impl Default for MemoryLimiter {
    fn default() -> Self {
        Self { shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect() }
    }
}

impl MemoryLimiter {
    /// An empty limiter.
    pub fn new() -> Self {
        Self::default()
    }

    /// The decision at `now`; `consume` counts the request when admitted.
    pub fn check_at(&self, key: &str, quota: Quota, now: Instant, consume: bool) -> Decision {
        let mut hasher = DefaultHasher::new();
        key.hash(&mut hasher);
        let shard = &self.shards[(hasher.finish() as usize) % SHARDS];
        let mut logs = shard.lock().unwrap_or_else(|p| p.into_inner());
        let log = logs.entry(key.to_owned()).or_default();
        while log.front().is_some_and(|t| now.duration_since(*t) >= quota.window) {
            log.pop_front();
        }
        // A lowered limit may leave more entries than it allows: drop the oldest extras.
        while log.len() > quota.limit as usize {
            log.pop_front();
        }
        let allowed = (log.len() as u32) < quota.limit;
        if allowed && consume {
            log.push_back(now);
        }
        let reset_after =
            log.front().map(|t| quota.window.saturating_sub(now.duration_since(*t))).unwrap_or(Duration::ZERO);
        Decision { allowed: allowed || !consume, quota, used: log.len() as u32, reset_after }
    }
}

#[async_trait]
impl RateLimiter for MemoryLimiter {
    async fn acquire(&self, key: &str, quota: Quota) -> Result<Decision, LimiterError> {
        Ok(self.check_at(key, quota, Instant::now(), true))
    }

    async fn peek(&self, key: &str, quota: Quota) -> Result<Decision, LimiterError> {
        Ok(self.check_at(key, quota, Instant::now(), false))
    }

    fn backend(&self) -> &'static str {
        "memory"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_window_admits_more_than_the_limit() {
        let l = MemoryLimiter::new();
        let q = Quota { limit: 5, window: Duration::from_secs(10) };
        let t0 = Instant::now();
        let mut admitted = Vec::new();
        // One attempt every 250 ms for 60 s.
        for i in 0..240u64 {
            let t = t0 + Duration::from_millis(250 * i);
            if l.check_at("k", q, t, true).allowed {
                admitted.push(t);
            }
        }
        for (i, start) in admitted.iter().enumerate() {
            let in_window = admitted[i..].iter().take_while(|t| t.duration_since(*start) < q.window).count();
            assert!(in_window <= 5, "{in_window} admitted in one window");
        }
        assert_eq!(admitted.len(), 30, "5 per 10 s over 60 s");
    }

    #[test]
    fn burst_then_wait_for_reset() {
        let l = MemoryLimiter::new();
        let q = Quota { limit: 3, window: Duration::from_secs(60) };
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(l.check_at("k", q, t0, true).allowed);
        }
        let refused = l.check_at("k", q, t0 + Duration::from_secs(10), true);
        assert!(!refused.allowed);
        assert_eq!(refused.remaining(), 0);
        assert_eq!(refused.reset_after, Duration::from_secs(50));
        assert!(l.check_at("k", q, t0 + Duration::from_secs(60), true).allowed);
        assert!(l.check_at("other", q, t0, true).allowed, "keys are independent");
        let peek = l.check_at("k", q, t0 + Duration::from_secs(61), false);
        assert_eq!(peek.used, 1);
    }
}
