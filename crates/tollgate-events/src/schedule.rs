//! When to try a failed delivery again. The default follows the Standard Webhooks example:
//! at once, then 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h and 24 h after the previous
//! attempt (about 75 hours in all, comfortably over a day), each with up to 10% jitter so that
//! a receiver coming back is not hit by every retry at once.

use std::time::Duration;

/// Delays between attempts.
#[derive(Debug, Clone, PartialEq)]
pub struct RetrySchedule(pub Vec<Duration>);

impl Default for RetrySchedule {
    fn default() -> Self {
        let s = |secs| Duration::from_secs(secs);
        Self(vec![s(5), s(300), s(1800), s(7200), s(18_000), s(36_000), s(50_400), s(72_000), s(86_400)])
    }
}

impl RetrySchedule {
    /// Parses a comma-separated list of durations such as `1s,2s,5s`.
    pub fn parse(s: &str, parse: impl Fn(&str) -> Result<Duration, String>) -> Result<Self, String> {
        let delays = s.split(',').map(str::trim).filter(|p| !p.is_empty()).map(parse).collect::<Result<Vec<_>, _>>()?;
        if delays.is_empty() {
            return Err("at least one delay is needed".into());
        }
        Ok(Self(delays))
    }

    /// The delay before attempt `made + 1`, or `None` once every attempt was made.
    pub fn next_delay(&self, made: u32) -> Option<Duration> {
        let base = *self.0.get(made.checked_sub(1)? as usize)?;
        let jitter = base.mul_f64(rand::random::<f64>() * 0.1);
        Some(base + jitter)
    }

    /// Attempts in all (the first plus one per delay).
    pub fn attempts(&self) -> u32 {
        self.0.len() as u32 + 1
    }

    /// How long a delivery keeps being retried.
    pub fn total(&self) -> Duration {
        self.0.iter().sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_spans_more_than_a_day() {
        let s = RetrySchedule::default();
        assert!(s.total() > Duration::from_secs(24 * 3600));
        assert_eq!(s.attempts(), 10);
        assert!(s.next_delay(1).unwrap() >= Duration::from_secs(5));
        assert!(s.next_delay(10).is_none());
    }
}
