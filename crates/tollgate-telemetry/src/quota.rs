//! Quota use per credential, kept in memory and reduced to bounded gauges: the highest ratio
//! per route class and how many credentials are above the 80% and 90% thresholds. Credential
//! ids never become labels; an entry is forgotten once its window has passed without requests.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The reduced view of one route class.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ClassSummary {
    /// Highest ratio used/limit of any credential.
    pub max_ratio: f64,
    /// Credentials above 0.8.
    pub above_80: usize,
    /// Credentials above 0.9.
    pub above_90: usize,
}

/// (hash of the credential id, class) -> (ratio, when observed, the window it applies to).
/// Hashing keeps the per-request update free of allocation; ids are never exported anyway.
/// Fx-hashed: the ids are server-minted, and this runs on every request.
type Observations = rustc_hash::FxHashMap<(u64, &'static str), (f64, Instant, Duration)>;

/// Latest observed use per (credential, class).
#[derive(Default)]
pub struct QuotaTracker {
    entries: Mutex<Observations>,
}

impl QuotaTracker {
    /// Records a credential's use after a request checked at `at`.
    pub fn observe(&self, credential: &str, class: &'static str, ratio: f64, window: Duration, at: Instant) {
        use std::hash::BuildHasher;
        let id = rustc_hash::FxBuildHasher.hash_one(credential);
        let mut e = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        e.insert((id, class), (ratio, at, window));
    }

    /// Per class: the highest ratio and the threshold counts, dropping stale entries.
    pub fn summary(&self) -> Vec<(&'static str, ClassSummary)> {
        let mut e = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        e.retain(|_, (_, at, window)| at.elapsed() < *window);
        ["read", "write"]
            .into_iter()
            .map(|class| {
                let mut s = ClassSummary::default();
                for ((_, c), (ratio, _, _)) in e.iter() {
                    if *c == class {
                        s.max_ratio = s.max_ratio.max(*ratio);
                        s.above_80 += usize::from(*ratio > 0.8);
                        s.above_90 += usize::from(*ratio > 0.9);
                    }
                }
                (class, s)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn summarises_without_ids() {
        let q = QuotaTracker::default();
        let at = Instant::now();
        q.observe("key_a", "write", 0.95, Duration::from_secs(60), at);
        q.observe("key_b", "write", 0.85, Duration::from_secs(60), at);
        q.observe("key_c", "read", 0.1, Duration::from_secs(60), at);
        q.observe("key_a", "write", 0.97, Duration::from_secs(60), at);
        let s: HashMap<_, _> = q.summary().into_iter().collect();
        assert_eq!(s["write"], ClassSummary { max_ratio: 0.97, above_80: 2, above_90: 1 });
        assert_eq!(s["read"].above_80, 0);
    }
}
