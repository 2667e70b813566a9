//! Limits on the request head, answered in the envelope: a URI over 8 KiB gets
//! `414 URI_TOO_LONG`, a header section over 32 KiB `431 HEADERS_TOO_LARGE`, and a request
//! whose content is encoded (`Content-Encoding` other than `identity`) `415
//! UNSUPPORTED_MEDIA_TYPE` with `Accept-Encoding: identity` (RFC 9110 section 15.5.16): no body
//! is ever decoded, so a gzip body would otherwise be read as its compressed bytes, or a
//! body that happens to parse be taken as sent. Every route's body passes here, so none needs
//! its own check. hyper enforces
//! limits of its own before any of this code runs and answers them with a bare status; `serve`
//! sets those above these, so that only a head too large even for them (over about 400 KiB, a URI
//! over 64 KiB, more than 100 headers) gets hyper's bare answer.

use axum::extract::Request;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use tollgate_core::text::printable;
use tollgate_core::ErrorCode;

use crate::error::ApiError;

/// Longest accepted request target (path and query), in bytes.
pub const MAX_URI_BYTES: usize = 8 * 1024;
/// Largest accepted header section: each header's name and value plus 4 bytes (`: ` and CRLF).
pub const MAX_HEADER_BYTES: usize = 32 * 1024;
/// How much of a refused content coding the answer quotes (every registered one is shorter).
const MAX_CODING_CHARS: usize = 64;

/// The answer to a request whose head is over the limits, if it is; checked by
/// [`crate::middleware::unread_body`] (one layer for both, since each layer costs a boxed call
/// per request).
pub fn refuse(req: &Request) -> Option<Response> {
    let uri = req.uri().path_and_query().map_or(0, |p| p.as_str().len());
    if uri > MAX_URI_BYTES {
        return Some(ApiError::new(ErrorCode::UriTooLong).detail("max_bytes", MAX_URI_BYTES).into_response());
    }
    let headers: usize = req.headers().iter().map(|(name, value)| name.as_str().len() + value.len() + 4).sum();
    if headers > MAX_HEADER_BYTES {
        return Some(ApiError::new(ErrorCode::HeadersTooLarge).detail("max_bytes", MAX_HEADER_BYTES).into_response());
    }
    content_coding(req.headers()).map(|coding| {
        // The header may be as long as the whole section allows: quoted short and escaped.
        let coding = printable(&coding, MAX_CODING_CHARS);
        ApiError::new(ErrorCode::UnsupportedMediaType)
            .message(format!("Content-Encoding `{coding}` is not supported: send the body unencoded"))
            .detail("content_encoding", coding)
            .header(header::ACCEPT_ENCODING, "identity")
            .into_response()
    })
}

/// The first content coding other than `identity` the request declares, if any (an empty
/// list element is none; a value that is not text is named as it is refused).
fn content_coding(headers: &HeaderMap) -> Option<String> {
    headers.get_all(header::CONTENT_ENCODING).iter().find_map(|value| {
        let Ok(text) = value.to_str() else { return Some(String::from_utf8_lossy(value.as_bytes()).into_owned()) };
        text.split(',').map(str::trim).find(|c| !c.is_empty() && !c.eq_ignore_ascii_case("identity")).map(str::to_owned)
    })
}

#[cfg(test)]
mod tests {
    use axum::http::{HeaderMap, HeaderValue};

    use super::content_coding;

    #[test]
    fn only_identity_is_unencoded() {
        let coding = |values: &[&str]| {
            let mut h = HeaderMap::new();
            for v in values {
                h.append("content-encoding", HeaderValue::from_str(v).unwrap());
            }
            content_coding(&h)
        };
        assert_eq!(coding(&[]), None);
        assert_eq!(coding(&["identity"]), None);
        assert_eq!(coding(&["IDENTITY", " , identity"]), None);
        assert_eq!(coding(&["gzip"]).as_deref(), Some("gzip"));
        assert_eq!(coding(&["identity, br"]).as_deref(), Some("br"));
        assert_eq!(coding(&["identity", "x-gzip"]).as_deref(), Some("x-gzip"));
    }
}
