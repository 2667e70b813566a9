//! Quotas as written in configuration and on the command line: `1000/h`, `500/1m`, `20/30s`,
//! or `unlimited`; and the two route classes they apply to.

use std::cell::RefCell;
use std::fmt;
use std::time::Duration;

use rustc_hash::FxHashMap;

/// A number of requests per window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    /// Requests admitted per window, at least 1.
    pub limit: u32,
    /// The window.
    pub window: Duration,
}

/// A credential's limit for one route class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// No limit.
    Unlimited,
    /// At most this many per window.
    Quota(Quota),
}

/// Which limit a request counts against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RouteClass {
    /// GET and HEAD.
    Read,
    /// POST, PATCH, PUT and DELETE.
    Write,
    /// Failed authentications, per source address (not per credential).
    FailedAuth,
}

impl RouteClass {
    /// The policy name used in headers and keys.
    pub fn as_str(self) -> &'static str {
        match self {
            RouteClass::Read => "read",
            RouteClass::Write => "write",
            RouteClass::FailedAuth => "auth_failures",
        }
    }
}

impl Limit {
    /// Parses `N/UNIT` (`N/h`, `N/1m`, `N/30s`, `N/d`) or `unlimited`.
    pub fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("unlimited") {
            return Ok(Limit::Unlimited);
        }
        let (n, per) = s.split_once('/').ok_or_else(|| format!("`{s}` is not a limit like 1000/h or unlimited"))?;
        let limit: u32 = n.trim().parse().map_err(|_| format!("`{n}` is not a whole number of requests"))?;
        if limit == 0 {
            return Err("a limit must admit at least one request (or be `unlimited`)".into());
        }
        let per = per.trim();
        let (count, unit) = per.split_at(per.find(|c: char| !c.is_ascii_digit()).unwrap_or(per.len()));
        let count: u64 = if count.is_empty() { 1 } else { count.parse().map_err(|_| format!("bad window `{per}`"))? };
        let unit_secs = match unit {
            "s" | "sec" => 1,
            "m" | "min" => 60,
            "h" | "hour" => 3600,
            "d" | "day" => 86_400,
            _ => return Err(format!("window `{per}` must end in s, m, h or d")),
        };
        // Checked: a huge count would wrap in a release build and pass as a short window.
        let window = count.checked_mul(unit_secs).filter(|w| (1..=86_400 * 7).contains(w));
        let window = window.ok_or_else(|| format!("window `{per}` must be between 1 second and 7 days"))?;
        Ok(Limit::Quota(Quota { limit, window: Duration::from_secs(window) }))
    }
}

impl Limit {
    /// [`Limit::parse`] of a limit as the store keeps it (a credential's own limits, read with
    /// the credential on every authenticated request): each distinct text is parsed once per
    /// thread and remembered by its text. Changing a credential's limits changes the text, so a
    /// changed limit is never answered from the old one; errors are not remembered.
    pub fn parse_stored(s: &str) -> Result<Self, String> {
        thread_local! {
            static PARSED: RefCell<FxHashMap<Box<str>, Limit>> = RefCell::default();
        }
        if let Some(limit) = PARSED.with_borrow(|parsed| parsed.get(s).copied()) {
            return Ok(limit);
        }
        let limit = Limit::parse(s)?;
        PARSED.with_borrow_mut(|parsed| {
            // Limits are few (most credentials share the defaults); bound the map anyway.
            if parsed.len() >= 1024 {
                parsed.clear();
            }
            parsed.insert(s.into(), limit);
        });
        Ok(limit)
    }
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Limit::Unlimited => f.write_str("unlimited"),
            Limit::Quota(q) => write!(f, "{}/{}s", q.limit, q.window.as_secs()),
        }
    }
}

/// The wire form is the display form, e.g. `1000/3600s` or `unlimited`.
impl serde::Serialize for Limit {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// A string that [`Limit::parse`] reads.
impl utoipa::PartialSchema for Limit {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
        ObjectBuilder::new()
            .schema_type(SchemaType::Type(Type::String))
            .description(Some(
                "`N/WINDOW` (`1000/h`, `500/1m`, `20/30s`, `N/d`; a window of 1 second to 7 days) or `unlimited`.",
            ))
            .pattern(Some(crate::schema::LIMIT))
            .examples([serde_json::json!("1000/h")])
            .into()
    }
}

impl utoipa::ToSchema for Limit {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses() {
        assert_eq!(
            Limit::parse("1000/h").unwrap(),
            Limit::Quota(Quota { limit: 1000, window: Duration::from_secs(3600) })
        );
        assert_eq!(
            Limit::parse("500/1m").unwrap(),
            Limit::Quota(Quota { limit: 500, window: Duration::from_secs(60) })
        );
        assert_eq!(Limit::parse("unlimited").unwrap(), Limit::Unlimited);
        for bad in ["", "0/h", "10", "10/x", "abc/h", "10/0s", "10/30d"] {
            assert!(Limit::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            Limit::parse(&Limit::parse("20/30s").unwrap().to_string()).unwrap(),
            Limit::parse("20/30s").unwrap()
        );
    }

    #[test]
    fn a_stored_limit_is_parsed_once_and_a_changed_one_anew() {
        let five = Limit::Quota(Quota { limit: 5, window: Duration::from_secs(60) });
        assert_eq!(Limit::parse_stored("5/60s").unwrap(), five);
        assert_eq!(Limit::parse_stored("5/60s").unwrap(), five, "remembered");
        // The credential's limits changed: its stored text is new, and so is the answer.
        let seven = Limit::Quota(Quota { limit: 7, window: Duration::from_secs(60) });
        assert_eq!(Limit::parse_stored("7/60s").unwrap(), seven);
        assert_eq!(Limit::parse_stored("unlimited").unwrap(), Limit::Unlimited);
        assert!(Limit::parse_stored("0/60s").is_err());
        assert!(Limit::parse_stored("0/60s").is_err(), "an error is not remembered as a limit");
        // Past the bound the map starts afresh and still answers right.
        for n in 1..=1100 {
            let q = Limit::parse_stored(&format!("{n}/60s")).unwrap();
            assert_eq!(q, Limit::Quota(Quota { limit: n, window: Duration::from_secs(60) }));
        }
        assert_eq!(Limit::parse_stored("5/60s").unwrap(), five);
    }

    #[test]
    fn a_window_that_overflows_is_refused_not_wrapped() {
        // 213503982334602 days is 61184 s modulo 2^64: it wrapped into a valid window before.
        for bad in ["10/213503982334602d", "10/5124095576030432h", "1/18446744073709551615s", "1/99999999999999999999d"]
        {
            let e = Limit::parse(bad).expect_err(bad);
            assert!(e.contains("window"), "{bad}: {e}");
        }
    }
}
