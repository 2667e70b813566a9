//! Resource types (`/v1/types`, admin): a JSON Schema for a type's `data` and rules for its
//! attributes, checked by the server on every write of a resource of that type. A write that
//! breaks its type fails with [`crate::ErrorKind::Validation`], every violation in
//! [`crate::ApiError::errors`].

use std::collections::BTreeMap;

use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::resources::to_json;
use crate::transport::Call;
use crate::{Client, Error};

/// What an attribute of a registered type must be.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttributeRule {
    /// Every resource of the type has the attribute.
    #[serde(default)]
    pub required: bool,
    /// The attribute's value, when present, is one of these (the API's `enum`).
    #[serde(default, rename = "enum", skip_serializing_if = "Option::is_none")]
    pub one_of: Option<Vec<String>>,
}

impl AttributeRule {
    /// An attribute every resource of the type must have.
    pub fn required() -> Self {
        Self { required: true, one_of: None }
    }

    /// An attribute that may be left out.
    pub fn optional() -> Self {
        Self::default()
    }

    /// Restricts the attribute's value to `values`.
    pub fn one_of<I, S>(mut self, values: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.one_of = Some(values.into_iter().map(Into::into).collect());
        self
    }
}

/// A type's definition, as [`Client::create_type`] registers it and [`Client::update_type`]
/// replaces it: whatever is left out is reset (no schema accepts any `data`, no rules, no
/// description).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TypeDefinition {
    #[serde(skip_serializing_if = "Option::is_none")]
    schema: Option<Value>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    attributes: BTreeMap<String, AttributeRule>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
}

impl TypeDefinition {
    /// A definition with no schema, rules or description yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The JSON Schema (2020-12) of `data`: at most 64 KiB, references only inside itself.
    pub fn schema(mut self, schema: Value) -> Self {
        self.schema = Some(schema);
        self
    }

    /// The rule for attribute `key`.
    pub fn attribute(mut self, key: impl Into<String>, rule: AttributeRule) -> Self {
        self.attributes.insert(key.into(), rule);
        self
    }

    /// What the type is for (at most 1000 characters).
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }
}

/// A registered type.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ResourceType {
    /// The `type` its resources carry.
    pub name: String,
    /// 1 at registration, +1 with each [`Client::update_type`].
    pub version: u64,
    /// The JSON Schema of `data` (`true` when none was given).
    pub schema: Value,
    /// The rule per attribute key.
    #[serde(default)]
    pub attributes: BTreeMap<String, AttributeRule>,
    /// What the type is for (empty when none was given).
    #[serde(default)]
    pub description: String,
    /// RFC 3339, UTC.
    pub created_at: String,
    /// RFC 3339, UTC: when the definition last changed.
    pub updated_at: String,
}

#[derive(Deserialize)]
struct TypeList {
    items: Vec<ResourceType>,
}

#[derive(Serialize)]
struct CreateTypeRequest<'a> {
    name: &'a str,
    #[serde(flatten)]
    definition: &'a TypeDefinition,
}

impl Client {
    /// `POST /v1/types` (admin): registers type `name` at version 1. A name already registered
    /// is [`crate::ErrorKind::Conflict`]; a refused schema is [`crate::ErrorKind::Validation`]
    /// naming `schema`.
    pub async fn create_type(&self, name: &str, definition: &TypeDefinition) -> Result<ResourceType, Error> {
        let mut call = Call::new(Method::POST, "/v1/types");
        call.body = Some(("application/json", to_json(&CreateTypeRequest { name, definition })?));
        self.call(call).await
    }

    /// `GET /v1/types` (admin): the project's types, by name.
    pub async fn list_types(&self) -> Result<Vec<ResourceType>, Error> {
        let list: TypeList = self.call(Call::new(Method::GET, "/v1/types")).await?;
        Ok(list.items)
    }

    /// `GET /v1/types/{name}` (admin).
    pub async fn get_type(&self, name: &str) -> Result<ResourceType, Error> {
        self.call(Call::new(Method::GET, type_path(name)?)).await
    }

    /// `PUT /v1/types/{name}` (admin): replaces the definition; the version rises by one. Resources
    /// already stored are checked against it at their next write.
    pub async fn update_type(&self, name: &str, definition: &TypeDefinition) -> Result<ResourceType, Error> {
        let mut call = Call::new(Method::PUT, type_path(name)?);
        call.body = Some(("application/json", to_json(definition)?));
        self.call(call).await
    }

    /// `DELETE /v1/types/{name}` (admin): refused with [`crate::ErrorKind::Conflict`] while
    /// resources of the type exist.
    pub async fn delete_type(&self, name: &str) -> Result<(), Error> {
        self.inner.send(&Call::new(Method::DELETE, type_path(name)?)).await.map(drop)
    }
}

fn type_path(name: &str) -> Result<String, Error> {
    if name.is_empty() {
        return Err(Error::Config("a type name must not be empty".into()));
    }
    let escaped: String = url::form_urlencoded::byte_serialize(name.as_bytes()).collect();
    Ok(format!("/v1/types/{}", escaped.replace('+', "%20")))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn definitions_serialize_as_the_api_takes_them() {
        let def = TypeDefinition::new()
            .schema(json!({"type": "object"}))
            .attribute("region", AttributeRule::required().one_of(["eu", "us"]))
            .attribute("team", AttributeRule::optional())
            .description("Machines");
        let body = serde_json::to_value(CreateTypeRequest { name: "machine", definition: &def }).unwrap();
        assert_eq!(
            body,
            json!({"name": "machine", "schema": {"type": "object"}, "description": "Machines",
                   "attributes": {"region": {"required": true, "enum": ["eu", "us"]}, "team": {"required": false}}})
        );
        assert_eq!(serde_json::to_value(TypeDefinition::new()).unwrap(), json!({}));
        assert_eq!(type_path("a b/c").unwrap(), "/v1/types/a%20b%2Fc");
        assert!(type_path("").is_err());
    }
}
