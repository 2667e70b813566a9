//! A short history of the request metrics for the console's charts: one bucket per minute for
//! the last 24 hours, kept in memory on this node (a restart starts it afresh; each node has its
//! own). A bucket holds the requests answered, the 5xx among them, the 429s, a latency histogram
//! on the same boundaries as `http_server_request_duration_seconds` (so a p95 can be read back,
//! also over merged buckets) and how many credentials were seen above 90% of a quota.

use std::hash::BuildHasher;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use rustc_hash::FxHashSet;

use crate::metrics::HTTP_BUCKETS;

/// Minutes kept: 24 hours.
pub const MINUTES: usize = 24 * 60;
/// A histogram slot per boundary, and one above the last.
const SLOTS: usize = HTTP_BUCKETS.len() + 1;

/// One minute (or, once merged, several).
#[derive(Debug, Clone, Default)]
struct Bucket {
    /// Unix minute this slot of the ring holds; a slot holding an older minute is empty.
    minute: i64,
    requests: u64,
    errors: u64,
    rejected: u64,
    latency: [u64; SLOTS],
    /// Hashes of the (credential, class) pairs seen above 90% of their quota.
    alerted: FxHashSet<u64>,
}

/// What the console charts for one step of the history.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// Unix minute the step starts at.
    pub start_minute: i64,
    /// Requests answered.
    pub requests: u64,
    /// Answers with a 5xx status.
    pub errors: u64,
    /// Answers refused with 429.
    pub rejected: u64,
    /// The 95th percentile of response time, in seconds (`None` without requests).
    pub p95_seconds: Option<f64>,
    /// Credentials (per route class) seen above 90% of a quota.
    pub quota_alerts: u64,
}

/// The last 24 hours, one bucket per minute, in a ring indexed by minute.
pub struct History {
    ring: Mutex<Vec<Bucket>>,
}

impl Default for History {
    fn default() -> Self {
        Self { ring: Mutex::new(vec![Bucket { minute: -1, ..Bucket::default() }; MINUTES]) }
    }
}

/// The current unix minute.
pub fn current_minute() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| (d.as_secs() / 60) as i64)
}

impl History {
    /// Runs `f` on the bucket of `minute`, emptied first if it held an older minute.
    fn with_bucket(&self, minute: i64, f: impl FnOnce(&mut Bucket)) {
        let mut ring = self.ring.lock().unwrap_or_else(|p| p.into_inner());
        let slot = &mut ring[minute.rem_euclid(MINUTES as i64) as usize];
        if slot.minute != minute {
            *slot = Bucket { minute, ..Bucket::default() };
        }
        f(slot);
    }

    /// Records one answered request.
    pub fn record(&self, minute: i64, status: u16, seconds: f64) {
        let slot = HTTP_BUCKETS.iter().position(|le| seconds <= *le).unwrap_or(HTTP_BUCKETS.len());
        self.with_bucket(minute, |b| {
            b.requests += 1;
            b.errors += u64::from(status >= 500);
            b.rejected += u64::from(status == 429);
            b.latency[slot] += 1;
        });
    }

    /// Notes that `key` (a credential and route class) was above 90% of its quota.
    pub fn quota_alert(&self, minute: i64, key: &str) {
        let hash = rustc_hash::FxBuildHasher.hash_one(key);
        self.with_bucket(minute, |b| {
            b.alerted.insert(hash);
        });
    }

    /// The `minutes` minutes up to and including `now`, `step` minutes per summary, oldest
    /// first. Minutes without requests are zeros.
    pub fn summaries(&self, now: i64, minutes: usize, step: usize) -> Vec<Summary> {
        let (minutes, step) = (minutes.clamp(1, MINUTES), step.clamp(1, 60));
        let first = now - minutes as i64 + 1;
        // Align steps to multiples of `step` so that two reads a minute apart share buckets.
        let first = first - first.rem_euclid(step as i64);
        let ring = self.ring.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = Vec::new();
        let mut start = first;
        while start <= now {
            let mut merged = Bucket::default();
            for minute in start..(start + step as i64).min(now + 1) {
                let b = &ring[minute.rem_euclid(MINUTES as i64) as usize];
                if b.minute == minute && now - minute < MINUTES as i64 {
                    merged.requests += b.requests;
                    merged.errors += b.errors;
                    merged.rejected += b.rejected;
                    merged.latency.iter_mut().zip(b.latency).for_each(|(m, n)| *m += n);
                    merged.alerted.extend(&b.alerted);
                }
            }
            out.push(Summary {
                start_minute: start,
                requests: merged.requests,
                errors: merged.errors,
                rejected: merged.rejected,
                p95_seconds: quantile(&merged.latency, 0.95),
                quota_alerts: merged.alerted.len() as u64,
            });
            start += step as i64;
        }
        out
    }
}

/// The `q` quantile of a histogram, interpolated within its bucket as Prometheus's
/// `histogram_quantile` does; above the last boundary, the last boundary.
fn quantile(latency: &[u64; SLOTS], q: f64) -> Option<f64> {
    let total: u64 = latency.iter().sum();
    if total == 0 {
        return None;
    }
    let rank = q * total as f64;
    let mut seen = 0u64;
    for (i, n) in latency.iter().enumerate() {
        if *n > 0 && (seen + n) as f64 >= rank {
            let Some(upper) = HTTP_BUCKETS.get(i) else { return HTTP_BUCKETS.last().copied() };
            let lower = if i == 0 { 0.0 } else { HTTP_BUCKETS[i - 1] };
            return Some(lower + (upper - lower) * ((rank - seen as f64) / *n as f64));
        }
        seen += n;
    }
    HTTP_BUCKETS.last().copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minutes_count_requests_errors_rejections_and_alerts() {
        let h = History::default();
        for _ in 0..18 {
            h.record(100, 200, 0.004);
        }
        h.record(100, 503, 0.2);
        h.record(100, 429, 0.001);
        h.quota_alert(100, "key_a:read");
        h.quota_alert(100, "key_a:read");
        h.quota_alert(101, "key_b:write");
        let s = h.summaries(101, 2, 1);
        assert_eq!(s.len(), 2);
        assert_eq!((s[0].start_minute, s[0].requests, s[0].errors, s[0].rejected), (100, 20, 1, 1));
        assert_eq!(s[0].quota_alerts, 1);
        let p95 = s[0].p95_seconds.unwrap();
        assert!(p95 > 0.0 && p95 <= 0.005, "19 of 20 under 5 ms: {p95}");
        assert_eq!((s[1].requests, s[1].p95_seconds, s[1].quota_alerts), (0, None, 1));
    }

    #[test]
    fn steps_merge_and_old_minutes_are_forgotten() {
        let h = History::default();
        h.record(0, 200, 0.3);
        h.record(14, 500, 0.3);
        h.record(15, 200, 0.01);
        let s = h.summaries(29, 30, 15);
        assert_eq!(s.iter().map(|s| s.requests).collect::<Vec<_>>(), [2, 1]);
        assert_eq!(s[0].errors, 1);
        // A day later the same ring slots hold other minutes: the old ones read as empty.
        let later = MINUTES as i64 + 20;
        h.record(later, 200, 0.01);
        let day: u64 = h.summaries(later, MINUTES, 60).iter().map(|s| s.requests).sum();
        assert_eq!(day, 1);
    }
}
