//! What a listing can ask beyond filters: the order (`sort=-updated_at,name`), time ranges,
//! sparse fieldsets (`fields=id,name,attributes.region`), and the keyset cursor that carries
//! the last item's sort values, so that a cursor works with any order at the same cost on every
//! page. Every parser refuses what it does not know, naming the parameter.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};

use crate::ids::ResourceId;
use crate::resource::{is_attribute_key, Resource};
use crate::time_fmt::to_unix_micros;

/// Most sort keys in one `sort`.
pub const MAX_SORT_KEYS: usize = 4;
/// Most entries in one `fields`.
pub const MAX_FIELDS: usize = 32;
const CURSOR_VERSION: &str = "v3";

/// What a listing can be ordered by.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SortField {
    /// `created_at`.
    CreatedAt,
    /// `updated_at`.
    UpdatedAt,
    /// `name`.
    Name,
    /// `type`.
    Type,
    /// `status`.
    Status,
    /// `attributes.KEY`; a resource without the attribute sorts after every one that has it,
    /// in either direction.
    Attribute(String),
}

/// One key of an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SortKey {
    /// What to order by.
    pub field: SortField,
    /// Largest first.
    pub descending: bool,
}

/// A sort value of one resource, as a cursor carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SortValue {
    /// A time, in microseconds since the epoch.
    Int(i64),
    /// A string (compared byte by byte on both backends).
    Text(String),
    /// An attribute the resource does not have: it sorts after every value, in either
    /// direction, so that a sort by an attribute is one index range followed by the rest.
    Missing,
}

/// Where the next keyset page starts: after the resource with these sort values and this id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    /// The last item's value of each sort key, in order.
    pub values: Vec<SortValue>,
    /// The last item's id (the final tie-break).
    pub id: ResourceId,
}

/// Parses `sort`: comma-separated keys, each optionally prefixed by `-` for descending.
pub fn parse_sort(value: &str) -> Result<Vec<SortKey>, String> {
    let mut keys: Vec<SortKey> = Vec::new();
    for part in value.split(',') {
        let (descending, name) = match part.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, part),
        };
        let field = match name {
            "created_at" => SortField::CreatedAt,
            "updated_at" => SortField::UpdatedAt,
            "name" => SortField::Name,
            "type" => SortField::Type,
            "status" => SortField::Status,
            other => match other.strip_prefix("attributes.") {
                Some(key) if is_attribute_key(key) => SortField::Attribute(key.to_owned()),
                _ => {
                    return Err(format!(
                        "unknown sort key `{name}`: use created_at, updated_at, name, type, status or attributes.KEY, \
                         with `-` for descending"
                    ))
                }
            },
        };
        if keys.iter().any(|k| k.field == field) {
            return Err(format!("sort key `{name}` given twice"));
        }
        keys.push(SortKey { field, descending });
    }
    if keys.len() > MAX_SORT_KEYS {
        return Err(format!("at most {MAX_SORT_KEYS} sort keys"));
    }
    Ok(keys)
}

/// The spelling of an order, as `sort` takes it.
pub fn sort_spec(keys: &[SortKey]) -> String {
    let mut out = String::new();
    for (i, k) in keys.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        if k.descending {
            out.push('-');
        }
        match &k.field {
            SortField::CreatedAt => out.push_str("created_at"),
            SortField::UpdatedAt => out.push_str("updated_at"),
            SortField::Name => out.push_str("name"),
            SortField::Type => out.push_str("type"),
            SortField::Status => out.push_str("status"),
            SortField::Attribute(a) => {
                out.push_str("attributes.");
                out.push_str(a);
            }
        }
    }
    out
}

/// `r`'s value of `field`.
pub fn sort_value(field: &SortField, r: &Resource) -> SortValue {
    match field {
        SortField::CreatedAt => SortValue::Int(to_unix_micros(r.created_at)),
        SortField::UpdatedAt => SortValue::Int(to_unix_micros(r.updated_at)),
        SortField::Name => SortValue::Text(r.content.name.clone()),
        SortField::Type => SortValue::Text(r.content.kind.clone()),
        SortField::Status => SortValue::Text(r.content.status.as_str().to_owned()),
        SortField::Attribute(key) => r.content.attributes.get(key).cloned().map_or(SortValue::Missing, SortValue::Text),
    }
}

/// The opaque cursor that points after `r` in the order `keys`. It names the order, so a cursor
/// is never read under another one.
pub fn encode_cursor(keys: &[SortKey], r: &Resource) -> String {
    if keys.is_empty() {
        return crate::page::encode_cursor(&r.id);
    }
    let values: Vec<Value> = keys
        .iter()
        .map(|k| match sort_value(&k.field, r) {
            SortValue::Int(i) => json!(i),
            SortValue::Text(s) => json!(s),
            SortValue::Missing => Value::Null,
        })
        .collect();
    URL_SAFE_NO_PAD.encode(json!([CURSOR_VERSION, sort_spec(keys), values, r.id.to_string()]).to_string())
}

