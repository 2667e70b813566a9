//! The in-memory sliding-window log, for one node. Keys are spread over shards so that
//! credentials do not contend on one lock. Requests admitted within 1/1024 of the window of
//! each other share one entry that expires a window after the latest of them, so a key's log
//! holds at most about 1,024 entries however high its limit, and a grouped request counts a
//! little longer than its own window: limits err on the strict side (by at most 0.1% of the
//! window), never the lenient one. Requests further apart keep their exact times.

use std::collections::VecDeque;
use std::hash::BuildHasher;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;
// Fx rather than SipHash: keys are server-minted credential ids, not chosen by callers, so
// hash flooding is not a concern, and this hash runs on every request.
use rustc_hash::{FxBuildHasher, FxHashMap};

use crate::{Decision, LimiterError, Quota, RateLimiter};

const SHARDS: usize = 16;

/// One key's admitted requests: (first admitted, last admitted, how many), oldest first, and
/// their sum, kept so that a check costs the same however long the log is. Times are
/// nanoseconds since the limiter's epoch: integer arithmetic where `Instant`s cost a
/// normalising subtraction each, three times per request.
#[derive(Default)]
struct Log {
    slots: VecDeque<(u64, u64, u32)>,
    used: u32,
}

/// The limiter.
pub struct MemoryLimiter {
    shards: Vec<Mutex<FxHashMap<String, Log>>>,
    epoch: Instant,
}

impl Default for MemoryLimiter {
    fn default() -> Self {
        Self { shards: (0..SHARDS).map(|_| Mutex::new(FxHashMap::default())).collect(), epoch: Instant::now() }
    }
}

/// Whole nanoseconds, saturating (a `u64` of them spans 584 years).
fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

impl MemoryLimiter {
    /// An empty limiter.
    pub fn new() -> Self {
        Self::default()
    }

    /// The decision at `now`; `consume` counts the request when admitted.
    pub fn check_at(&self, key: &str, quota: Quota, now: Instant, consume: bool) -> Decision {
        self.check_many_at(key, quota, now, consume, 1)
    }

