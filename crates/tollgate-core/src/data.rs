//! A resource's `data`: the JSON value and its compact text, made together once.
//!
//! A written resource's `data` is needed as text four times: its size is checked when the body
//! is parsed, then the row stores it, its event carries it, and the answer shows it. Written out
//! each time, that was about a twentieth of a batch's instructions. A [`Data`] writes the text
//! once, when it is made, and every later use borrows it. The value is kept as well, for what
//! must look inside (schema validation, search, merge patches).
//!
//! Both live behind one `Arc`, so that copying a resource (a change set keeps one, its answer
//! another) does not copy its data. The two never disagree: a `Data` cannot be changed, only
//! replaced by a new one.

use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

use serde::{Serialize, Serializer};
use serde_json::value::RawValue;
use serde_json::Value;

/// See the module.
#[derive(Clone)]
pub struct Data(Arc<Both>);

struct Both {
    value: Value,
    text: Box<RawValue>,
}

impl Data {
    /// `value`, with its text written now.
    pub fn new(value: Value) -> Self {
        // A `Value`'s keys are strings and its numbers finite, so writing it cannot fail; a
        // stand-in text would make the two disagree, so there is none.
        let text = serde_json::value::to_raw_value(&value).expect("a JSON value always serialises");
        Self(Arc::new(Both { value, text }))
    }

    /// Data as the store keeps it: `text` is what [`Data::text`] gave when it was written, so it
    /// is kept as it is and parsed only for the value.
    pub fn from_stored(text: &str) -> serde_json::Result<Self> {
        let value = serde_json::from_str(text)?;
        let text = RawValue::from_string(text.to_owned())?;
        Ok(Self(Arc::new(Both { value, text })))
    }

    /// The value.
    pub fn value(&self) -> &Value {
        &self.0.value
    }

    /// The compact JSON text: what `serde_json::to_string` writes for the value.
    pub fn text(&self) -> &str {
        self.0.text.get()
    }

    /// The same text, for embedding in a document that is being serialised.
    pub fn raw(&self) -> &RawValue {
        &self.0.text
    }
}

impl Default for Data {
    fn default() -> Self {
        Self::new(Value::Null)
    }
}

impl From<Value> for Data {
    fn from(value: Value) -> Self {
        Self::new(value)
    }
}

impl Deref for Data {
    type Target = Value;

    fn deref(&self) -> &Value {
        &self.0.value
    }
}

impl PartialEq for Data {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || self.0.value == other.0.value
    }
}

impl fmt::Debug for Data {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.value.fmt(f)
    }
}

/// The text, as it is: the bytes the value itself would serialise to (with `serde_json`; any
/// other serializer sees the value).
impl Serialize for Data {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.text.serialize(s)
    }
}

/// Levels of arrays and objects in `v`: 0 for a scalar. Iterative, so that no input can run
/// the stack out whatever the parser in front of it allowed.
pub fn nesting(v: &Value) -> usize {
    let mut deepest = 0;
    let mut stack = vec![(v, 0)];
    while let Some((v, level)) = stack.pop() {
        let children: Box<dyn Iterator<Item = &Value>> = match v {
            Value::Array(a) => Box::new(a.iter()),
            Value::Object(o) => Box::new(o.values()),
            _ => continue,
        };
        deepest = deepest.max(level + 1);
        stack.extend(children.map(|c| (c, level + 1)));
    }
    deepest
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn nesting_counts_levels_of_arrays_and_objects() {
        assert_eq!(nesting(&json!(1)), 0);
        assert_eq!(nesting(&json!({})), 1);
        assert_eq!(nesting(&json!({"a": [1], "b": {"c": {}}})), 3);
        let deep: Value = serde_json::from_str(&("[".repeat(100) + &"]".repeat(100))).unwrap();
        assert_eq!(nesting(&deep), 100);
    }

    #[test]
    fn the_text_is_what_serialising_the_value_writes() {
        let value = json!({"z": [1, 2.5, null, true, {"b": "q\"\\\n\u{e9}\u{1F600}", "a": {}}], "a": -0.0, "m": 1e300});
        let data = Data::new(value.clone());
        assert_eq!(data.text(), serde_json::to_string(&value).unwrap());
        assert_eq!(serde_json::to_string(&data).unwrap(), serde_json::to_string(&value).unwrap());
        assert_eq!(serde_json::to_value(&data).unwrap(), value);
        assert_eq!(*data, value);
    }

    #[test]
    fn stored_text_is_kept_and_read_back() {
        let stored = Data::from_stored(r#"{"a":[1,"x"],"b":null}"#).unwrap();
        assert_eq!(stored.text(), r#"{"a":[1,"x"],"b":null}"#);
        assert_eq!(stored, Data::new(json!({"b": null, "a": [1, "x"]})));
        assert!(Data::from_stored("{").is_err());
        assert!(Data::from_stored("1 2").is_err());
    }

    #[test]
    fn equality_is_the_values_and_copies_share() {
        let a = Data::new(json!({"x": 1}));
        assert_eq!(a, a.clone());
        assert!(Arc::ptr_eq(&a.0, &a.clone().0));
        assert_ne!(a, Data::new(json!({"x": 2})));
        assert_eq!(Data::default().text(), "null");
    }

    #[test]
    fn inside_a_document_the_text_is_embedded() {
        let data = Data::new(json!({"k": [1, {"y": "z"}]}));
        let doc = json!({"data": {"k": [1, {"y": "z"}]}, "id": "r"});
        #[derive(Serialize)]
        struct Doc<'a> {
            data: &'a Data,
            id: &'a str,
        }
        assert_eq!(serde_json::to_string(&Doc { data: &data, id: "r" }).unwrap(), doc.to_string());
    }
}
