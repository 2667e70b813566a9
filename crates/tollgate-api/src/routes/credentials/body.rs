//! Request bodies of the key and client endpoints, parsed by hand so that every bad or unknown field is
//! named in one answer. Each type's OpenAPI schema is the body's; the tests below check that a
//! schema names exactly the fields its parser reads.

use serde_json::{Map, Value};
use time::Duration;
use tollgate_core::duration::parse_duration;
use tollgate_core::{CredentialLimits, Limit, Scope, Scopes, ValidationErrors};

/// Longest key name.
const MAX_NAME: usize = 100;

/// `POST /v1/keys` and `POST /v1/clients`.
#[derive(utoipa::ToSchema)]
// Unknown members are refused by its parser; the schema says so (`additionalProperties: false`).
#[serde(deny_unknown_fields)]
pub struct CreateCredentialRequest {
    /// A label: 1-100 characters, no control characters.
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    /// What it may do. One string of scopes separated by spaces or commas is still accepted but
    /// deprecated (answered with `Deprecation` and `Sunset` headers); send an array.
    #[schema(value_type = Vec<Scope>, min_items = 1)]
    pub scopes: Scopes,
    /// How long it works, e.g. `90d` (default: until revoked).
    #[schema(value_type = Option<String>, example = "90d")]
    pub expires_in: Option<Duration>,
    /// Its own rate limits per route class (default: the server's).
    #[schema(value_type = Option<CredentialLimits>)]
    pub limits: CredentialLimits,
}

/// `PATCH /v1/{keys,clients}/{id}`.
#[derive(utoipa::ToSchema)]
// Unknown members are refused by its parser; the schema says so (`additionalProperties: false`).
#[serde(deny_unknown_fields)]
pub struct UpdateCredentialRequest {
    /// New limits; classes left out keep theirs.
    pub limits: CredentialLimits,
}

fn limits_field(obj: &Map<String, Value>, errors: &mut ValidationErrors) -> CredentialLimits {
    let mut limits = CredentialLimits::default();
    match obj.get("limits") {
        None | Some(Value::Null) => {}
        Some(Value::Object(m)) => {
            // `null` for a class is the same as leaving it out, as the view shows a default.
            for (class, v) in m.iter().filter(|(_, v)| !v.is_null()) {
                let parsed =
                    v.as_str().ok_or_else(|| "must be a string such as \"1000/h\"".to_owned()).and_then(Limit::parse);
                match (class.as_str(), parsed) {
                    ("read", Ok(l)) => limits.read = Some(l),
                    ("write", Ok(l)) => limits.write = Some(l),
                    ("read" | "write", Err(e)) => errors.add(format!("limits.{class}"), e),
                    _ => errors.add(format!("limits.{class}"), "unknown route class (expected read or write)"),
                }
            }
        }
        Some(_) => errors.add("limits", "must be an object such as {\"read\": \"5000/h\"}"),
    }
    limits
}

impl UpdateCredentialRequest {
    /// The members the body may have.
    pub const FIELDS: &[&str] = &["limits"];

    /// Parses and checks the body.
    pub fn parse(body: &Value) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let Some(obj) = object(body, Self::FIELDS, &mut errors) else {
            return Err(errors);
        };
        if !obj.contains_key("limits") {
            errors.add("limits", "is required");
        }
        let limits = limits_field(obj, &mut errors);
        errors.into_result(Self { limits })
    }
}

/// `POST /v1/{keys,clients}/{id}/rotate` (the body is optional).
#[derive(utoipa::ToSchema)]
// Unknown members are refused by its parser; the schema says so (`additionalProperties: false`).
#[serde(deny_unknown_fields)]
pub struct RotateRequest {
    /// How long the old secret keeps working, e.g. `1h` or `0s` (default `24h`).
    #[schema(value_type = Option<String>, example = "24h")]
    pub grace: Duration,
}

/// Default grace period of a rotation.
pub const DEFAULT_GRACE: Duration = Duration::hours(24);

fn object<'a>(body: &'a Value, allowed: &[&str], errors: &mut ValidationErrors) -> Option<&'a Map<String, Value>> {
    let Some(obj) = body.as_object() else {
        errors.add("body", "must be a JSON object");
        return None;
    };
    for key in obj.keys().filter(|k| !allowed.contains(&k.as_str())) {
        errors.add(key.clone(), "unknown field");
    }
    Some(obj)
}

fn duration_field(
    obj: &Map<String, Value>,
    field: &str,
    allow_zero: bool,
    errors: &mut ValidationErrors,
) -> Option<Duration> {
    match obj.get(field) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => parse_duration(s, allow_zero).map_err(|e| errors.add(field, e)).ok(),
        Some(_) => {
            errors.add(field, "must be a duration string such as \"90d\"");
            None
        }
    }
}

