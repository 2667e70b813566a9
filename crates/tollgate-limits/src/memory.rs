//! The in-memory sliding-window log, for one node. Keys are spread over shards so that
//! credentials do not contend on one lock. Requests admitted within 1/1024 of the window of
//! each other share one entry that expires a window after the latest of them, so a key's log
//! holds at most about 1,024 entries however high its limit, and a grouped request counts a
//! little longer than its own window: limits err on the strict side (by at most 0.1% of the
//! window), never the lenient one. Requests further apart keep their exact times.

use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, VecDeque};
use std::hash::{Hash, Hasher};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;

use crate::{Decision, LimiterError, Quota, RateLimiter};

const SHARDS: usize = 16;

/// (first admitted, last admitted, how many), oldest first.
type Log = VecDeque<(Instant, Instant, u32)>;

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
        if !logs.contains_key(key) {
            logs.insert(key.to_owned(), Log::new());
        }
        let log = logs.get_mut(key).expect("inserted above");
        while log.front().is_some_and(|(_, last, _)| now.saturating_duration_since(*last) >= quota.window) {
            log.pop_front();
        }
        let mut used: u32 = log.iter().map(|(_, _, n)| *n).sum();
        // A lowered limit may leave more than it allows: forget the oldest extras.
        while used > quota.limit {
            let (first, last, n) = log.pop_front().expect("used > 0");
            if n > used - quota.limit {
                log.push_front((first, last, n - (used - quota.limit)));
            }
            used = used.min(quota.limit);
        }
        let allowed = used < quota.limit;
        if allowed && consume {
            let slot = quota.window / 1024;
            match log.back_mut() {
                Some((first, last, n)) if now.saturating_duration_since(*first) < slot => {
                    *last = now;
                    *n += 1;
                }
                _ => log.push_back((now, now, 1)),
            }
            used += 1;
        }
        let reset_after = log
            .front()
            .map(|(_, last, _)| (*last + quota.window).saturating_duration_since(now))
            .unwrap_or(Duration::ZERO);
        Decision { allowed: allowed || !consume, quota, used, reset_after }
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
    fn memory_stays_bounded_under_a_huge_limit() {
        let l = MemoryLimiter::new();
        let q = Quota { limit: 1_000_000_000, window: Duration::from_secs(3600) };
        let t0 = Instant::now();
        for i in 0..200_000u64 {
            assert!(l.check_at("k", q, t0 + Duration::from_micros(i * 50), true).allowed);
        }
        let shard = l.shards.iter().map(|s| s.lock().unwrap().get("k").map(|log| log.len())).find_map(|x| x).unwrap();
        assert!(shard <= 1025, "{shard} slots");
        assert_eq!(l.check_at("k", q, t0 + Duration::from_secs(10), false).used, 200_000);
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
