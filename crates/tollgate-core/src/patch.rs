//! JSON Merge Patch (RFC 7396) over a resource's writable fields. The patched document is
//! parsed by the same rules as a create, so a patch can never store what a create could not.

use serde_json::Value;

use crate::resource::{check_field_names, NewResource};
use crate::validation::ValidationErrors;

/// Applies `patch` to `current` and validates the result.
///
/// Removing `data` (`"data": null`) sets it to `null`; removing `attributes` empties them;
/// removing `name` or `type` is refused because they are required.
pub fn apply_merge_patch(current: &NewResource, patch: &Value) -> Result<NewResource, ValidationErrors> {
    let Some(obj) = patch.as_object() else {
        return Err(ValidationErrors::single("body", "a merge patch must be a JSON object"));
    };
    let mut errors = ValidationErrors::new();
    check_field_names(obj, &mut errors);
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut doc = current.to_json();
    json_patch::merge(&mut doc, patch);
    NewResource::parse(&doc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn base() -> NewResource {
        NewResource::parse(&json!({
            "name": "a", "type": "t", "attributes": {"x": "1", "y": "2"}, "data": {"k": [1]}
        }))
        .unwrap()
    }

    #[test]
    fn merges_and_removes() {
        let r = apply_merge_patch(&base(), &json!({"attributes": {"x": null, "z": "3"}, "data": null})).unwrap();
        assert_eq!(r.attributes.len(), 2);
        assert_eq!(r.attributes["z"], "3");
        assert_eq!(r.data, Value::Null);
        assert_eq!(r.name, "a");
    }

    #[test]
    fn refuses_read_only_unknown_and_required_removal() {
        assert!(apply_merge_patch(&base(), &json!({"version": 3})).is_err());
        assert!(apply_merge_patch(&base(), &json!({"nope": 3})).is_err());
        let e = apply_merge_patch(&base(), &json!({"name": null})).unwrap_err();
        assert!(e.fields().contains_key("name"));
        assert!(apply_merge_patch(&base(), &json!([1])).is_err());
    }
}
