//! The wire form of a resource, and the response helpers that add its `ETag`.

use axum::body::Body;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use tollgate_core::precondition::etag;
pub use tollgate_core::view::ResourceView;
use tollgate_core::Resource;

/// The response a write answers with (and keeps for idempotent replays): the resource as JSON
/// with its `ETag`, and for a creation its `Location`.
pub fn stored(r: &Resource, status: u16) -> tollgate_store::StoredResponse {
    let mut headers =
        vec![("content-type".to_owned(), "application/json".to_owned()), ("etag".to_owned(), etag(r.version))];
    if status == 201 {
        headers.push(("location".to_owned(), format!("/v1/resource/{}", r.id)));
    }
    let body = serde_json::to_string(&ResourceView::from(r.clone())).unwrap_or_default();
    tollgate_store::StoredResponse { status, headers, body }
}

/// Headers a resource response ends up with: content type, ETag, and those the outer layers
/// add (request id, the five rate-limit fields). Sized once so that none of them regrows the map.
const RESPONSE_HEADERS: usize = 12;

/// The resource as JSON with its `ETag`.
pub fn with_etag(r: Resource) -> Response {
    let tag = etag(r.version);
    let mut body = Vec::with_capacity(512);
    if let Err(e) = serde_json::to_writer(&mut body, &ResourceView::from(r)) {
        // A resource always serialises; should that ever change, answer as Json would.
        return crate::error::ApiError::internal(e).into_response();
    }
    let mut response = Response::new(Body::from(body));
    let headers = response.headers_mut();
    headers.reserve(RESPONSE_HEADERS);
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if let Ok(v) = HeaderValue::from_str(&tag) {
        headers.insert(header::ETAG, v);
    }
    response
}
