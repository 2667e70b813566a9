//! Human durations for expiry and grace periods (`90d`, `24h`, `15m`, `1h 30m`).

use time::Duration;

/// Longest accepted duration: ten years, so that `now + d` never overflows.
pub const MAX_DAYS: i64 = 3650;

/// Parses a positive human duration; `0` is allowed only when `allow_zero`.
pub fn parse_duration(s: &str, allow_zero: bool) -> Result<Duration, String> {
    let std =
        humantime::parse_duration(s.trim()).map_err(|e| format!("`{s}` is not a duration like 90d or 24h: {e}"))?;
    let d = Duration::try_from(std).map_err(|_| format!("`{s}` is too long"))?;
    if d > Duration::days(MAX_DAYS) {
        return Err(format!("`{s}` is longer than {MAX_DAYS} days"));
    }
    if d.is_zero() && !allow_zero {
        return Err("must be longer than zero".into());
    }
    Ok(d)
}

/// Parses how long a credential works (`expires_in`, `--expires-in`): at least one second, the
/// smallest unit its answers show, so that it is never created already expired (`1ns` is a
/// duration longer than zero, but gone before the answer is).
pub fn parse_lifetime(s: &str) -> Result<Duration, String> {
    let d = parse_duration(s, false)?;
    if d < Duration::SECOND {
        return Err(format!("`{s}` is shorter than one second (1s)"));
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses() {
        assert_eq!(parse_duration("90d", false).unwrap(), Duration::days(90));
        assert_eq!(parse_duration("24h", false).unwrap(), Duration::hours(24));
        assert!(parse_duration("0s", false).is_err());
        assert!(parse_duration("0s", true).is_ok());
        assert!(parse_duration("soon", false).is_err());
        assert!(parse_duration("100000d", false).is_err());
    }

    #[test]
    fn a_lifetime_is_at_least_a_second() {
        for s in ["1ns", "999ms", "999999us", "0.5s", "0s"] {
            assert!(parse_lifetime(s).is_err(), "{s}");
        }
        assert_eq!(parse_lifetime("1s").unwrap(), Duration::SECOND);
        assert_eq!(parse_lifetime("1000ms").unwrap(), Duration::SECOND);
        assert_eq!(parse_lifetime("90d").unwrap(), Duration::days(90));
    }
}
