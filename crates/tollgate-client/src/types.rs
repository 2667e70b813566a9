//! The resource and the documents the API takes and returns.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A resource's lifecycle state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// In use (the default).
    Active,
    /// Kept, but retired.
    Archived,
}

impl Status {
    /// The wire form.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Archived => "archived",
        }
    }
}

/// A stored resource.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Resource {
    /// `res_` + a ULID: unique and time-sortable.
    pub id: String,
    /// 1-200 characters.
    pub name: String,
    /// A lower-case identifier of at most 64 characters.
    pub r#type: String,
    /// Lifecycle state.
    pub status: Status,
    /// Flat string map (filterable).
    pub attributes: BTreeMap<String, String>,
    /// Any JSON value.
    pub data: Value,
    /// RFC 3339, UTC.
    pub created_at: String,
    /// RFC 3339, UTC.
    pub updated_at: String,
    /// 1 at creation, +1 on every change; the precondition for updates and deletes.
    pub version: u64,
}

/// A resource to create.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NewResource {
    name: String,
    r#type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<Status>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    attributes: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<Value>,
}

impl NewResource {
    /// A resource named `name` of type `type`.
    pub fn new(name: impl Into<String>, r#type: impl Into<String>) -> Self {
        Self { name: name.into(), r#type: r#type.into(), status: None, attributes: BTreeMap::new(), data: None }
    }

    /// Sets the status (default `active`).
    pub fn status(mut self, status: Status) -> Self {
        self.status = Some(status);
        self
    }

    /// Adds an attribute.
    pub fn attribute(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.attributes.insert(key.into(), value.into());
        self
    }

    /// Sets the data.
    pub fn data(mut self, data: Value) -> Self {
        self.data = Some(data);
        self
    }
}

/// A JSON Merge Patch (RFC 7396) of a resource: fields left out stay as they are.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(transparent)]
pub struct ResourcePatch(Map<String, Value>);

impl ResourcePatch {
    /// An empty patch.
    pub fn new() -> Self {
        Self::default()
    }

    /// Renames.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.0.insert("name".into(), Value::String(name.into()));
        self
    }

    /// Changes the status.
    pub fn status(mut self, status: Status) -> Self {
        self.0.insert("status".into(), Value::String(status.as_str().into()));
        self
    }

    /// Sets an attribute.
    pub fn attribute(self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.attribute_value(key.into(), Value::String(value.into()))
    }

    /// Removes an attribute.
    pub fn remove_attribute(self, key: impl Into<String>) -> Self {
        self.attribute_value(key.into(), Value::Null)
    }

    fn attribute_value(mut self, key: String, value: Value) -> Self {
        let attributes = self.0.entry("attributes").or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(map) = attributes {
            map.insert(key, value);
        }
        self
    }

    /// Replaces the data (merged as RFC 7396 describes when both are objects).
    pub fn data(mut self, data: Value) -> Self {
        self.0.insert("data".into(), data);
        self
    }
}

/// Which resources to list, and which page.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListParams {
    /// Page number, from 1 (offset paging).
    pub page: Option<u32>,
    /// 1-100 (server default 20).
    pub per_page: Option<u32>,
    /// Only this type.
    pub r#type: Option<String>,
    /// Only this status.
    pub status: Option<Status>,
    /// Only resources with all these attributes.
    pub attributes: BTreeMap<String, String>,
    /// Keyset paging: `Some("")` for the first page, then each page's `next_cursor`.
    pub cursor: Option<String>,
    /// Order keys among `created_at`, `updated_at`, `name`, `type`, `status`, `attributes.KEY`,
    /// each with `-` for descending; empty for id order. Cursors follow any sort.
    pub sort: Vec<String>,
    /// Only resources created after this RFC 3339 time.
    pub created_after: Option<String>,
    /// Only resources created before this RFC 3339 time.
    pub created_before: Option<String>,
    /// Only resources updated after this RFC 3339 time.
    pub updated_after: Option<String>,
    /// Only resources updated before this RFC 3339 time.
    pub updated_before: Option<String>,
    /// Sparse fieldsets (`name`, `attributes.region`, `data.cpus`): items hold `id` and these
    /// only, so read them with [`crate::Client::list_as`] into a map or a type of your own.
    pub fields: Vec<String>,
    /// Also count the matching resources ([`ResourcePage::total`]; costs a scan).
    pub include_total: bool,
    /// Full-text search over name, attribute values and the strings in `data`: words and
    /// `"quoted phrases"`, all required, stemmed; by relevance unless `sort` is given.
    pub q: Option<String>,
}

