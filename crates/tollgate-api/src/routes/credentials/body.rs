//! Request bodies of the key and client endpoints, parsed by hand so that every bad or unknown field is
//! named in one answer. Each type's OpenAPI schema is the body's; the tests below check that a
//! schema names exactly the fields its parser reads.

use serde_json::{Map, Value};
use time::Duration;
use tollgate_core::credential::{check_credential_name, MAX_CREDENTIAL_NAME_CHARS};
use tollgate_core::duration::{parse_duration, parse_lifetime};
use tollgate_core::{CredentialLimits, Limit, LimitsPatch, Scope, Scopes, ValidationErrors};

/// `POST /v1/keys` and `POST /v1/clients`.
#[derive(utoipa::ToSchema)]
// Unknown members are refused by its parser; the schema says so (`additionalProperties: false`).
#[serde(deny_unknown_fields)]
pub struct CreateCredentialRequest {
    /// A label: 1-100 characters, no control characters.
    #[schema(min_length = 1, max_length = 100, pattern = r"^[^\u0000-\u001F\u007F-\u009F]*$")]
    pub name: String,
    /// What it may do. One string of scopes separated by spaces or commas is still accepted but
    /// deprecated (answered with `Deprecation` and `Sunset` headers); send an array.
    #[schema(value_type = Vec<Scope>, min_items = 1)]
    pub scopes: Scopes,
    /// How long it works, e.g. `90d` or `1h 30m`: at least 1s, at most 3650 days (default:
    /// until revoked).
    #[schema(schema_with = duration_schema, example = "90d")]
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
    /// New limits: classes left out keep theirs, `null` returns a class to the server's default.
    #[schema(value_type = CredentialLimits)]
    pub limits: LimitsPatch,
}

/// The `limits` member: per class a limit, or `null` for the server's default. `null` or no
/// member at all changes no class.
fn limits_field(obj: &Map<String, Value>, errors: &mut ValidationErrors) -> LimitsPatch {
    let mut limits = LimitsPatch::default();
    match obj.get("limits") {
        None | Some(Value::Null) => {}
        Some(Value::Object(m)) => {
            for (class, v) in m {
                let parsed = match v {
                    Value::Null => Ok(None),
                    Value::String(s) => Limit::parse(s).map(Some),
                    _ => Err("must be a string such as \"1000/h\", or null for the default".to_owned()),
                };
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
        if !obj.get("limits").is_some_and(Value::is_object) {
            errors.add("limits", "is required: an object such as {\"read\": \"5000/h\"}");
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
    /// How long the old secret keeps working, e.g. `1h` or `0s`: at most 3650 days (default `24h`).
    #[schema(schema_with = duration_schema, example = "24h", required = false)]
    pub grace: Duration,
}

/// A duration member: `null` is the default, a string is read by `parse_duration`.
fn duration_schema() -> utoipa::openapi::schema::Object {
    use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
        .pattern(Some(tollgate_core::schema::DURATION))
        .description(Some(
            "A duration such as `90d`, `24h`, `15m` or `1h 30m`, at most 3650 days (`expires_in`: at least \
             1s; `grace`: `0s` ends the old secret at once); `null` is the default.",
        ))
        .build()
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
    parse: fn(&str) -> Result<Duration, String>,
    errors: &mut ValidationErrors,
) -> Option<Duration> {
    match obj.get(field) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => parse(s).map_err(|e| errors.add(field, e)).ok(),
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
            Some(Value::String(s)) => {
                check_credential_name(s).map(|()| s.clone()).map_err(|e| errors.add("name", e)).ok()
            }
            None => {
                errors.add("name", "is required");
                None
            }
            Some(_) => {
                errors.add("name", format!("must be a string of 1-{MAX_CREDENTIAL_NAME_CHARS} characters"));
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
        let expires_in = duration_field(obj, "expires_in", parse_lifetime, &mut errors);
        let limits = limits_field(obj, &mut errors).apply(CredentialLimits::default());
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
        let grace = duration_field(obj, "grace", |s| parse_duration(s, true), &mut errors).unwrap_or(DEFAULT_GRACE);
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
    }

    /// In a change, a class left out keeps its limit and `null` returns it to the default; in a
    /// creation both mean the default. An unknown class is refused, `null` or not.
    #[test]
    fn null_limits_return_a_class_to_the_default() {
        let ten = Limit::parse("10/h").unwrap();
        let change = UpdateCredentialRequest::parse(&json!({"limits": {"read": null, "write": "10/h"}})).unwrap();
        assert_eq!(change.limits, LimitsPatch { read: Some(None), write: Some(Some(ten)) });
        let change = UpdateCredentialRequest::parse(&json!({"limits": {}})).unwrap();
        assert_eq!(change.limits, LimitsPatch::default());
        let current = CredentialLimits { read: Some(ten), write: Some(ten) };
        let reset = UpdateCredentialRequest::parse(&json!({"limits": {"read": null}})).unwrap();
        assert_eq!(reset.limits.apply(current), CredentialLimits { read: None, write: Some(ten) });
        for refused in [json!({"limits": null}), json!({"limits": {"foo": null}}), json!({"limits": {"": null}})] {
            assert!(UpdateCredentialRequest::parse(&refused).is_err(), "{refused}");
        }
        let body = |limits: Value| json!({"name": "k", "scopes": ["resource:read"], "limits": limits});
        let created = CreateCredentialRequest::parse(&body(json!({"read": null, "write": "10/h"}))).unwrap();
        assert_eq!(created.limits, CredentialLimits { read: None, write: Some(ten) });
        assert!(CreateCredentialRequest::parse(&body(json!({"foo": null}))).is_err());
        assert!(CreateCredentialRequest::parse(&body(Value::Null)).is_ok(), "no limits of its own");
    }

    fn sorted(fields: &[&str], required: &[&str]) -> (Vec<String>, Vec<String>) {
        let mut f: Vec<String> = fields.iter().map(|s| s.to_string()).collect();
        let mut r: Vec<String> = required.iter().map(|s| s.to_string()).collect();
        f.sort();
        r.sort();
        (f, r)
    }
}
