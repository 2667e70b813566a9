//! The wire form of a resource, and the response helpers that add its `ETag`.

use axum::body::Body;
use axum::http::{header, HeaderValue};
use axum::response::Response;
use tollgate_core::precondition::etag;
pub use tollgate_core::view::ResourceView;
use tollgate_core::view::StoredResourceView;
use tollgate_core::Resource;
use tollgate_store::rows::RawResource;

use crate::error::ApiError;

/// The response a write answers with (and keeps for idempotent replays): the resource as JSON
/// with its `ETag`, and for a creation its `Location`.
pub fn stored(r: &Resource, status: u16) -> tollgate_store::StoredResponse {
    let mut headers =
        vec![("content-type".to_owned(), "application/json".to_owned()), ("etag".to_owned(), etag(r.version))];
    if status == 201 {
        headers.push(("location".to_owned(), format!("/v1/resource/{}", r.id)));
    }
    let body = ResourceView::json_of(r);
    tollgate_store::StoredResponse { status, headers, body }
}

/// Headers a resource response ends up with: content type, ETag, and those the outer layers
/// add (request id, the five rate-limit fields). Sized once so that none of them regrows the map.
const RESPONSE_HEADERS: usize = 12;

/// The stored resource (`row`, checked as `view`) as JSON with its `ETag` (`tag`, which the
/// caller has made already to answer `If-None-Match`).
pub fn with_etag(row: &RawResource, view: &StoredResourceView<'_>, tag: &str) -> Result<Response, ApiError> {
    let mut body = Vec::with_capacity(json_size(row));
    view.write_json(&mut body);
    Ok(json_response(body, Some(tag)))
}

/// A JSON body with room for the headers every answer ends up with, and the resource's `ETag`.
pub fn json_response(body: Vec<u8>, tag: Option<&str>) -> Response {
    let mut response = Response::new(Body::from(body));
    let headers = response.headers_mut();
    headers.reserve(RESPONSE_HEADERS);
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if let Some(v) = tag.and_then(|t| HeaderValue::from_str(t).ok()) {
        headers.insert(header::ETAG, v);
    }
    response
}

/// About the size of a row's JSON answer: its texts plus the names, timestamps and quotes
/// around them, so that the body is written without growing its buffer.
pub fn json_size(row: &RawResource) -> usize {
    192 + row.id().len() + row.name().len() + row.kind().len() + row.attributes().len() + row.data().len()
}
