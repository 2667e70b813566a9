//! Timestamps on the wire: RFC 3339 in UTC with microseconds, e.g. `2026-11-24T12:00:00.123456Z`.

use time::format_description::FormatItem;
use time::macros::format_description;
use time::OffsetDateTime;

/// Fixed width (always six fraction digits), so that timestamps also sort as text.
const WIRE: &[FormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z");

/// The current time, truncated to microseconds so that what is stored equals what is sent.
/// Every authenticated request asks twice: truncating the nanoseconds in place costs a fraction
/// of a round trip through microseconds since the epoch (two calendar conversions).
pub fn now() -> OffsetDateTime {
    let t = OffsetDateTime::now_utc();
    t.replace_nanosecond(t.nanosecond() / 1_000 * 1_000).unwrap_or(t)
}

/// Microseconds since the Unix epoch.
pub fn to_unix_micros(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000) as i64
}

/// The first instant a stored time may be: the Unix epoch. Tollgate writes times it reads from
/// the clock, or the clock plus at most 3650 days, so it never writes an earlier one.
pub const FIRST_STORED_MICROS: i64 = 0;
/// The last instant a stored time may be, 9999-12-31T23:59:59.999999Z: the last that the wire
/// form writes with a four-digit year (and far below what `time` can represent).
pub const LAST_STORED_MICROS: i64 = 253_402_300_799_999_999;

/// Whether `us` microseconds since the epoch is a time Tollgate could have stored: within
/// [`FIRST_STORED_MICROS`]`..=`[`LAST_STORED_MICROS`]. What `import` checks of every time.
pub fn is_stored_micros(us: i64) -> bool {
    (FIRST_STORED_MICROS..=LAST_STORED_MICROS).contains(&us)
}

/// The inverse of [`to_unix_micros`]. A value beyond what `time` represents (about ±9999 years)
/// saturates to the nearer end, so that a time far in the future stays in the future (an expiry
/// read as the epoch would turn a key expired).
pub fn from_unix_micros(us: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(us) * 1_000).unwrap_or_else(|_| {
        let end = if us < 0 { time::PrimitiveDateTime::MIN } else { time::PrimitiveDateTime::MAX };
        let t = end.assume_utc();
        // Whole microseconds, as every other time here.
        t.replace_nanosecond(t.nanosecond() / 1_000 * 1_000).unwrap_or(t)
    })
}

/// RFC 3339 text in UTC with microseconds.
pub fn rfc3339(t: OffsetDateTime) -> String {
    WireTime::of(t).as_str().to_owned()
}

/// A timestamp's wire form on the stack: lists write two per resource, and `time`'s general
/// formatter (a walk over the format description, a `String` per timestamp) was about 5% of a
/// page's cost. Serialises as the string [`rfc3339`] returns.
#[derive(Clone, Copy)]
pub struct WireTime {
    text: [u8; 32],
    len: u8,
}

impl WireTime {
    /// The wire form of `t`.
    pub fn of(t: OffsetDateTime) -> Self {
        let t = t.to_offset(time::UtcOffset::UTC);
        let (year, month, day) = t.to_calendar_date();
        let (hour, minute, second, micro) = t.to_hms_micro();
        // Four-digit years only; any other (before year 0 or after 9999, which a timestamp here
        // never is) takes `time`'s formatter, which writes its sign and width.
        if !(0..=9999).contains(&year) {
            let mut text = [0u8; 32];
            let s = t.format(WIRE).unwrap_or_default();
            let len = s.len().min(text.len());
            text[..len].copy_from_slice(&s.as_bytes()[..len]);
            return Self { text, len: len as u8 };
        }
        let fields = [hour, minute, second].map(u32::from);
        Self::compose(year as u32, u32::from(u8::from(month)), u32::from(day), fields, micro)
    }

    /// The wire form of `us` microseconds since the epoch (as stored), as
    /// `WireTime::of(from_unix_micros(us))` writes it, without building the date-time: a list
    /// item has two, and the conversion was a twentieth of its cost.
    pub fn from_micros(us: i64) -> Self {
        let (secs, micro) = (us.div_euclid(1_000_000), us.rem_euclid(1_000_000));
        let (days, second_of_day) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
        let (year, month, day) = civil_from_days(days);
        if !(0..=9999).contains(&year) {
            return Self::of(from_unix_micros(us));
        }
        // Every field is now in range: the year checked, the rest by construction.
        let time = [second_of_day / 3600, second_of_day / 60 % 60, second_of_day % 60].map(|v| v as u32);
        Self::compose(year as u32, month as u32, day as u32, time, micro as u32)
    }

    /// `YYYY-MM-DDTHH:MM:SS.ffffffZ` from its fields, each within its width.
    fn compose(year: u32, month: u32, day: u32, [hour, minute, second]: [u32; 3], micro: u32) -> Self {
        let mut text = [0u8; 32];
        // Two digits at a time from a table: a list item writes two timestamps, and a division
        // per digit was most of their cost.
        let mut pair = |at: usize, v: u32| {
            let i = 2 * (v as usize % 100);
            text[at..at + 2].copy_from_slice(&DIGIT_PAIRS[i..i + 2]);
        };
        pair(0, year / 100);
        pair(2, year);
        pair(5, month);
        pair(8, day);
        pair(11, hour);
        pair(14, minute);
        pair(17, second);
        pair(20, micro / 10_000);
        pair(22, micro / 100);
        pair(24, micro);
        for (at, c) in [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':'), (19, b'.'), (26, b'Z')] {
            text[at] = c;
        }
        Self { text, len: 27 }
    }

    /// The text's bytes (ASCII), for writers that need no `str`.
    pub fn as_bytes(&self) -> &[u8] {
        &self.text[..usize::from(self.len)]
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        // Only ASCII digits and separators are ever written (or `time`'s own output).
        std::str::from_utf8(&self.text[..usize::from(self.len)]).unwrap_or_default()
    }
}

