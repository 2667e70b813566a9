//! The wire form of a resource, and the response helpers that add its `ETag`.

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use serde_json::Value;
use tollgate_core::precondition::etag;
use tollgate_core::time_fmt::rfc3339;
use tollgate_core::{Attributes, Resource};

/// A resource as the API sends it.
#[derive(Debug, Serialize)]
pub struct ResourceView {
    /// `res_` + ULID.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Lower-case type identifier.
    #[serde(rename = "type")]
    pub kind: String,
    /// `active` or `archived`.
    pub status: &'static str,
    /// Flat string map.
    pub attributes: Attributes,
    /// Any JSON.
    pub data: Value,
    /// RFC 3339, UTC.
    pub created_at: String,
    /// RFC 3339, UTC.
    pub updated_at: String,
    /// 1 at creation, +1 per change.
    pub version: i64,
}

impl From<Resource> for ResourceView {
    fn from(r: Resource) -> Self {
        Self {
            id: r.id.to_string(),
            name: r.content.name,
            kind: r.content.kind,
            status: r.content.status.as_str(),
            attributes: r.content.attributes,
            data: r.content.data,
            created_at: rfc3339(r.created_at),
            updated_at: rfc3339(r.updated_at),
            version: r.version,
        }
    }
}

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
