//! Resource types: a JSON Schema (2020-12) for a type's `data` and rules for its attributes,
//! registered per project. A registration is checked before it is stored: bounded in size and
//! depth, no remote `$ref` (nothing is ever fetched), and `pattern`s compiled by a regex engine
//! that never backtracks, so validating one resource stays fast whatever the schema. A write of
//! a registered type is checked against it, every violation listed with its JSON Pointer.

use std::collections::BTreeMap;

use jsonschema::{Draft, PatternOptions, Validator};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

use crate::resource::{contains_nul, is_attribute_key, is_identifier, NewResource, MAX_TYPE_CHARS};
use crate::validation::ValidationErrors;
use crate::ProjectId;

/// Largest schema accepted, as JSON text.
pub const MAX_SCHEMA_BYTES: usize = 64 * 1024;
/// Deepest nesting of a schema.
pub const MAX_SCHEMA_DEPTH: usize = 32;
/// Longest description.
pub const MAX_DESCRIPTION_CHARS: usize = 1000;
/// Most violations reported for one write.
pub const MAX_VIOLATIONS: usize = 100;
/// Longest violation message, in bytes: a message quotes the offending value, which may be as
/// large as `data` itself, so a longer one keeps its beginning and its end (where it says what
/// is wrong) around an ellipsis.
pub const MAX_MESSAGE_BYTES: usize = 300;

/// What an attribute of a registered type must be.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttributeRule {
    /// Every resource of the type has it.
    #[serde(default)]
    pub required: bool,
    /// Its value is one of these.
    #[serde(default, rename = "enum", skip_serializing_if = "Option::is_none")]
    pub one_of: Option<Vec<String>>,
}

/// A type's registration, as a client sends it.
#[derive(Debug, Clone, PartialEq)]
pub struct TypeDefinition {
    /// The JSON Schema of `data`.
    pub schema: Value,
    /// Rules per attribute key.
    pub attributes: BTreeMap<String, AttributeRule>,
    /// What the type is for.
    pub description: String,
}

/// A registered type.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceType {
    /// Its project.
    pub project_id: ProjectId,
    /// The `type` of its resources.
    pub name: String,
    /// 1 at registration, +1 with each new schema.
    pub version: i64,
    /// The definition.
    pub definition: TypeDefinition,
    /// When it was registered.
    pub created_at: OffsetDateTime,
    /// When its definition last changed.
    pub updated_at: OffsetDateTime,
}

/// One way a resource breaks its type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Violation {
    /// Where, as a JSON Pointer (RFC 6901) into the resource: `/data/cpus`, `/attributes/region`.
    pub pointer: String,
    /// What is wrong.
    pub message: String,
}

/// A type name, checked as resource types are.
pub fn parse_type_name(name: &str) -> Result<String, ValidationErrors> {
    if is_identifier(name, MAX_TYPE_CHARS) {
        Ok(name.to_owned())
    } else {
        Err(ValidationErrors::single("name", "must be a lower-case identifier of at most 64 characters"))
    }
}

/// The body of `POST /v1/types` (with `name`) and `PUT /v1/types/{name}` (without).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TypeRequest {
    /// The `type` its resources carry: a lower-case identifier.
    #[schema(value_type = String, required = true, pattern = "^[a-z][a-z0-9_]{0,63}$")]
    pub name: Option<String>,
    /// A JSON Schema (2020-12) for `data`, an object or a boolean; at most 64 KiB, references
    /// only inside itself (default `true`: any `data`).
    #[schema(schema_with = json_schema, required = false)]
    pub schema: Option<Value>,
    /// Rules per attribute key.
    #[serde(default)]
    #[schema(schema_with = attribute_rules, required = false)]
    pub attributes: BTreeMap<String, AttributeRule>,
    /// What the type is for.
    pub description: Option<String>,
}

/// `attributes` of a type request: keys are attribute keys, as the request's parser checks.
fn attribute_rules() -> utoipa::openapi::schema::Object {
    use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
    use utoipa::openapi::Ref;
    let key =
        ObjectBuilder::new().schema_type(SchemaType::Type(Type::String)).pattern(Some(crate::schema::ATTRIBUTE_KEY));
    ObjectBuilder::new()
        .schema_type(SchemaType::Type(Type::Object))
        .description(Some("Rules per attribute key."))
        .property_names(Some(key))
        .additional_properties(Some(Ref::from_schema_name("AttributeRule")))
        .build()
}