impl CreateCredentialRequest {
    /// The members the body may have.
    pub const FIELDS: &[&str] = &["name", "scopes", "expires_in", "limits"];

    /// Parses and checks the body.
    pub fn parse(body: &Value) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let Some(obj) = object(body, Self::FIELDS, &mut errors) else {
            return Err(errors);
        };
        let name = match obj.get("name") {
            Some(Value::String(s))
                if (1..=MAX_NAME).contains(&s.chars().count()) && !s.chars().any(char::is_control) =>
            {
                Some(s.clone())
            }
            None => {
                errors.add("name", "is required");
                None
            }
            Some(Value::String(s)) if s.chars().any(char::is_control) => {
                errors.add("name", "must not contain control characters");
                None
            }
            Some(_) => {
                errors.add("name", format!("must be a string of 1-{MAX_NAME} characters"));
                None
            }
        };
        let scopes = match obj.get("scopes") {
            Some(Value::Array(items)) => {
                let words: Option<Vec<&str>> = items.iter().map(Value::as_str).collect();
                match words.map(|w| Scopes::parse(&w.join(" "))) {
                    Some(Ok(s)) => Some(s),
                    Some(Err(e)) => {
                        errors.add("scopes", e);
                        None
                    }
                    None => {
                        errors.add("scopes", "must be an array of strings");
                        None
                    }
                }
            }
            Some(Value::String(s)) => Scopes::parse(s).map_err(|e| errors.add("scopes", e)).ok(),
            None => {
                errors.add("scopes", "is required");
                None
            }
            Some(_) => {
                errors.add("scopes", "must be an array of scope names");
                None
            }
        };
        let expires_in = duration_field(obj, "expires_in", false, &mut errors);
        let limits = limits_field(obj, &mut errors);
        match (name, scopes) {
            (Some(name), Some(scopes)) if errors.is_empty() => Ok(Self { name, scopes, expires_in, limits }),
            _ => Err(errors),
        }
    }
}

impl RotateRequest {
    /// The members the body may have.
    pub const FIELDS: &[&str] = &["grace"];

    /// Parses the optional body; no body means the default grace period.
    pub fn parse(body: Option<&Value>) -> Result<Self, ValidationErrors> {
        // A JSON `null` body is no body, as the document's optional body allows.
        let Some(body) = body.filter(|b| !b.is_null()) else {
            return Ok(Self { grace: DEFAULT_GRACE });
        };
        let mut errors = ValidationErrors::new();
        let Some(obj) = object(body, Self::FIELDS, &mut errors) else {
            return Err(errors);
        };
        let grace = duration_field(obj, "grace", true, &mut errors).unwrap_or(DEFAULT_GRACE);
        errors.into_result(Self { grace })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::openapi::schema_fields;

    /// Each body's schema names exactly the members its parser reads, and requires those whose
    /// absence the parser refuses.
    #[test]
    fn schemas_name_the_fields_the_parsers_read() {
        let missing = |r: Result<(), ValidationErrors>| {
            let mut v: Vec<String> = r.err().map(|e| e.fields().keys().cloned().collect()).unwrap_or_default();
            v.sort();
            v
        };
        let (fields, required) = schema_fields::<CreateCredentialRequest>();
        assert_eq!((fields, required.clone()), sorted(CreateCredentialRequest::FIELDS, &["name", "scopes"]));
        assert_eq!(missing(CreateCredentialRequest::parse(&json!({})).map(drop)), required);
        let (fields, required) = schema_fields::<UpdateCredentialRequest>();
        assert_eq!((fields, required.clone()), sorted(UpdateCredentialRequest::FIELDS, &["limits"]));
        assert_eq!(missing(UpdateCredentialRequest::parse(&json!({})).map(drop)), required);
        let (fields, required) = schema_fields::<RotateRequest>();
        assert_eq!((fields, required), sorted(RotateRequest::FIELDS, &[]));
        assert!(RotateRequest::parse(Some(&json!({}))).is_ok());
        assert!(RotateRequest::parse(Some(&json!(null))).is_ok(), "the document allows a null body");
        let limits = json!({"limits": {"read": null, "write": "10/h"}});
        assert!(UpdateCredentialRequest::parse(&limits).unwrap().limits.read.is_none(), "null is the default");
    }

    fn sorted(fields: &[&str], required: &[&str]) -> (Vec<String>, Vec<String>) {
        let mut f: Vec<String> = fields.iter().map(|s| s.to_string()).collect();
        let mut r: Vec<String> = required.iter().map(|s| s.to_string()).collect();
        f.sort();
        r.sort();
        (f, r)
    }
}
