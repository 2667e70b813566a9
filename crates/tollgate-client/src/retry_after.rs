//! Reading a `Retry-After` header (RFC 9110 section 10.2.3): delta-seconds, as Tollgate sends
//! it, or an HTTP date, as a proxy or load balancer in front of it may.

use std::time::{Duration, SystemTime};

/// How long to wait from `now`; a date in the past is zero, anything unreadable `None`.
pub(crate) fn parse(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<f64>() {
        return (seconds.is_finite() && seconds >= 0.0).then(|| Duration::from_secs_f64(seconds));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(when.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_and_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777); // Sun, 06 Nov 1994 08:49:37 GMT
        assert_eq!(parse(" 3 ", now), Some(Duration::from_secs(3)));
        assert_eq!(parse("1.5", now), Some(Duration::from_millis(1500)));
        assert_eq!(parse("Sun, 06 Nov 1994 08:50:07 GMT", now), Some(Duration::from_secs(30)));
        assert_eq!(parse("Sun, 06 Nov 1994 08:00:00 GMT", now), Some(Duration::ZERO), "a past date");
        assert_eq!(parse("Thu, 01 Jan 1970 00:00:00 GMT", SystemTime::UNIX_EPOCH), Some(Duration::ZERO));
        assert_eq!(
            parse("Tue, 29 Feb 2028 12:00:00 GMT", SystemTime::UNIX_EPOCH),
            Some(Duration::from_secs(1_835_438_400))
        );
        for bad in ["", "-1", "soon", "Sun, 06 Nov 1994 08:49:37 CET", "Sun, 06 Foo 1994 08:49:37 GMT"] {
            assert_eq!(parse(bad, now), None, "{bad:?}");
        }
    }
}
