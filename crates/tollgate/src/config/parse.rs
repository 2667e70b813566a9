//! How each kind of setting is read from its text (every layer, the TOML file included, hands
//! over text): one function per kind, each returning the typed value or a reason that the loader
//! prefixes with the setting's name. [`SecretUrl`] is the type of settings that can carry a
//! password.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use tollgate_core::duration::parse_duration;
use tollgate_core::redact::mask_url;

use crate::cli::LogFormat;

/// What a parser returns: the value, or why the text is not one.
pub type Parsed<T> = Result<T, String>;

/// A URL that may carry a password (database, Redis, NATS, proxy). `Debug` and `Display` mask
/// the password; [`SecretUrl::expose`] is the one way to the full text.
#[derive(Clone)]
pub struct SecretUrl(SecretString);

impl SecretUrl {
    /// The full URL, password included: only for connecting.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl fmt::Debug for SecretUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", mask_url(self.expose()))
    }
}

impl fmt::Display for SecretUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&mask_url(self.expose()))
    }
}

/// An empty text is "not set"; anything else goes to `parse`.
pub fn optional<T>(parse: impl Fn(&str) -> Parsed<T>) -> impl Fn(&str) -> Parsed<Option<T>> {
    move |s| match s.trim() {
        "" => Ok(None),
        s => parse(s).map(Some),
    }
}

/// `true` or `false`.
pub fn boolean(s: &str) -> Parsed<bool> {
    match s.trim() {
        "true" => Ok(true),
        "false" => Ok(false),
        other => Err(format!("{other:?} is not true or false")),
    }
}

/// An address like 127.0.0.1:8080.
pub fn address(s: &str) -> Parsed<SocketAddr> {
    s.trim().parse().map_err(|_| format!("{s:?} is not an address like 127.0.0.1:8080"))
}

/// A non-empty path.
pub fn path(s: &str) -> Parsed<PathBuf> {
    match s {
        "" => Err("must not be empty".into()),
        s => Ok(PathBuf::from(s)),
    }
}

/// A whole number from `min` to `max`.
pub fn count(min: usize, max: usize) -> impl Fn(&str) -> Parsed<usize> {
    move |s| match s.trim().parse::<usize>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(format!("{s:?} must be a whole number from {min} to {max}")),
    }
}

/// Text of `min` to `max` characters.
pub fn text(min: usize, max: usize) -> impl Fn(&str) -> Parsed<String> {
    move |s| match s.chars().count() {
        n if (min..=max).contains(&n) => Ok(s.to_owned()),
        _ => Err(format!("must be {min}-{max} characters")),
    }
}

/// A calendar duration like 90d, longer than zero.
pub fn period(s: &str) -> Parsed<time::Duration> {
    parse_duration(s, false)
}

/// A duration like 30s, longer than zero.
pub fn timeout(s: &str) -> Parsed<Duration> {
    let d = parse_duration(s, false)?;
    Duration::try_from(d).map_err(|_| "must be positive".into())
}

/// The tolerated clock skew, from 0 to 60 s, in whole seconds.
pub fn leeway(s: &str) -> Parsed<u64> {
    let d = parse_duration(s, true)?;
    if d > time::Duration::seconds(60) {
        return Err("must be at most 60s".into());
    }
    Ok(d.whole_seconds() as u64)
}

/// A rate limit like 1000/h or `unlimited`.
pub fn limit(s: &str) -> Parsed<tollgate_core::Limit> {
    tollgate_core::Limit::parse(s)
}

/// `auto`, `json` or `pretty`.
pub fn log_format(s: &str) -> Parsed<LogFormat> {
    clap::ValueEnum::from_str(s.trim(), false).map_err(|_| format!("{s:?} must be auto, json or pretty"))
}

/// A level of the log filter.
pub fn log_level(s: &str) -> Parsed<String> {
    match s.trim() {
        l @ ("trace" | "debug" | "info" | "warn" | "error" | "off") => Ok(l.to_owned()),
        _ => Err(format!("{s:?} must be trace, debug, info, warn, error or off")),
    }
}

/// An http(s) URL without query or fragment, kept without a trailing `/`.
pub fn public_url(s: &str) -> Parsed<String> {
    if !(s.starts_with("http://") || s.starts_with("https://")) || s.contains(['?', '#']) {
        return Err(format!("{s:?} must be an http(s) URL without query or fragment"));
    }
    Ok(s.trim_end_matches('/').to_owned())
}

/// A header name like x-forwarded-for, kept in lower case.
pub fn header_name(s: &str) -> Parsed<axum::http::HeaderName> {
    axum::http::HeaderName::try_from(s.trim().to_ascii_lowercase())
        .map_err(|_| format!("{s:?} is not a header name like x-forwarded-for"))
}

/// A comma-separated list of delays; empty is the default schedule.
pub fn retry_schedule(s: &str) -> Parsed<tollgate_events::schedule::RetrySchedule> {
    if s.trim().is_empty() {
        return Ok(Default::default());
    }
    tollgate_events::schedule::RetrySchedule::parse(s, timeout)
}

/// A URL with one of `schemes` (its password masked in the error).
pub fn secret_url(schemes: &'static [&'static str]) -> impl Fn(&str) -> Parsed<SecretUrl> {
    move |s| match schemes.iter().any(|scheme| s.starts_with(scheme)) {
        true => Ok(SecretUrl(SecretString::from(s.to_owned()))),
        false => Err(format!("must start with {}", schemes.join(" or "))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_urls_mask_themselves() {
        let url = secret_url(&["postgres://"])("postgres://app:hunter2@db/tollgate").unwrap();
        assert!(!format!("{url:?} {url}").contains("hunter2"));
        assert_eq!(url.expose(), "postgres://app:hunter2@db/tollgate");
    }

    #[test]
    fn optional_values_are_unset_when_empty() {
        assert_eq!(optional(address)("").unwrap(), None);
        assert!(optional(address)("nowhere").is_err());
        assert_eq!(leeway("0s").unwrap(), 0);
        assert!(leeway("61s").is_err());
        assert!(timeout("0s").is_err());
    }
}
