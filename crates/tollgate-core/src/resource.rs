//! Resources: the typed records Tollgate stores. `NewResource::parse` turns an untrusted JSON
//! body into a value that obeys every rule (parse, don't validate), collecting every bad field.

use std::collections::BTreeMap;

use serde_json::{Map, Value};
use time::OffsetDateTime;

use crate::data::Data;
use crate::ids::{ProjectId, ResourceId};
use crate::validation::ValidationErrors;

/// Longest `name`, in characters.
pub const MAX_NAME_CHARS: usize = 200;
/// Longest `type`, in characters.
pub const MAX_TYPE_CHARS: usize = 64;
/// Most entries in `attributes`.
pub const MAX_ATTRIBUTES: usize = 50;
/// Longest attribute key, in characters.
pub const MAX_ATTRIBUTE_KEY_CHARS: usize = 40;
/// Longest attribute value, in characters.
pub const MAX_ATTRIBUTE_VALUE_CHARS: usize = 500;
/// Largest `data`, in bytes of compact JSON.
pub const MAX_DATA_BYTES: usize = 256 * 1024;
/// Deepest nesting of arrays and objects in `data` (`{"a":[1]}` nests 2 levels). Every answer
/// and event wraps `data` in a few levels more, and JSON parsers stop at a depth of their own
/// (serde_json, and so the Rust SDK, at 128), so `data` keeps well clear of that.
pub const MAX_DATA_DEPTH: usize = 64;

/// The fields a client may set.
pub const WRITABLE_FIELDS: [&str; 5] = ["name", "type", "status", "attributes", "data"];
/// The fields the server sets; sending one is a validation error.
pub const READ_ONLY_FIELDS: [&str; 5] = ["id", "created_at", "updated_at", "version", "project"];

/// A flat string-to-string map, sorted by key.
pub type Attributes = BTreeMap<String, String>;

/// Whether a resource is in use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ResourceStatus {
    /// In use (the default).
    #[default]
    Active,
    /// Kept but retired.
    Archived,
}

impl ResourceStatus {
    /// The wire form.
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceStatus::Active => "active",
            ResourceStatus::Archived => "archived",
        }
    }

    /// Parses the wire form.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "active" => Some(ResourceStatus::Active),
            "archived" => Some(ResourceStatus::Archived),
            _ => None,
        }
    }
}

/// An enum of the wire forms.
impl utoipa::PartialSchema for ResourceStatus {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        let all = [ResourceStatus::Active, ResourceStatus::Archived];
        crate::schema::string_enum(all.iter().map(|s| s.as_str()), "Whether a resource is in use.")
    }
}

impl utoipa::ToSchema for ResourceStatus {}

/// A resource's client-settable content, every rule already checked: the body of
/// `POST /v1/resource` as `NewResource::parse` reads it.
// Its schema is the body's in the OpenAPI document; a test checks that it names exactly
// `WRITABLE_FIELDS` and requires what the parser requires.
#[derive(Debug, Clone, PartialEq, utoipa::ToSchema)]
// Unknown members are refused by its parser; the schema says so (`additionalProperties: false`).
#[serde(deny_unknown_fields)]
pub struct NewResource {
    /// 1-200 characters, no control characters.
    #[schema(min_length = 1, max_length = 200, pattern = r"^[^\u0000-\u001F\u007F-\u009F]*$")]
    pub name: String,
    /// A lower-case identifier: `[a-z][a-z0-9_]*`, at most 64 characters.
    #[serde(rename = "type")]
    #[schema(pattern = "^[a-z][a-z0-9_]{0,63}$")]
    pub kind: String,
    /// `active` (the default) or `archived`.
    #[schema(required = false, default = "active")]
    pub status: ResourceStatus,
    /// At most 50 filterable string pairs; keys 1-40 of `[A-Za-z0-9_.-]`, values at most 500
    /// characters, without NUL.
    #[schema(required = false, schema_with = crate::schema::attributes)]
    pub attributes: Attributes,
    /// Any JSON value of at most 256 KiB as compact JSON (default `null`), with arrays and
    /// objects nested at most 64 levels deep; no string in it, key or value, may contain NUL
    /// (U+0000).
    #[schema(required = false, value_type = serde_json::Value)]
    pub data: Data,
}

