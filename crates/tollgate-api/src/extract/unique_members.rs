//! Parses JSON into a `serde_json::Value`, refusing an object that names the same member twice
//! at any depth. serde_json keeps the last duplicate silently, other parsers keep the first or
//! fail, so a body such as `{"scopes":["resource:read"],"scopes":["admin"]}` would mean one thing
//! here and another to a proxy or an audit tool that read it first. It is the same single pass as
//! `serde_json::from_slice::<Value>`: the check is the map insertion that builds each object.

use std::cell::RefCell;
use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::map::Entry;
use serde_json::{Map, Number, Value};

/// Why a body is not one unambiguous JSON value.
#[derive(Debug)]
pub struct Refused {
    /// The parser's error, with its line and column.
    pub error: serde_json::Error,
    /// The member named twice, when that is the reason.
    pub duplicate: Option<String>,
}

/// Parses `bytes` as one JSON value whose objects each name a member at most once.
pub fn from_slice(bytes: &[u8]) -> Result<Value, Refused> {
    let duplicate = RefCell::new(None);
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let parsed = UniqueValue(&duplicate).deserialize(&mut de).and_then(|v| de.end().map(|()| v));
    parsed.map_err(|error| Refused { error, duplicate: duplicate.into_inner() })
}

/// Builds a `Value` like serde_json's own visitor, and records the first repeated member name.
#[derive(Clone, Copy)]
struct UniqueValue<'a>(&'a RefCell<Option<String>>);

impl<'de> DeserializeSeed<'de> for UniqueValue<'_> {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for UniqueValue<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(item) = seq.next_element_seed(self)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut map = Map::new();
        while let Some(key) = access.next_key::<String>()? {
            let value = access.next_value_seed(self)?;
            match map.entry(key) {
                Entry::Vacant(slot) => {
                    slot.insert(value);
                }
                Entry::Occupied(seen) => {
                    let name = seen.key().clone();
                    let error = de::Error::custom(format_args!("the member `{name}` appears twice in one object"));
                    *self.0.borrow_mut() = Some(name);
                    return Err(error);
                }
            }
        }
        Ok(Value::Object(map))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_value_as_serde_json() {
        let text = r#"{"a":[1,-2,3.5,1e300,null,true,"s\u00e9"],"b":{"c":{}},"d":18446744073709551615}"#;
        let ours = from_slice(text.as_bytes()).unwrap();
        assert_eq!(ours, serde_json::from_str::<Value>(text).unwrap());
    }

    #[test]
    fn duplicates_at_any_depth_are_named() {
        for (text, name) in [
            (r#"{"a":1,"a":2}"#, "a"),
            (r#"{"x":{"y":[{"k":1,"k":1}]}}"#, "k"),
            (r#"[{"n":{},"m":0,"n":{}}]"#, "n"),
            (r#"{"\u0061":1,"a":2}"#, "a"),
        ] {
            let refused = from_slice(text.as_bytes()).unwrap_err();
            assert_eq!(refused.duplicate.as_deref(), Some(name), "{text}");
        }
        // The same name in sibling objects is fine, and syntax errors stay syntax errors.
        assert!(from_slice(br#"[{"a":1},{"a":2}]"#).is_ok());
        let refused = from_slice(br#"{"a":1"#).unwrap_err();
        assert!(refused.duplicate.is_none());
        assert!(from_slice(b"{} x").is_err());
    }
}
