//! The wire form of a resource, and the response helpers that add its `ETag`.

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
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

/// The resource as JSON with its `ETag`.
pub fn with_etag(r: Resource) -> Response {
    let tag = etag(r.version);
    let mut response = Json(ResourceView::from(r)).into_response();
    if let Ok(v) = HeaderValue::from_str(&tag) {
        response.headers_mut().insert(header::ETAG, v);
    }
    response
}