/// A JSON Schema's own schema in the OpenAPI document: an object or a boolean (2020-12 allows
/// both), which `type: object` alone would deny.
pub fn json_schema() -> utoipa::openapi::schema::Object {
    use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::Object, Type::Boolean]))
        .description(Some("A JSON Schema (2020-12) for `data`: an object, or a boolean (`true` accepts any `data`)"))
        .build()
}

/// The body of `PUT /v1/types/{name}` as the OpenAPI document describes it: [`TypeRequest`]'s
/// schema without `name`, which the path gives and the body may not change (the same parser
/// reads both), derived from it so that the two never differ otherwise.
pub struct TypeUpdateRequest;

impl utoipa::PartialSchema for TypeUpdateRequest {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::Schema;
        use utoipa::openapi::RefOr;
        let RefOr::T(Schema::Object(mut object)) = <TypeRequest as utoipa::PartialSchema>::schema() else {
            return <TypeRequest as utoipa::PartialSchema>::schema();
        };
        object.properties.shift_remove("name");
        object.required.retain(|r| r != "name");
        object.description = Some("`TypeRequest` without `name`: the path names the type.".to_owned());
        RefOr::T(Schema::Object(object))
    }
}

impl utoipa::ToSchema for TypeUpdateRequest {}

impl TypeDefinition {
    /// Parses a [`TypeRequest`] (its `name` required when `with_name`, refused otherwise),
    /// refusing schemas that are too large, too deep, refer outside themselves or do not compile.
    pub fn parse(body: &Value, with_name: bool) -> Result<(Option<String>, Self), ValidationErrors> {
        let request: TypeRequest =
            serde_json::from_value(body.clone()).map_err(|e| ValidationErrors::single("body", e.to_string()))?;
        let mut errors = ValidationErrors::new();
        // Resource `data`'s rule, for the same reason: PostgreSQL cannot store a NUL, so no
        // backend takes one. First, so that it is the reason given for its field.
        for field in ["name", "description", "schema", "attributes"] {
            if body.get(field).is_some_and(contains_nul) {
                errors.add(field, "must not contain NUL characters");
            }
        }
        let name = match (&request.name, with_name) {
            (Some(n), true) => parse_type_name(n).map_err(|e| errors.add("name", e.fields()["name"].clone())).ok(),
            (None, true) => {
                errors.add("name", "is required");
                None
            }
            (Some(_), false) => {
                errors.add("name", "is in the path; it cannot change");
                None
            }
            (None, false) => None,
        };
        // serde reads `"schema": null` as no schema; a `null` where a schema goes is refused, not
        // taken as `true` (which would switch validation off without a word).
        let schema = request.schema.unwrap_or(Value::Bool(true));
        if body.get("schema").is_some_and(Value::is_null) {
            errors.add("schema", "must be a JSON Schema (an object or a boolean); leave it out for `true`");
        } else if let Err(reason) = check_schema(&schema) {
            errors.add("schema", reason);
        }
        if let Some(bad) = request.attributes.keys().find(|k| !is_attribute_key(k)) {
            errors.add("attributes", format!("`{bad}` is not an attribute key"));
        }
        let description = request.description.unwrap_or_default();
        if description.chars().count() > MAX_DESCRIPTION_CHARS {
            errors.add("description", format!("at most {MAX_DESCRIPTION_CHARS} characters"));
        }
        errors.into_result((name, TypeDefinition { schema, attributes: request.attributes, description }))
    }
}

/// Why a schema is refused, if it is.
fn check_schema(schema: &Value) -> Result<(), String> {
    if !schema.is_object() && !schema.is_boolean() {
        return Err("must be a JSON Schema (an object or a boolean)".into());
    }
    let size = serde_json::to_string(schema).map(|s| s.len()).unwrap_or(usize::MAX);
    if size > MAX_SCHEMA_BYTES {
        return Err(format!("is {size} bytes; at most {MAX_SCHEMA_BYTES}"));
    }
    if crate::data::nesting(schema) > MAX_SCHEMA_DEPTH {
        return Err(format!("nests deeper than {MAX_SCHEMA_DEPTH} levels"));
    }
    if let Some(r) = remote_ref(schema) {
        return Err(format!(
            "refers to `{r}`: only references inside the schema (`#...`) are allowed; nothing is fetched"
        ));
    }
    compile(schema).map(drop)
}

