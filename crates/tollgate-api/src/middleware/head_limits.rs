//! Limits on the request head, answered in the envelope: a URI over 8 KiB gets
//! `414 URI_TOO_LONG`, a header section over 32 KiB `431 HEADERS_TOO_LARGE`. hyper enforces
//! limits of its own before any of this code runs and answers them with a bare status; `serve`
//! sets those above these, so that only a head too large even for them (over about 400 KiB, a URI
//! over 64 KiB, more than 100 headers) gets hyper's bare answer.

use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use tollgate_core::ErrorCode;

use crate::error::ApiError;

/// Longest accepted request target (path and query), in bytes.
pub const MAX_URI_BYTES: usize = 8 * 1024;
/// Largest accepted header section: each header's name and value plus 4 bytes (`: ` and CRLF).
pub const MAX_HEADER_BYTES: usize = 32 * 1024;

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
    None
}
