//! The wire form of a resource: what the API answers with and what events carry.

use serde::Serialize;
use serde_json::Value;

use crate::resource::{Attributes, Resource};
use crate::time_fmt::rfc3339;

/// A resource as the API sends it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(example = json!({"id": "res_01JD3Z9T6W4X8Y2K5M7N9P1Q3R", "name": "Build server", "type": "machine", "status": "active", "attributes": {"region": "eu-west-1"}, "data": {"cpus": 8}, "created_at": "2026-11-24T12:00:00.123456Z", "updated_at": "2026-11-24T12:00:00.123456Z", "version": 1}))]
pub struct ResourceView {
    /// `res_` + ULID.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Lower-case type identifier.
    #[serde(rename = "type")]
    pub kind: String,
    /// `active` or `archived`.
    #[schema(value_type = crate::resource::ResourceStatus)]
    pub status: &'static str,
    /// Flat string map.
    #[schema(value_type = std::collections::BTreeMap<String, String>)]
    pub attributes: Attributes,
    /// Any JSON (at most 256 KiB).
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