/// Reads a cursor made by [`encode_cursor`] for the order `keys`.
pub fn decode_cursor(s: &str, keys: &[SortKey]) -> Result<Cursor, String> {
    if keys.is_empty() {
        if let Some(id) = crate::page::decode_cursor(s) {
            return Ok(Cursor { values: Vec::new(), id });
        }
    }
    let unknown = || "is not a cursor this server issued".to_owned();
    let bytes = URL_SAFE_NO_PAD.decode(s).map_err(|_| unknown())?;
    let v: Value = serde_json::from_slice(&bytes).map_err(|_| unknown())?;
    let [version, spec, values, id] = v.as_array().map(Vec::as_slice).unwrap_or_default() else {
        return Err(unknown());
    };
    if version != CURSOR_VERSION {
        return Err(unknown());
    }
    if spec.as_str() != Some(sort_spec(keys).as_str()) {
        return Err("was issued for another sort: keep the sort a cursor was issued with".to_owned());
    }
    let id = id.as_str().and_then(ResourceId::parse).ok_or_else(unknown)?;
    let values = values.as_array().ok_or_else(unknown)?;
    if values.len() != keys.len() {
        return Err(unknown());
    }
    let values = keys
        .iter()
        .zip(values)
        .map(|(k, v)| match k.field {
            SortField::CreatedAt | SortField::UpdatedAt => v.as_i64().map(SortValue::Int),
            SortField::Attribute(_) if v.is_null() => Some(SortValue::Missing),
            // No stored value holds a NUL, so no issued cursor does (PostgreSQL cannot bind one).
            _ => v.as_str().filter(|s| !s.contains('\0')).map(|s| SortValue::Text(s.to_owned())),
        })
        .collect::<Option<Vec<_>>>()
        .ok_or_else(unknown)?;
    Ok(Cursor { values, id })
}

/// One entry of a sparse fieldset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldPath {
    /// A top-level member of the resource.
    Top(&'static str),
    /// `attributes.KEY`.
    Attribute(String),
    /// `data.KEY`: one member of an object `data`.
    Data(String),
}

const TOP_FIELDS: [&str; 9] =
    ["id", "name", "type", "status", "attributes", "data", "created_at", "updated_at", "version"];

/// Parses `fields`: comma-separated resource members, `attributes.KEY` or `data.KEY`.
pub fn parse_fields(value: &str) -> Result<Vec<FieldPath>, String> {
    let mut out = Vec::new();
    for part in value.split(',') {
        let path = if let Some(top) = TOP_FIELDS.iter().find(|f| **f == part) {
            FieldPath::Top(top)
        } else if let Some(key) = part.strip_prefix("attributes.").filter(|k| is_attribute_key(k)) {
            FieldPath::Attribute(key.to_owned())
        } else if let Some(key) = part.strip_prefix("data.").filter(|k| !k.is_empty() && k.len() <= 128) {
            FieldPath::Data(key.to_owned())
        } else {
            return Err(format!("unknown field `{part}`: use {}, attributes.KEY or data.KEY", TOP_FIELDS.join(", ")));
        };
        if !out.contains(&path) {
            out.push(path);
        }
    }
    if out.len() > MAX_FIELDS {
        return Err(format!("at most {MAX_FIELDS} fields"));
    }
    Ok(out)
}

/// Keeps only the requested fields of a resource's JSON view (`id` always stays, since cursors
/// and links need it).
pub fn project_fields(view: Value, fields: &[FieldPath]) -> Value {
    let Value::Object(mut full) = view else { return view };
    let mut out = serde_json::Map::new();
    if let Some(id) = full.remove("id") {
        out.insert("id".into(), id);
    }
    for f in fields {
        match f {
            FieldPath::Top(name) => {
                if let Some(v) = full.get(*name) {
                    out.insert((*name).to_owned(), v.clone());
                }
            }
            FieldPath::Attribute(key) | FieldPath::Data(key) => {
                let (parent, value) = match f {
                    FieldPath::Attribute(_) => ("attributes", full.get("attributes").and_then(|a| a.get(key))),
                    _ => ("data", full.get("data").and_then(|d| d.get(key))),
                };
                let Some(value) = value.cloned() else { continue };
                let entry = out.entry(parent).or_insert_with(|| json!({}));
                if let Some(obj) = entry.as_object_mut() {
                    obj.insert(key.clone(), value);
                }
            }
        }
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_parse_and_refuse() {
        let keys = parse_sort("-updated_at,name,attributes.region").unwrap();
        assert_eq!(keys.len(), 3);
        assert!(keys[0].descending && !keys[1].descending);
        assert_eq!(keys[2].field, SortField::Attribute("region".into()));
        assert_eq!(sort_spec(&keys), "-updated_at,name,attributes.region");
        for bad in ["", "size", "name,name", "attributes.", "attributes.bad key", "a,b,c,d,e", "--name"] {
            assert!(parse_sort(bad).is_err(), "{bad}");
        }
    }

    /// A forged cursor cannot carry a NUL to the query (PostgreSQL refuses to bind one).
    #[test]
    fn a_cursor_with_a_nul_is_not_one_this_server_issued() {
        let keys = parse_sort("attributes.k").unwrap();
        let forged = |v: &str| {
            let id = ResourceId::generate().to_string();
            URL_SAFE_NO_PAD.encode(json!([CURSOR_VERSION, "attributes.k", [v], id]).to_string())
        };
        assert!(decode_cursor(&forged("a"), &keys).is_ok());
        assert!(decode_cursor(&forged("a\0b"), &keys).is_err());
    }

    #[test]
    fn fields_parse_and_project() {
        let f = parse_fields("name,attributes.region,data.cpus").unwrap();
        let view = json!({"id": "res_1", "name": "a", "type": "t", "attributes": {"region": "eu", "x": "y"},
                          "data": {"cpus": 4, "ram": 8}});
        assert_eq!(
            project_fields(view, &f),
            json!({"id": "res_1", "name": "a", "attributes": {"region": "eu"}, "data": {"cpus": 4}})
        );
        for bad in ["", "nope", "attributes.", "name,,type", "data."] {
            assert!(parse_fields(bad).is_err(), "{bad}");
        }
    }
}