/// The first `$ref` or `$dynamicRef` that leaves the document, and any `$id` (which would let a
/// reference name another document).
fn remote_ref(v: &Value) -> Option<String> {
    match v {
        Value::Object(m) => m
            .iter()
            .find_map(|(k, v)| match (k.as_str(), v) {
                ("$ref" | "$dynamicRef", Value::String(r)) if !r.starts_with('#') => Some(r.clone()),
                ("$id", Value::String(r)) => Some(r.clone()),
                _ => None,
            })
            .or_else(|| m.values().find_map(remote_ref)),
        Value::Array(a) => a.iter().find_map(remote_ref),
        _ => None,
    }
}

/// Compiles a schema with the non-backtracking regex engine (a pattern needing backtracking,
/// such as a lookaround or a back-reference, does not compile and is refused).
fn compile(schema: &Value) -> Result<Validator, String> {
    jsonschema::options()
        .with_draft(Draft::Draft202012)
        .with_pattern_options(PatternOptions::regex().size_limit(1 << 20))
        .build(schema)
        .map_err(|e| format!("does not compile: {e}"))
}

/// A registered type ready to check writes.
pub struct CompiledType {
    validator: Validator,
    attributes: BTreeMap<String, AttributeRule>,
}

impl CompiledType {
    /// Compiles a stored definition.
    pub fn new(definition: &TypeDefinition) -> Result<Self, String> {
        Ok(Self { validator: compile(&definition.schema)?, attributes: definition.attributes.clone() })
    }

