//! Timestamps on the wire: RFC 3339 in UTC with microseconds, e.g. `2026-11-24T12:00:00.123456Z`.

use time::format_description::FormatItem;
use time::macros::format_description;
use time::OffsetDateTime;

/// Fixed width (always six fraction digits), so that timestamps also sort as text.
const WIRE: &[FormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z");

/// The current time, truncated to microseconds so that what is stored equals what is sent.
pub fn now() -> OffsetDateTime {
    from_unix_micros(to_unix_micros(OffsetDateTime::now_utc()))
}

/// Microseconds since the Unix epoch.
pub fn to_unix_micros(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000) as i64
}

/// The inverse of [`to_unix_micros`]; out-of-range values clamp to the epoch.
pub fn from_unix_micros(us: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(us) * 1_000).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// RFC 3339 text in UTC with microseconds.
pub fn rfc3339(t: OffsetDateTime) -> String {
    t.to_offset(time::UtcOffset::UTC).format(WIRE).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_width() {
        let t = from_unix_micros(1_700_000_000_100_000);
        assert_eq!(rfc3339(t), "2023-11-14T22:13:20.100000Z");
        assert_eq!(from_unix_micros(to_unix_micros(t)), t);
    }
}