/// A stored resource.
#[derive(Debug, Clone, PartialEq)]
pub struct Resource {
    /// `res_` + ULID.
    pub id: ResourceId,
    /// The project it belongs to.
    pub project_id: ProjectId,
    /// The content.
    pub content: NewResource,
    /// When it was created.
    pub created_at: OffsetDateTime,
    /// When it last changed.
    pub updated_at: OffsetDateTime,
    /// 1 at creation, +1 on every change.
    pub version: i64,
}

impl NewResource {
    /// Parses a create body: `name` and `type` are required, the rest defaults.
    pub fn parse(body: &Value) -> Result<Self, ValidationErrors> {
        let Some(obj) = body.as_object() else {
            return Err(ValidationErrors::single("body", "must be a JSON object"));
        };
        let data = obj.get("data").cloned().unwrap_or(Value::Null);
        parse_object(obj, data)
    }

    /// [`NewResource::parse`] of a body the caller gives up: its `data` is moved rather than
    /// copied (a batch of 100 creates would otherwise copy every resource's data once more).
    pub fn parse_owned(body: Value) -> Result<Self, ValidationErrors> {
        let Value::Object(mut obj) = body else {
            return Err(ValidationErrors::single("body", "must be a JSON object"));
        };
        let data = obj.get_mut("data").map_or(Value::Null, Value::take);
        parse_object(&obj, data)
    }

    /// This content as the JSON object a merge patch applies to.
    pub fn to_json(&self) -> Value {
        let attributes: Map<String, Value> =
            self.attributes.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect();
        serde_json::json!({
            "name": self.name,
            "type": self.kind,
            "status": self.status.as_str(),
            "attributes": attributes,
            "data": self.data.value(),
        })
    }
}

/// The fields of `obj`, whose `data` member is `data`.
fn parse_object(obj: &Map<String, Value>, data: Value) -> Result<NewResource, ValidationErrors> {
    let mut errors = ValidationErrors::new();
    check_field_names(obj, &mut errors);
    match parse_fields(obj, data, &mut errors) {
        Some(r) if errors.is_empty() => Ok(r),
        _ => Err(errors),
    }
}

/// Refuses unknown and read-only fields, naming each.
pub(crate) fn check_field_names(obj: &Map<String, Value>, errors: &mut ValidationErrors) {
    for key in obj.keys() {
        if READ_ONLY_FIELDS.contains(&key.as_str()) {
            errors.add(key.clone(), "is read-only");
        } else if !WRITABLE_FIELDS.contains(&key.as_str()) {
            errors.add(key.clone(), "unknown field");
        }
    }
}

fn parse_fields(obj: &Map<String, Value>, data: Value, errors: &mut ValidationErrors) -> Option<NewResource> {
    let name = required_string(obj, "name", errors).and_then(|s| check_name(s, errors));
    let kind = required_string(obj, "type", errors).and_then(|s| check_type(s, errors));
    let status = match obj.get("status") {
        None => Some(ResourceStatus::Active),
        Some(Value::String(s)) => ResourceStatus::parse(s).or_else(|| {
            errors.add("status", "must be \"active\" or \"archived\"");
            None
        }),
        Some(_) => {
            errors.add("status", "must be a string");
            None
        }
    };
    let attributes = parse_attributes(obj.get("attributes"), errors);
    let data = check_data(data, errors);
    Some(NewResource { name: name?, kind: kind?, status: status?, attributes: attributes?, data: data? })
}

fn required_string<'a>(obj: &'a Map<String, Value>, field: &str, errors: &mut ValidationErrors) -> Option<&'a str> {
    match obj.get(field) {
        None | Some(Value::Null) => {
            errors.add(field, "is required");
            None
        }
        Some(Value::String(s)) => Some(s),
        Some(_) => {
            errors.add(field, "must be a string");
            None
        }
    }
}

fn check_name(s: &str, errors: &mut ValidationErrors) -> Option<String> {
    let chars = s.chars().count();
    if chars == 0 || chars > MAX_NAME_CHARS {
        errors.add("name", format!("must be 1-{MAX_NAME_CHARS} characters"));
        None
    } else if s.chars().any(char::is_control) {
        errors.add("name", "must not contain control characters");
        None
    } else {
        Some(s.to_owned())
    }
}

