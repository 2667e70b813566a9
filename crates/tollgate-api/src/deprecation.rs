//! The table of deprecations: every deprecated endpoint, parameter or field of `/v1`, once, with
//! its dates and its changelog entry. A handler that serves a deprecated form marks its answer
//! with [`Deprecated`]; the `observe` middleware turns the mark into the RFC 9745 `Deprecation`,
//! RFC 8594 `Sunset` and `Link: <...>; rel="deprecation"` headers and counts the call in
//! `tollgate_deprecated_requests_total`, so the policy lives here and nowhere else.

use axum::http::{HeaderMap, HeaderName, HeaderValue};

/// One deprecated form, and when it goes away.
#[derive(Debug, PartialEq, Eq)]
pub struct Deprecation {
    /// A short, stable name: the metric's `deprecation` label and the changelog anchor's tail.
    pub name: &'static str,
    /// `Deprecation: @<unix seconds>`: when it was deprecated.
    pub since_unix: i64,
    /// `Sunset: <HTTP-date>`: from when it may stop working (never before `since_unix`).
    pub sunset: &'static str,
}

/// `"scopes": "admin resource:read"` (one string) in `POST /v1/keys` and `POST /v1/clients`:
/// deprecated in 0.2.0 (2026-12-01) in favour of the array, `["admin", "resource:read"]`.
pub const SCOPES_AS_STRING: Deprecation =
    Deprecation { name: "scopes-string", since_unix: 1_796_083_200, sunset: "Wed, 30 Jun 2027 23:59:59 GMT" };

/// Every deprecation in force, for the tests and the docs.
pub const ALL: &[&Deprecation] = &[&SCOPES_AS_STRING];

/// Where the changelog is served, so that the `Link` resolves on the server that sent it.
pub const CHANGELOG_PATH: &str = "/CHANGELOG.md";

/// The changelog the `Link` points into (its entries carry `<a id="deprecation-NAME">`).
pub const CHANGELOG: &str = include_str!("../../../CHANGELOG.md");

/// The mark a handler puts on its response (`Option<Extension<Deprecated>>` in its return
/// type) when the request used a deprecated form.
#[derive(Debug, Clone, Copy)]
pub struct Deprecated(pub &'static Deprecation);

impl Deprecation {
    /// The changelog fragment: `deprecation-NAME`.
    pub fn anchor(&self) -> String {
        format!("deprecation-{}", self.name)
    }

    /// Adds `Deprecation`, `Sunset` and `Link` to an answer.
    pub fn write_headers(&self, headers: &mut HeaderMap) {
        let mut put = |name: &'static str, value: String| {
            if let Ok(v) = HeaderValue::from_str(&value) {
                headers.append(HeaderName::from_static(name), v);
            }
        };
        put("deprecation", format!("@{}", self.since_unix));
        put("sunset", self.sunset.to_owned());
        put("link", format!("<{CHANGELOG_PATH}#{}>; rel=\"deprecation\"; type=\"text/markdown\"", self.anchor()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_deprecation_has_a_changelog_entry_and_a_sunset_after_it() {
        for d in ALL {
            assert!(
                CHANGELOG.contains(&format!("<a id=\"{}\"></a>", d.anchor())),
                "no changelog anchor for {}",
                d.name
            );
            let sunset = httpdate::parse_http_date(d.sunset).expect("an HTTP date");
            let sunset = sunset.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
            assert!(sunset >= d.since_unix, "{}: RFC 9745 forbids a sunset before the deprecation", d.name);
        }
    }

    #[test]
    fn the_headers_are_rfc_9745_and_8594() {
        let mut h = HeaderMap::new();
        SCOPES_AS_STRING.write_headers(&mut h);
        assert_eq!(h["deprecation"], "@1796083200");
        assert_eq!(h["sunset"], "Wed, 30 Jun 2027 23:59:59 GMT");
        assert_eq!(h["link"], "</CHANGELOG.md#deprecation-scopes-string>; rel=\"deprecation\"; type=\"text/markdown\"");
    }
}
