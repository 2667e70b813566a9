//! The single value of a header that must appear at most once (`Authorization`, `X-API-Key`,
//! `Content-Type`). Sent twice, which copy counted would depend on who reads it: a proxy in
//! front may read the second while this server reads the first, and the two would judge
//! different requests. Every such header is read here, so each route refuses the repeat; each
//! caller answers it in its own format (`401 malformed` on `/v1`, `415`, `invalid_request` at
//! the OAuth endpoints).

use axum::http::{HeaderMap, HeaderName, HeaderValue};

/// The header was sent more than once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Repeated;

/// The one value of header `name`, if it was sent; [`Repeated`] if it was sent more than once.
pub fn single_header<'h>(headers: &'h HeaderMap, name: &HeaderName) -> Result<Option<&'h HeaderValue>, Repeated> {
    let mut values = headers.get_all(name).iter();
    let first = values.next();
    match values.next() {
        Some(_) => Err(Repeated),
        None => Ok(first),
    }
}

#[cfg(test)]
mod tests {
    use axum::http::header::CONTENT_TYPE;
    use axum::http::{HeaderMap, HeaderValue};

    use super::{single_header, Repeated};

    #[test]
    fn a_header_counts_only_when_sent_once() {
        let mut h = HeaderMap::new();
        assert_eq!(single_header(&h, &CONTENT_TYPE), Ok(None));
        h.append(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        assert_eq!(single_header(&h, &CONTENT_TYPE).unwrap().unwrap(), "application/json");
        // Even the same value twice: a reader that joins the copies sees another value.
        h.append(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        assert_eq!(single_header(&h, &CONTENT_TYPE), Err(Repeated));
    }
}