impl ListParams {
    /// Every resource, default page size.
    pub fn new() -> Self {
        Self::default()
    }

    /// Only resources of `type`.
    pub fn r#type(mut self, r#type: impl Into<String>) -> Self {
        self.r#type = Some(r#type.into());
        self
    }

    /// Only resources with `status`.
    pub fn status(mut self, status: Status) -> Self {
        self.status = Some(status);
        self
    }

    /// Only resources whose attribute `key` is `value`.
    pub fn attribute(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.attributes.insert(key.into(), value.into());
        self
    }

    /// The page size.
    pub fn per_page(mut self, per_page: u32) -> Self {
        self.per_page = Some(per_page);
        self
    }

    /// An offset page.
    pub fn page(mut self, page: u32) -> Self {
        self.page = Some(page);
        self
    }

    /// A keyset page.
    pub fn cursor(mut self, cursor: impl Into<String>) -> Self {
        self.cursor = Some(cursor.into());
        self
    }

    /// Adds an order key (`name`, `-created_at`, `attributes.region`); the first added sorts first.
    pub fn sort(mut self, key: impl Into<String>) -> Self {
        self.sort.push(key.into());
        self
    }

    /// Only resources created after `time` (RFC 3339).
    pub fn created_after(mut self, time: impl Into<String>) -> Self {
        self.created_after = Some(time.into());
        self
    }

    /// Only resources created before `time` (RFC 3339).
    pub fn created_before(mut self, time: impl Into<String>) -> Self {
        self.created_before = Some(time.into());
        self
    }

    /// Only resources updated after `time` (RFC 3339).
    pub fn updated_after(mut self, time: impl Into<String>) -> Self {
        self.updated_after = Some(time.into());
        self
    }

    /// Only resources updated before `time` (RFC 3339).
    pub fn updated_before(mut self, time: impl Into<String>) -> Self {
        self.updated_before = Some(time.into());
        self
    }

    /// Adds a field to the sparse fieldset.
    pub fn field(mut self, field: impl Into<String>) -> Self {
        self.fields.push(field.into());
        self
    }

    /// Asks for the count of matching resources.
    pub fn include_total(mut self) -> Self {
        self.include_total = true;
        self
    }

    /// Only resources matching the full-text search `q` (at most 500 characters; nothing in it
    /// is query syntax). Without a [`ListParams::sort`], results come by relevance and page by
    /// page number, which [`crate::Client::list_all`] does by itself.
    pub fn q(mut self, q: impl Into<String>) -> Self {
        self.q = Some(q.into());
        self
    }

    pub(crate) fn query(&self) -> Vec<(String, String)> {
        let mut q = Vec::new();
        let mut put = |k: &str, v: Option<String>| {
            if let Some(v) = v {
                q.push((k.to_owned(), v));
            }
        };
        put("page", self.page.map(|p| p.to_string()));
        put("per_page", self.per_page.map(|p| p.to_string()));
        put("type", self.r#type.clone());
        put("status", self.status.map(|s| s.as_str().to_owned()));
        put("cursor", self.cursor.clone());
        put("sort", (!self.sort.is_empty()).then(|| self.sort.join(",")));
        put("created_after", self.created_after.clone());
        put("created_before", self.created_before.clone());
        put("updated_after", self.updated_after.clone());
        put("updated_before", self.updated_before.clone());
        put("fields", (!self.fields.is_empty()).then(|| self.fields.join(",")));
        put("include_total", self.include_total.then(|| "true".to_owned()));
        put("q", self.q.clone());
        for (k, v) in &self.attributes {
            q.push((format!("attributes[{k}]"), v.clone()));
        }
        q
    }
}

/// One page of a listing: of [`Resource`]s, or with `fields` of whatever
/// [`crate::Client::list_as`] reads them into.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ResourcePage<T = Resource> {
    /// The resources, in the order asked (id order by default).
    pub items: Vec<T>,
    /// The page number (offset paging only).
    #[serde(default)]
    pub page: Option<u32>,
    /// The page size.
    pub per_page: u32,
    /// Whether another page follows.
    pub has_next: bool,
    /// The cursor of the next page (keyset paging), `None` on the last.
    #[serde(default)]
    pub next_cursor: Option<String>,
    /// How many resources match, when asked with [`ListParams::include_total`].
    #[serde(default)]
    pub total: Option<u64>,
}