fn check_type(s: &str, errors: &mut ValidationErrors) -> Option<String> {
    if is_identifier(s, MAX_TYPE_CHARS) {
        Some(s.to_owned())
    } else {
        errors.add(
            "type",
            format!("must be a lower-case identifier ([a-z][a-z0-9_]*), at most {MAX_TYPE_CHARS} characters"),
        );
        None
    }
}

/// `[a-z][a-z0-9_]*` of at most `max` characters.
pub fn is_identifier(s: &str, max: usize) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some('a'..='z')) && s.len() <= max && chars.all(|c| matches!(c, 'a'..='z' | '0'..='9' | '_'))
}

/// Attribute keys: 1-40 characters of `[A-Za-z0-9_.-]`, so they fit in `attributes[KEY]` filters.
pub fn is_attribute_key(s: &str) -> bool {
    (1..=MAX_ATTRIBUTE_KEY_CHARS).contains(&s.len())
        && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

fn parse_attributes(value: Option<&Value>, errors: &mut ValidationErrors) -> Option<Attributes> {
    let obj = match value {
        None | Some(Value::Null) => return Some(Attributes::new()),
        Some(Value::Object(obj)) => obj,
        Some(_) => {
            errors.add("attributes", "must be an object of string values");
            return None;
        }
    };
    if obj.len() > MAX_ATTRIBUTES {
        errors.add("attributes", format!("must have at most {MAX_ATTRIBUTES} entries"));
        return None;
    }
    let before = errors.fields().len();
    let mut out = Attributes::new();
    for (key, value) in obj {
        if !is_attribute_key(key) {
            errors.add(
                format!("attributes.{key}"),
                format!("key must be 1-{MAX_ATTRIBUTE_KEY_CHARS} characters of [A-Za-z0-9_.-]"),
            );
            continue;
        }
        match value {
            Value::String(v) if v.chars().count() > MAX_ATTRIBUTE_VALUE_CHARS => errors.add(
                format!("attributes.{key}"),
                format!("value must be at most {MAX_ATTRIBUTE_VALUE_CHARS} characters"),
            ),
            Value::String(v) if v.contains('\0') => {
                errors.add(format!("attributes.{key}"), "value must not contain NUL characters")
            }
            Value::String(v) => {
                out.insert(key.clone(), v.clone());
            }
            _ => errors.add(format!("attributes.{key}"), "value must be a string (attributes are flat)"),
        }
    }
    (errors.fields().len() == before).then_some(out)
}

fn check_data(data: Value, errors: &mut ValidationErrors) -> Option<Data> {
    if contains_nul(&data) {
        errors.add("data", "must not contain NUL characters");
        return None;
    }
    if crate::data::nesting(&data) > MAX_DATA_DEPTH {
        errors.add("data", format!("must not nest arrays and objects more than {MAX_DATA_DEPTH} levels deep"));
        return None;
    }
    // The text is written here, once, and kept: the size is its length, and the row, the event
    // and the answer all use it.
    let data = Data::new(data);
    let size = data.text().len();
    if size > MAX_DATA_BYTES {
        errors.add("data", format!("must be at most {MAX_DATA_BYTES} bytes as JSON (got {size})"));
        return None;
    }
    Some(data)
}

/// Whether `v` holds a NUL character (U+0000) in a string or an object key. NUL is refused
/// everywhere a client's text is stored or looked up (resource `data`, type definitions, filter
/// values), so that every backend (PostgreSQL's text and jsonb refuse it) stores and finds
/// exactly what SQLite would.
pub fn contains_nul(v: &Value) -> bool {
    match v {
        Value::String(s) => s.contains('\0'),
        Value::Array(a) => a.iter().any(contains_nul),
        Value::Object(o) => o.iter().any(|(k, v)| k.contains('\0') || contains_nul(v)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The schema of the create body names the fields the parser reads, and requires the ones
    /// it requires.
    #[test]
    fn schema_names_the_fields_the_parser_reads() {
        let schema = serde_json::to_value(<NewResource as utoipa::PartialSchema>::schema()).unwrap();
        let mut properties: Vec<&str> = schema["properties"].as_object().unwrap().keys().map(String::as_str).collect();
        let mut writable = WRITABLE_FIELDS.to_vec();
        properties.sort_unstable();
        writable.sort_unstable();
        assert_eq!(properties, writable);
        assert_eq!(schema["required"], json!(["name", "type"]));
        let e = NewResource::parse(&json!({})).unwrap_err();
        let required: Vec<&str> = e.fields().keys().map(String::as_str).collect();
        assert_eq!(required, ["name", "type"]);
    }

    #[test]
    fn parses_minimal_and_defaults() {
        let r = NewResource::parse(&json!({"name": "a", "type": "widget"})).unwrap();
        assert_eq!(r.status, ResourceStatus::Active);
        assert!(r.attributes.is_empty());
        assert_eq!(*r.data, Value::Null);
    }

    #[test]
    fn names_every_bad_field() {
        let e = NewResource::parse(&json!({
            "name": "", "type": "Bad Type", "status": "gone", "colour": 1, "id": "x",
            "attributes": {"nested": {"a": 1}, "ok": "v", "bad key": "v"}
        }))
        .unwrap_err();
        let f = e.fields();
        for k in ["name", "type", "status", "colour", "id", "attributes.nested", "attributes.bad key"] {
            assert!(f.contains_key(k), "{k} missing from {f:?}");
        }
        assert_eq!(f["colour"], "unknown field");
    }

    #[test]
    fn limits() {
        let many: Map<String, Value> = (0..51).map(|i| (format!("k{i}"), json!("v"))).collect();
        let e = NewResource::parse(&json!({"name": "a", "type": "t", "attributes": many})).unwrap_err();
        assert!(e.fields().contains_key("attributes"));
        let long = "x".repeat(201);
        assert!(NewResource::parse(&json!({"name": long, "type": "t"})).is_err());
        let ok = "é".repeat(200);
        assert!(NewResource::parse(&json!({"name": ok, "type": "t"})).is_ok());
        let big = "x".repeat(MAX_DATA_BYTES);
        assert!(NewResource::parse(&json!({"name": "a", "type": "t", "data": big})).is_err());
        // The bound is on the compact JSON text, quotes and escapes included: exactly at it passes
        // and the text kept is that JSON; one byte over fails, named beside every other error.
        let at = "x".repeat(MAX_DATA_BYTES - 4) + "\n";
        let r = NewResource::parse(&json!({"name": "a", "type": "t", "data": at})).unwrap();
        assert_eq!(r.data.text().len(), MAX_DATA_BYTES);
        assert_eq!(r.data.text(), serde_json::to_string(r.data.value()).unwrap());
        let over = "x".repeat(MAX_DATA_BYTES - 1);
        let e = NewResource::parse(&json!({"name": "", "type": "t", "data": over})).unwrap_err();
        assert!(e.fields().contains_key("data") && e.fields().contains_key("name"), "{e:?}");
        assert!(NewResource::parse(&json!({"name": "a", "type": "t", "data": {"k": "a\u{0}"}})).is_err());
        assert!(NewResource::parse(&json!({"name": "a", "type": "t".repeat(65)})).is_err());
    }

    #[test]
    fn data_nests_at_most_max_data_depth_levels() {
        let nested = |levels: usize| -> Value {
            let text = "[{\"a\":".repeat(levels / 2) + &"[".repeat(levels % 2) + "1" + &"]".repeat(levels % 2);
            serde_json::from_str(&(text + &"}]".repeat(levels / 2))).unwrap()
        };
        assert_eq!(crate::data::nesting(&nested(MAX_DATA_DEPTH)), MAX_DATA_DEPTH);
        assert!(NewResource::parse(&json!({"name": "a", "type": "t", "data": nested(MAX_DATA_DEPTH)})).is_ok());
        let e = NewResource::parse(&json!({"name": "a", "type": "t", "data": nested(MAX_DATA_DEPTH + 1)})).unwrap_err();
        assert!(e.fields()["data"].contains("64 levels"), "{e:?}");
    }
}