    /// Every way `content` breaks the type (at most [`MAX_VIOLATIONS`]).
    pub fn check(&self, content: &NewResource) -> Vec<Violation> {
        let mut out = Vec::new();
        // Most writes are valid: `is_valid` stops at nothing and allocates nothing, where
        // collecting errors walks every keyword with its error machinery, so it runs only to
        // name the violations.
        if !self.validator.is_valid(&content.data) {
            out.extend(self.validator.iter_errors(&content.data).take(MAX_VIOLATIONS).map(|e| Violation {
                pointer: format!("/data{}", e.instance_path().as_str()),
                message: crate::text::elided(&e, MAX_MESSAGE_BYTES),
            }));
        }
        for (key, rule) in &self.attributes {
            let pointer = || format!("/attributes/{}", key.replace('~', "~0").replace('/', "~1"));
            match content.attributes.get(key) {
                None if rule.required => {
                    out.push(Violation { pointer: pointer(), message: "is required by the type".into() })
                }
                Some(v) if rule.one_of.as_ref().is_some_and(|allowed| !allowed.contains(v)) => out.push(Violation {
                    pointer: pointer(),
                    message: format!("must be one of {}", rule.one_of.as_deref().unwrap_or_default().join(", ")),
                }),
                _ => {}
            }
        }
        out.truncate(MAX_VIOLATIONS);
        out
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_update_body_is_the_create_body_without_its_name() {
        use utoipa::openapi::schema::Schema;
        use utoipa::openapi::RefOr;
        use utoipa::PartialSchema;
        let object = |schema| match schema {
            RefOr::T(Schema::Object(o)) => o,
            _ => panic!("not an object schema"),
        };
        let (create, update) = (object(TypeRequest::schema()), object(TypeUpdateRequest::schema()));
        let names = |o: &utoipa::openapi::schema::Object| o.properties.keys().cloned().collect::<Vec<_>>();
        assert_eq!(names(&create), ["name", "schema", "attributes", "description"]);
        assert_eq!(names(&update), ["schema", "attributes", "description"]);
        assert_eq!((create.required, update.required), (vec!["name".to_owned()], vec![]));
        assert!(create.properties["schema"] == update.properties["schema"]);
        assert!(update.additional_properties.is_some(), "unknown members are refused there too");
    }
    use crate::ResourceStatus;

    fn content(data: Value, attrs: &[(&str, &str)]) -> NewResource {
        NewResource {
            name: "n".into(),
            kind: "machine".into(),
            status: ResourceStatus::Active,
            attributes: attrs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
            data: data.into(),
        }
    }

    fn definition(body: Value) -> TypeDefinition {
        TypeDefinition::parse(&body, false).unwrap().1
    }

    #[test]
    fn every_violation_is_listed_with_its_pointer() {
        let def = definition(json!({
            "schema": {"type": "object", "required": ["cpus"], "additionalProperties": false,
                       "properties": {"cpus": {"type": "integer", "minimum": 1}, "tags": {"type": "array", "items": {"type": "string"}}}},
            "attributes": {"region": {"required": true, "enum": ["eu", "us"]}, "tier": {"enum": ["gold"]}}
        }));
        let t = CompiledType::new(&def).unwrap();
        assert!(t.check(&content(json!({"cpus": 4}), &[("region", "eu")])).is_empty());
        let v = t.check(&content(json!({"cpus": 0, "tags": ["a", 7], "extra": 1}), &[("tier", "silver")]));
        let pointers: Vec<&str> = v.iter().map(|v| v.pointer.as_str()).collect();
        for p in ["/data/cpus", "/data/tags/1", "/data", "/attributes/region", "/attributes/tier"] {
            assert!(pointers.contains(&p), "{p} missing from {pointers:?}");
        }
    }

    #[test]
    fn a_nul_anywhere_in_a_definition_is_refused_naming_its_field() {
        let cases = [
            (json!({"description": "d\u{0}"}), "description"),
            (json!({"schema": {"properties": {"a\u{0}": {}}}}), "schema"),
            (json!({"schema": {"enum": ["\u{0}"]}}), "schema"),
            (json!({"schema": {"$comment": "x\u{0}y"}}), "schema"),
            (json!({"attributes": {"region": {"enum": ["eu\u{0}"]}}}), "attributes"),
        ];
        for (body, field) in cases {
            let e = TypeDefinition::parse(&body, false).unwrap_err();
            assert_eq!(e.fields()[field], "must not contain NUL characters", "{body}");
        }
        let e = TypeDefinition::parse(&json!({"name": "a\u{0}"}), true).unwrap_err();
        assert_eq!(e.fields()["name"], "must not contain NUL characters");
    }

    #[test]
    fn hostile_schemas_are_refused_at_registration() {
        let refused = |schema: Value| TypeDefinition::parse(&json!({"schema": schema}), false).is_err();
        assert!(refused(json!({"$ref": "https://example.com/s.json"})));
        assert!(refused(json!({"properties": {"a": {"$ref": "other.json#/x"}}})));
        assert!(refused(json!({"$id": "https://example.com/x"})));
        assert!(refused(json!({"type": "string", "pattern": "(?=a)b"})), "lookaround needs backtracking");
        assert!(refused(json!({"type": "string", "pattern": "(a)\\1"})), "back-references need backtracking");
        assert!(refused(json!({"type": "nonsense"})), "not a valid schema");
        assert!(refused(Value::Null), "null is not a schema (leaving it out means `true`)");
        assert!(TypeDefinition::parse(&json!({}), false).is_ok_and(|(_, t)| t.schema == json!(true)));
        let mut deep = json!({"type": "object"});
        for _ in 0..40 {
            deep = json!({"properties": {"x": deep}});
        }
        assert!(refused(deep));
        let huge: Vec<String> = (0..20_000).map(|i| format!("value-{i}")).collect();
        assert!(refused(json!({"enum": huge})), "over 64 KiB");
        // A local reference is fine.
        assert!(!refused(json!({"$defs": {"n": {"type": "integer"}}, "properties": {"a": {"$ref": "#/$defs/n"}}})));
    }

    #[test]
    fn a_message_quoting_a_large_value_keeps_its_ends() {
        let one = json!({"maxLength": 1});
        let t = CompiledType::new(&definition(json!({"schema": {"allOf": vec![one; 100]}}))).unwrap();
        let v = t.check(&content(json!(format!("{}é{}", "x".repeat(149), "y".repeat(200_000))), &[]));
        assert_eq!(v.len(), 100);
        for v in &v {
            assert!(v.message.len() <= MAX_MESSAGE_BYTES + " … ".len(), "{} bytes", v.message.len());
            assert!(v.message.starts_with("\"xxx"), "{}", v.message);
            assert!(v.message.contains(" … ") && v.message.ends_with("is longer than 1 character"), "{}", v.message);
        }
        // A short message is whole.
        let v = t.check(&content(json!("ab"), &[]));
        assert_eq!(v[0].message, "\"ab\" is longer than 1 character");
        // A character across the head's end, then more pieces: the text keeps its order.
        let t = CompiledType::new(&definition(json!({"schema": {"maxLength": 1}}))).unwrap();
        let value = format!("{}é{}", "x".repeat(148), "y".repeat(10));
        assert_eq!(t.check(&content(json!(value), &[]))[0].message, format!("\"{value}\" is longer than 1 character"));
    }

    #[test]
    fn a_catastrophic_pattern_validates_in_linear_time() {
        let t = CompiledType::new(&definition(json!({"schema": {"type": "string", "pattern": "^(a+)+$"}}))).unwrap();
        let evil = format!("{}!", "a".repeat(100_000));
        let started = std::time::Instant::now();
        assert_eq!(t.check(&content(json!(evil), &[])).len(), 1);
        assert!(started.elapsed() < std::time::Duration::from_millis(500), "{:?}", started.elapsed());
    }
}
