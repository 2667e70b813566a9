//! Timestamps on the wire: RFC 3339 in UTC with microseconds, e.g. `2026-11-24T12:00:00.123456Z`.

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

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
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(us) * 1_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// RFC 3339 text in UTC.
pub fn rfc3339(t: OffsetDateTime) -> String {
    t.to_offset(time::UtcOffset::UTC)
        .format(&Rfc3339)
        .unwrap_or_default()
}

/// Serde helpers for `OffsetDateTime` fields as RFC 3339 UTC strings.
pub mod serde_rfc3339 {
    use serde::Serializer;
    use time::OffsetDateTime;

    /// Serialises as RFC 3339 UTC.
    pub fn serialize<S: Serializer>(t: &OffsetDateTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::rfc3339(*t))
    }

    /// The same for optional timestamps (`null` when absent).
    pub mod option {
        use serde::Serializer;
        use time::OffsetDateTime;

        /// Serialises `Some` as RFC 3339 UTC and `None` as `null`.
        pub fn serialize<S: Serializer>(
            t: &Option<OffsetDateTime>,
            s: S,
        ) -> Result<S::Ok, S::Error> {
            match t {
                Some(t) => s.serialize_str(&super::super::rfc3339(*t)),
                None => s.serialize_none(),
            }
        }
    }
}
