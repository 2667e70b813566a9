//! The wire form of a resource: what the API answers with and what events carry; and the same
//! form written straight from a stored row, for reads.

use serde::Serialize;
use serde_json::value::RawValue;

use crate::data::Data;
use crate::resource::{Attributes, Resource};
use crate::time_fmt::{rfc3339, WireTime};

// Serialised through `ViewOf`, which holds the members' order for it and for `json_of` (a plain
// comment: the doc comment below is the OpenAPI schema's description).
/// A resource as the API sends it.
#[derive(Debug, utoipa::ToSchema)]
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
    /// Any JSON (at most 256 KiB, nested at most 64 levels).
    #[schema(value_type = serde_json::Value)]
    pub data: Data,
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

impl Serialize for ResourceView {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        ViewOf {
            id: &self.id,
            name: &self.name,
            kind: &self.kind,
            status: self.status,
            attributes: &self.attributes,
            data: &self.data,
            created_at: &self.created_at,
            updated_at: &self.updated_at,
            version: self.version,
        }
        .serialize(s)
    }
}

impl ResourceView {
    /// The JSON of `r`'s view, written from the borrowed resource: a write answers with it, and
    /// building the owned view first copied the resource (its attribute map and data), a
    /// twentieth of a create's cost.
    pub fn json_of(r: &Resource) -> String {
        let (id, created_at, updated_at) = (r.id.to_string(), WireTime::of(r.created_at), WireTime::of(r.updated_at));
        let view = ViewOf {
            id: &id,
            name: &r.content.name,
            kind: &r.content.kind,
            status: r.content.status.as_str(),
            attributes: &r.content.attributes,
            data: &r.content.data,
            created_at: created_at.as_str(),
            updated_at: updated_at.as_str(),
            version: r.version,
        };
        // Strings, maps and `Value`s always serialise.
        serde_json::to_string(&view).unwrap_or_default()
    }
}

/// [`ResourceView`]'s members in their order, borrowed from wherever they are.
#[derive(Serialize)]
struct ViewOf<'a> {
    id: &'a str,
    name: &'a str,
    #[serde(rename = "type")]
    kind: &'a str,
    status: &'a str,
    attributes: &'a Attributes,
    data: &'a Data,
    created_at: &'a str,
    updated_at: &'a str,
    version: i64,
}

/// [`ResourceView`] written from a stored row without building the resource first: reads
/// answer with it. `attributes` and `data` are the JSON text the store holds, passed through:
/// every write stores them as serde_json writes the checked values, so the text is what parsing
/// it and writing it again would give, at a fraction of the cost (that round trip, and a
/// `String` per timestamp, were about a sixth of a list page's cost). The same fields, in the
/// same order, as [`ResourceView`]; a test in the store checks the bytes are the same.
#[derive(Debug, Clone, Serialize)]
pub struct StoredResourceView<'a> {
    /// `res_` + ULID.
    pub id: &'a str,
    /// Display name.
    pub name: &'a str,
    /// Lower-case type identifier.
    #[serde(rename = "type")]
    pub kind: &'a str,
    /// `active` or `archived`.
    pub status: &'static str,
    /// The stored JSON object.
    pub attributes: CheckedJson<'a>,
    /// The stored JSON.
    pub data: &'a RawValue,
    /// RFC 3339, UTC.
    pub created_at: WireTime,
    /// RFC 3339, UTC.
    pub updated_at: WireTime,
    /// 1 at creation, +1 per change.
    pub version: i64,
}

impl StoredResourceView<'_> {
    /// Appends the view as JSON: the bytes `serde_json::to_writer` writes for it (a test checks
    /// they are), in about half the instructions, which is what a list page of 100 is made of.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        use crate::json_out::{push_int, push_str};
        out.extend_from_slice(b"{\"id\":");
        push_str(out, self.id);
        out.extend_from_slice(b",\"name\":");
        push_str(out, self.name);
        out.extend_from_slice(b",\"type\":");
        push_str(out, self.kind);
        // The status and the timestamps are ASCII letters, digits and separators: nothing in
        // them is ever escaped.
        let push_plain = |out: &mut Vec<u8>, s: &[u8]| {
            out.push(b'"');
            out.extend_from_slice(s);
            out.push(b'"');
        };
        out.extend_from_slice(b",\"status\":");
        push_plain(out, self.status.as_bytes());
        out.extend_from_slice(b",\"attributes\":");
        out.extend_from_slice(self.attributes.0.as_bytes());
        out.extend_from_slice(b",\"data\":");
        out.extend_from_slice(self.data.get().as_bytes());
        out.extend_from_slice(b",\"created_at\":");
        push_plain(out, self.created_at.as_bytes());
        out.extend_from_slice(b",\"updated_at\":");
        push_plain(out, self.updated_at.as_bytes());
        out.extend_from_slice(b",\"version\":");
        push_int(out, self.version);
        out.push(b'}');
    }
}

/// JSON text that whoever built the view has already checked in full (`attributes`: an object
/// of strings), written as it is. [`RawValue`] would check it a second time.
#[derive(Debug, Clone, Copy)]
pub struct CheckedJson<'a>(&'a str);

impl<'a> CheckedJson<'a> {
    /// `text`, which the caller has parsed as one JSON value.
    pub fn new(text: &'a str) -> Self {
        Self(text)
    }
}

impl Serialize for CheckedJson<'_> {
    // Only the slow paths (sparse fieldsets, tests) serialise through serde; they check again.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let raw: &RawValue = serde_json::from_str(self.0).map_err(serde::ser::Error::custom)?;
        raw.serialize(s)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::{NewResource, ProjectId, ResourceId, ResourceStatus};

    #[test]
    fn json_of_writes_what_the_owned_view_writes() {
        let at = time::macros::datetime!(2026-12-06 10:11:12.345678 UTC);
        let content = NewResource {
            name: "Build \"server\" \u{e9}".into(),
            kind: "machine".into(),
            status: ResourceStatus::Archived,
            attributes: [("region".to_owned(), "eu-west-1".to_owned()), ("a".to_owned(), "\n".to_owned())].into(),
            data: json!({"z": [1, 2.5, null], "cpus": 8, "nested": {"b": true, "a": "\u{1f600}"}}).into(),
        };
        let r = Resource {
            id: ResourceId::generate(),
            project_id: ProjectId::generate(),
            content,
            created_at: at,
            updated_at: at + time::Duration::microseconds(1),
            version: 3,
        };
        assert_eq!(ResourceView::json_of(&r), serde_json::to_string(&ResourceView::from(r.clone())).unwrap());
    }
}