/// "00" to "99", two bytes each.
const DIGIT_PAIRS: &[u8; 200] = b"\
    0001020304050607080910111213141516171819\
    2021222324252627282930313233343536373839\
    4041424344454647484950515253545556575859\
    6061626364656667686970717273747576777879\
    8081828384858687888990919293949596979899";

/// The proleptic Gregorian (year, month, day) of `days` since 1970-01-01: Howard Hinnant's
/// `civil_from_days` (http://howardhinnant.github.io/date_algorithms.html).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

impl std::fmt::Debug for WireTime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.as_str().fmt(f)
    }
}

impl serde::Serialize for WireTime {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn now_is_whole_microseconds_that_round_trip() {
        for _ in 0..1000 {
            let before = OffsetDateTime::now_utc();
            let t = now();
            assert_eq!(t.nanosecond() % 1_000, 0, "{t}");
            assert_eq!(from_unix_micros(to_unix_micros(t)), t);
            assert!(t <= OffsetDateTime::now_utc() && before - t < time::Duration::microseconds(1), "{before} {t}");
        }
    }

    /// Every way in: leap days, centuries, the epoch's edges, negative times, the ends of the
    /// four-digit years and beyond them, and a spread of values in between.
    #[test]
    fn from_micros_writes_what_of_writes() {
        let day = 86_400_000_000_i64;
        let mut cases = vec![0, -1, 1, 999_999, 1_000_000, -1_000_000, day - 1, day, -day, i64::MAX, i64::MIN];
        for (y, m, d) in
            [(2000, 2, 29), (1900, 3, 1), (2100, 2, 28), (2024, 12, 31), (1, 1, 1), (9999, 12, 31), (0, 1, 1)]
        {
            let date = time::Date::from_calendar_date(y, time::Month::try_from(m).unwrap(), d).unwrap();
            let t = date.with_hms_micro(23, 59, 59, 999_999).unwrap().assume_utc();
            let us = to_unix_micros(t);
            cases.extend([us, us + 1, us - day]);
        }
        let mut x: i64 = 0x2545_F491_4F6C_DD1D;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            cases.push(x % 400_000_000_000_000_000); // about 12,700 years either side
        }
        for us in cases {
            assert_eq!(WireTime::from_micros(us).as_str(), WireTime::of(from_unix_micros(us)).as_str(), "{us}");
        }
    }

    /// A time beyond `time`'s range reads as the nearer end of it, never as the epoch: an
    /// expiry far in the future stays in the future.
    #[test]
    fn out_of_range_times_saturate() {
        for us in [i64::MAX, 1 << 62, LAST_STORED_MICROS + 1_000_000_000_000_000] {
            let t = from_unix_micros(us);
            assert_eq!(t.year(), 9999, "{us}");
            assert_eq!(WireTime::from_micros(us).as_str(), "9999-12-31T23:59:59.999999Z", "{us}");
        }
        for us in [i64::MIN, -(1 << 62)] {
            assert_eq!(from_unix_micros(us).year(), -9999, "{us}");
        }
        assert_eq!(rfc3339(from_unix_micros(LAST_STORED_MICROS)), "9999-12-31T23:59:59.999999Z");
        assert!(is_stored_micros(LAST_STORED_MICROS) && is_stored_micros(FIRST_STORED_MICROS));
        assert!(!is_stored_micros(LAST_STORED_MICROS + 1) && !is_stored_micros(FIRST_STORED_MICROS - 1));
    }

    #[test]
    fn fixed_width() {
        let t = from_unix_micros(1_700_000_000_100_000);
        assert_eq!(rfc3339(t), "2023-11-14T22:13:20.100000Z");
        assert_eq!(from_unix_micros(to_unix_micros(t)), t);
    }

    /// The hand-written form is `time`'s, byte for byte, over the whole range a timestamp can
    /// take (and the fallback beyond four-digit years).
    #[test]
    fn matches_times_formatter() {
        let formatted = |t: OffsetDateTime| t.to_offset(time::UtcOffset::UTC).format(WIRE).unwrap();
        let mut us: i64 = -62_167_219_200_000_000; // 0000-01-01
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        while us < 253_402_300_800_000_000 {
            let t = from_unix_micros(us);
            assert_eq!(rfc3339(t), formatted(t), "{us}");
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            us += (seed >> 20) as i64 % 9_000_000_000_000 + 1;
        }
        for t in [
            OffsetDateTime::UNIX_EPOCH,
            from_unix_micros(-1),
            from_unix_micros(951_782_400_000_000),     // 2000-02-29
            from_unix_micros(253_402_300_799_999_999), // 9999-12-31T23:59:59.999999
            from_unix_micros(253_402_300_800_000_000), // +10000
            from_unix_micros(-62_167_219_200_000_001), // -0001
            OffsetDateTime::now_utc().to_offset(time::UtcOffset::from_hms(5, 30, 0).unwrap()),
        ] {
            assert_eq!(rfc3339(t), formatted(t));
        }
    }
}
