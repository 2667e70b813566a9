//! Parses JSON into a `serde_json::Value`, refusing an object that names the same member twice
//! at any depth. serde_json keeps the last duplicate silently, other parsers keep the first or
//! fail, so a body such as `{"scopes":["resource:read"],"scopes":["admin"]}` would mean one thing
//! here and another to a proxy or an audit tool that read it first. It is the same single pass as
//! `serde_json::from_slice::<Value>`: the check is the map insertion that builds each object.
//!
//! An integer beyond 64 bits is refused too. serde_json reads it as the nearest `f64`, so
//! `123456789012345678901234567890` would be stored and answered as `1.2345678901234568e29`:
//! a write that silently changed the client's data. RFC 8259 lets an implementation limit the
//! range of numbers, and I-JSON (RFC 7493) asks for such values to be sent as strings.

use std::cell::{Cell, RefCell};
use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::map::Entry;
use serde_json::{Map, Number, Value};

/// Why a body is not one unambiguous JSON value.
#[derive(Debug)]
pub enum Refused {
    /// Not JSON: the parser's error, with its line and column.
    Syntax(serde_json::Error),
    /// An object names a member twice.
    Duplicate {
        /// The parser's error, with its line and column.
        error: serde_json::Error,
        /// The member's name.
        member: String,
    },
    /// An integer that 64 bits cannot hold.
    Inexact(Inexact),
}

/// Where an integer beyond 64 bits is, and its digits.
#[derive(Debug, PartialEq, Eq)]
pub struct Inexact {
    /// 1-based, as serde_json counts.
    pub line: usize,
    /// 1-based, in bytes, at the number's first character.
    pub column: usize,
    /// The integer as written.
    pub literal: String,
}

/// Parses `bytes` as one JSON value whose objects each name a member at most once and whose
/// integers fit in 64 bits.
pub fn from_slice(bytes: &[u8]) -> Result<Value, Refused> {
    let seen = Seen::default();
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let parsed = UniqueValue(&seen).deserialize(&mut de).and_then(|v| de.end().map(|()| v));
    match (parsed, seen.duplicate.into_inner()) {
        (Err(error), Some(member)) => Err(Refused::Duplicate { error, member }),
        (Err(error), None) => Err(Refused::Syntax(error)),
        // Only a body with a huge whole `f64` is scanned: its number may have been an integer.
        (Ok(value), _) if seen.huge.get() => match inexact_integer(bytes) {
            Some(inexact) => Err(Refused::Inexact(inexact)),
            None => Ok(value),
        },
        (Ok(value), _) => Ok(value),
    }
}

/// What the visitor noticed on its way.
#[derive(Default)]
struct Seen {
    /// The first member named twice.
    duplicate: RefCell<Option<String>>,
    /// Whether a number came as a whole `f64` at or beyond 2^63 in size, as an integer too large
    /// for `i64` and `u64` does (and so does `1e19`, which the scan tells apart).
    huge: Cell<bool>,
}

/// The first integer in `bytes` (valid JSON) outside `i64` and `u64`, if any.
fn inexact_integer(bytes: &[u8]) -> Option<Inexact> {
    let (mut line, mut line_start, mut i) = (1, 0, 0);
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                // Strings are skipped whole; a backslash skips the byte it escapes.
                i += 1;
                while bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
            }
            b'\n' => {
                line += 1;
                i += 1;
                line_start = i;
            }
            b'-' | b'0'..=b'9' => {
                let start = i;
                i += 1;
                while i < bytes.len() && bytes[i].is_ascii_digit() {
                    i += 1;
                }
                let fraction = i < bytes.len() && matches!(bytes[i], b'.' | b'e' | b'E');
                while i < bytes.len() && matches!(bytes[i], b'0'..=b'9' | b'.' | b'e' | b'E' | b'+' | b'-') {
                    i += 1;
                }
                let literal = std::str::from_utf8(&bytes[start..i]).unwrap_or_default();
                if !fraction && literal.parse::<i64>().is_err() && literal.parse::<u64>().is_err() {
                    return Some(Inexact { line, column: start - line_start + 1, literal: literal.to_owned() });
                }
            }
            _ => i += 1,
        }
    }
    None
}

/// Builds a `Value` like serde_json's own visitor, and records what [`Seen`] holds.
#[derive(Clone, Copy)]
struct UniqueValue<'a>(&'a Seen);

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
        if v.abs() >= 9.2e18 && v.fract() == 0.0 {
            self.0.huge.set(true);
        }
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
                    *self.0.duplicate.borrow_mut() = Some(name);
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
            let Err(Refused::Duplicate { member, .. }) = from_slice(text.as_bytes()) else { panic!("{text}") };
            assert_eq!(member, name, "{text}");
        }
        // The same name in sibling objects is fine, and syntax errors stay syntax errors.
        assert!(from_slice(br#"[{"a":1},{"a":2}]"#).is_ok());
        assert!(matches!(from_slice(br#"{"a":1"#), Err(Refused::Syntax(_))));
        assert!(from_slice(b"{} x").is_err());
    }

    #[test]
    fn integers_beyond_64_bits_are_refused_where_they_are() {
        for (text, line, column, literal) in [
            (r#"{"n":18446744073709551616}"#, 1, 6, "18446744073709551616"),
            (r#"[-9223372036854775809]"#, 1, 2, "-9223372036854775809"),
            (
                "{\"s\":\"1e99 \\\" 99999999999999999999\",\n \"n\": 123456789012345678901234567890}",
                2,
                7,
                "123456789012345678901234567890",
            ),
            (r#"[1e19, 12345678901234567890123]"#, 1, 8, "12345678901234567890123"),
        ] {
            let Err(Refused::Inexact(found)) = from_slice(text.as_bytes()) else { panic!("{text}") };
            assert_eq!(found, Inexact { line, column, literal: literal.into() }, "{text}");
        }
        // The extremes of i64 and u64 are kept exactly; floats, however large, stay floats.
        for text in [
            "[18446744073709551615, -9223372036854775808, 9223372036854775807]",
            r#"{"a":1e19,"b":-1.5e300,"c":12345678901234567890.0,"d":"99999999999999999999999"}"#,
        ] {
            let value = from_slice(text.as_bytes()).unwrap();
            assert_eq!(value, serde_json::from_str::<Value>(text).unwrap(), "{text}");
        }
    }
}
