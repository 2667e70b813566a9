//! Request bodies of the key and client endpoints, parsed by hand so that every bad or unknown field is
//! named in one answer.

use serde_json::{Map, Value};
use time::Duration;
use tollgate_core::duration::parse_duration;
use tollgate_core::{CredentialLimits, Limit, Scopes, ValidationErrors};

/// Longest key name.
const MAX_NAME: usize = 100;

/// `POST /v1/keys` and `POST /v1/clients`.
pub struct CreateCredentialRequest {
    /// Label.
    pub name: String,
    /// Scopes.
    pub scopes: Scopes,
    /// Lifetime, if limited.
    pub expires_in: Option<Duration>,
    /// Its own rate limits.
    pub limits: CredentialLimits,
}

/// `PATCH /v1/{keys,clients}/{id}`.
pub struct UpdateCredentialRequest {
    /// New limits; classes left out keep theirs.
    pub limits: CredentialLimits,
}

fn limits_field(obj: &Map<String, Value>, errors: &mut ValidationErrors) -> CredentialLimits {
    let mut limits = CredentialLimits::default();
    match obj.get("limits") {
        None | Some(Value::Null) => {}
        Some(Value::Object(m)) => {
            for (class, v) in m {
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
    /// Parses and checks the body.
    pub fn parse(body: &Value) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let Some(obj) = object(body, &["limits"], &mut errors) else {
            return Err(errors);
        };
        if !obj.contains_key("limits") {
            errors.add("limits", "is required");
        }
        let limits = limits_field(obj, &mut errors);
        errors.into_result(Self { limits })
    }
}

/// `POST /v1/{keys,clients}/{id}/rotate`.
pub struct RotateRequest {
    /// How long the old secret keeps working.
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
    /// Parses and checks the body.
    pub fn parse(body: &Value) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let Some(obj) = object(body, &["name", "scopes", "expires_in", "limits"], &mut errors) else {
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
    /// Parses the optional body; no body means the default grace period.
    pub fn parse(body: Option<&Value>) -> Result<Self, ValidationErrors> {
        let Some(body) = body else {
            return Ok(Self { grace: DEFAULT_GRACE });
        };
        let mut errors = ValidationErrors::new();
        let Some(obj) = object(body, &["grace"], &mut errors) else {
            return Err(errors);
        };
        let grace = duration_field(obj, "grace", true, &mut errors).unwrap_or(DEFAULT_GRACE);
        errors.into_result(Self { grace })
    }
}
