//! Resource types (`/v1/types`, admin): a JSON Schema and attribute rules per type, checked on
//! every write of a resource of the type; and the project rule that refuses unregistered types
//! (`/v1/project`).

pub mod manage;
pub mod project;

use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use tollgate_core::resource_type::{json_schema, AttributeRule, ResourceType};
use tollgate_core::time_fmt::rfc3339;

/// A registered type as the API shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TypeView {
    /// The `type` its resources carry.
    pub name: String,
    /// 1 at registration, +1 with each `PUT`.
    pub version: i64,
    /// The JSON Schema of `data`: an object, or `true` (any `data`) when none was given.
    #[schema(schema_with = json_schema)]
    pub schema: Value,
    /// Rules per attribute key.
    pub attributes: BTreeMap<String, AttributeRule>,
    /// What the type is for.
    pub description: String,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339.
    pub updated_at: String,
}

impl From<ResourceType> for TypeView {
    fn from(t: ResourceType) -> Self {
        TypeView {
            name: t.name,
            version: t.version,
            schema: t.definition.schema,
            attributes: t.definition.attributes,
            description: t.definition.description,
            created_at: rfc3339(t.created_at),
            updated_at: rfc3339(t.updated_at),
        }
    }
}

/// The project's types.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TypeList {
    /// By name.
    pub items: Vec<TypeView>,
}
