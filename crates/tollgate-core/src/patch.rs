//! JSON Merge Patch (RFC 7396) over a resource's writable fields. The patched document is
//! parsed by the same rules as a create, so a patch can never store what a create could not.

use serde_json::Value;
use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder, OneOfBuilder, Schema, SchemaType, Type};
use utoipa::openapi::RefOr;
use utoipa::PartialSchema;

use crate::resource::{check_field_names, NewResource};
use crate::validation::ValidationErrors;

/// The body of `PATCH /v1/resource/{id}` as the OpenAPI document describes it: a merge patch
/// over [`NewResource`], whose schema is derived from `NewResource`'s (the body is read by
/// [`apply_merge_patch`], which reparses the patched document with `NewResource::parse`). Every
/// member is optional; `null` removes a member that is not required (and an attribute).
pub struct ResourcePatch;

impl PartialSchema for ResourcePatch {
    fn schema() -> RefOr<Schema> {
        let RefOr::T(Schema::Object(mut object)) = NewResource::schema() else {
            return NewResource::schema();
        };
        let required = std::mem::take(&mut object.required);
        for (name, property) in object.properties.iter_mut() {
            if required.contains(name) {
                continue;
            }
            // `attributes: {"key": null}` removes one attribute.
            if let RefOr::T(Schema::Object(map)) = property {
                if let Some(values) = map.additional_properties.take() {
                    map.additional_properties = Some(Box::new(match *values {
                        AdditionalProperties::RefOr(v) => AdditionalProperties::RefOr(nullable(v)),
                        other => other,
                    }));
                }
            }
            *property = nullable(property.clone());
        }
        object.description = Some(
            "A JSON Merge Patch (RFC 7396) of the writable fields: members left out keep their value; \
             `null` removes `status` (back to `active`), `attributes`, one attribute, or `data`."
                .to_owned(),
        );
        RefOr::T(Schema::Object(object))
    }
}

impl utoipa::ToSchema for ResourcePatch {}

/// The same schema, or `null`.
fn nullable(schema: RefOr<Schema>) -> RefOr<Schema> {
    match schema {
        RefOr::T(Schema::Object(mut o)) => {
            o.schema_type = match o.schema_type {
                SchemaType::Type(t) if t != Type::Null => SchemaType::from_iter([t, Type::Null]),
                other => other,
            };
            RefOr::T(Schema::Object(o))
        }
        other => {
            let null = ObjectBuilder::new().schema_type(SchemaType::Type(Type::Null)).build();
            OneOfBuilder::new().item(other).item(null).into()
        }
    }
}

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
    NewResource::parse_owned(doc)
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

    /// The patch schema is the create schema with nothing required and the optional members
    /// nullable, as `apply_merge_patch` treats them.
    #[test]
    fn patch_schema_follows_the_create_schema() {
        let create = serde_json::to_value(NewResource::schema()).unwrap();
        let patch = serde_json::to_value(ResourcePatch::schema()).unwrap();
        let names = |s: &Value| s["properties"].as_object().unwrap().keys().cloned().collect::<Vec<_>>();
        assert_eq!(names(&create), names(&patch));
        assert!(patch.get("required").is_none_or(|r| r.as_array().unwrap().is_empty()), "{patch}");
        assert_eq!(patch["properties"]["name"], create["properties"]["name"], "a required member cannot be removed");
        assert_eq!(patch["properties"]["attributes"]["type"], json!(["object", "null"]));
        assert_eq!(patch["properties"]["attributes"]["additionalProperties"]["type"], json!(["string", "null"]));
        assert!(patch["properties"]["status"]["oneOf"].is_array(), "{}", patch["properties"]["status"]);
    }

    #[test]
    fn merges_and_removes() {
        let r = apply_merge_patch(&base(), &json!({"attributes": {"x": null, "z": "3"}, "data": null})).unwrap();
        assert_eq!(r.attributes.len(), 2);
        assert_eq!(r.attributes["z"], "3");
        assert_eq!(*r.data, Value::Null);
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