    /// The decision for `cost` requests at once at `now`: admitted only if all fit.
    pub fn check_many_at(&self, key: &str, quota: Quota, now: Instant, consume: bool, cost: u32) -> Decision {
        let now = nanos(now.saturating_duration_since(self.epoch));
        let window = nanos(quota.window);
        let shard = &self.shards[(FxBuildHasher.hash_one(key) as usize) % SHARDS];
        let mut logs = shard.lock().unwrap_or_else(|p| p.into_inner());
        // One lookup in the common case; the key is copied only the first time it is seen.
        let log = match logs.get_mut(key) {
            Some(log) => log,
            None => logs.entry(key.to_owned()).or_default(),
        };
        while let Some(&(_, last, n)) = log.slots.front() {
            if now.saturating_sub(last) < window {
                break;
            }
            log.slots.pop_front();
            log.used -= n;
        }
        // A lowered limit may leave more than it allows: forget the oldest extras.
        while log.used > quota.limit {
            let excess = log.used - quota.limit;
            let (first, last, n) = log.slots.pop_front().expect("used > 0");
            log.used -= n;
            if n > excess {
                log.slots.push_front((first, last, n - excess));
                log.used += n - excess;
            }
        }
        let allowed = log.used.saturating_add(cost) <= quota.limit;
        if allowed && consume {
            let slot = window / 1024;
            match log.slots.back_mut() {
                Some((first, last, n)) if now.saturating_sub(*first) < slot => {
                    // Callers pass the time their request arrived, and two requests can reach
                    // this lock in the other order: an entry never expires earlier for it.
                    *last = (*last).max(now);
                    *n += cost;
                }
                _ => log.slots.push_back((now, now, cost)),
            }
            log.used += cost;
        }
        let used = log.used;
        let reset_after = log
            .slots
            .front()
            .map(|(_, last, _)| Duration::from_nanos(last.saturating_add(window).saturating_sub(now)))
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

    async fn acquire_many(&self, key: &str, quota: Quota, n: u32) -> Result<Decision, LimiterError> {
        Ok(self.check_many_at(key, quota, Instant::now(), true, n))
    }

    fn acquire_now(&self, key: &str, quota: Quota, now: Instant) -> Option<Decision> {
        Some(self.check_at(key, quota, now, true))
    }

    fn backend(&self) -> &'static str {
        "memory"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn many_at_once_is_all_or_none() {
        let l = MemoryLimiter::new();
        let q = Quota { limit: 10, window: Duration::from_secs(60) };
        let t = Instant::now();
        assert!(l.check_many_at("k", q, t, true, 7).allowed);
        assert!(!l.check_many_at("k", q, t, true, 4).allowed, "4 more would pass 10");
        assert_eq!(l.check_at("k", q, t, false).used, 7, "a refused batch counts nothing");
        assert!(l.check_many_at("k", q, t, true, 3).allowed);
        assert!(!l.check_at("k", q, t, true).allowed);
    }

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

    /// Dense, uneven traffic, so that many admissions share one grouped entry and cluster
    /// anywhere inside it: grouping may only ever make the limit stricter, never admit more than
    /// `limit` in any window.
    #[test]
    fn grouped_entries_never_admit_more_than_the_limit() {
        let l = MemoryLimiter::new();
        // A slot is window/1024 = 1 ms; gaps of 0-199 us put about ten attempts in each slot.
        let q = Quota { limit: 50, window: Duration::from_millis(1024) };
        let t0 = Instant::now();
        let (mut t, mut seed) = (t0, 0x2545_f491_4f6c_dd1d_u64);
        let mut admitted = Vec::new();
        for _ in 0..40_000 {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            t += Duration::from_micros((seed >> 33) % 200);
            if l.check_at("k", q, t, true).allowed {
                admitted.push(t);
            }
        }
        for (i, start) in admitted.iter().enumerate() {
            let in_window = admitted[i..].iter().take_while(|t| t.duration_since(*start) < q.window).count();
            assert!(in_window <= 50, "{in_window} admitted in one window starting at {:?}", *start - t0);
        }
        // Strict by at most one slot per window: about 4 s of traffic still admits close to
        // four windows' worth.
        assert!(admitted.len() >= 50 * 3, "only {} admitted", admitted.len());
    }

    /// Requests are checked at the time they arrived, and may reach the limiter out of that
    /// order: a later arrival checked first must still hold its slot for a whole window.
    #[test]
    fn an_earlier_arrival_checked_later_never_shortens_a_window() {
        let l = MemoryLimiter::new();
        let q = Quota { limit: 2, window: Duration::from_millis(1024) };
        let t0 = Instant::now();
        let us = Duration::from_micros;
        assert!(l.check_at("k", q, t0 + us(500), true).allowed);
        assert!(l.check_at("k", q, t0 + us(200), true).allowed, "arrived earlier, checked later");
        // The first window to pass is the one after 200 us; the request of 500 us is still in its.
        let d = l.check_at("k", q, t0 + us(200) + q.window + us(100), true);
        assert!(!d.allowed, "admitted while two requests were in the window");
        assert_eq!(d.used, 2);
        assert!(l.check_at("k", q, t0 + us(500) + q.window, true).allowed);
    }

    #[test]
    fn memory_stays_bounded_under_a_huge_limit() {
        let l = MemoryLimiter::new();
        let q = Quota { limit: 1_000_000_000, window: Duration::from_secs(3600) };
        let t0 = Instant::now();
        for i in 0..200_000u64 {
            assert!(l.check_at("k", q, t0 + Duration::from_micros(i * 50), true).allowed);
        }
        let shard =
            l.shards.iter().map(|s| s.lock().unwrap().get("k").map(|log| log.slots.len())).find_map(|x| x).unwrap();
        assert!(shard <= 1025, "{shard} slots");
        assert_eq!(l.check_at("k", q, t0 + Duration::from_secs(10), false).used, 200_000);
    }

    #[test]
    fn a_lowered_limit_forgets_the_oldest_extras() {
        let l = MemoryLimiter::new();
        let t0 = Instant::now();
        for i in 0..10u64 {
            l.check_at("k", Quota { limit: 10, window: Duration::from_secs(60) }, t0 + Duration::from_secs(i), true);
        }
        let lowered = Quota { limit: 4, window: Duration::from_secs(60) };
        let d = l.check_at("k", lowered, t0 + Duration::from_secs(20), true);
        assert!(!d.allowed);
        assert_eq!(d.used, 4);
        // The four kept are the newest (admitted at 6..9 s): the first frees a slot at 66 s.
        assert_eq!(d.reset_after, Duration::from_secs(46));
        assert!(l.check_at("k", lowered, t0 + Duration::from_secs(66), true).allowed);
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
