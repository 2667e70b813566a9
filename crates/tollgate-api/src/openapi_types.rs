//! The OpenAPI document as one project sees it: the static document plus, for each registered
//! resource type, two components, so that clients generated from it know the type's shape.
//! - `<name>.data`: the type's JSON Schema for `data`, as registered. OpenAPI 3.1 schemas are
//!   JSON Schema 2020-12, so it goes in unchanged except for its local references (`#/$defs/x`),
//!   which would otherwise resolve against the whole document: they are rewritten to point into
//!   the component.
//! - `<name>.resource`: a `ResourceView` whose `type` is the name, whose `data` is the above and
//!   whose `attributes` follow the type's attribute rules.

use serde_json::{json, Map, Value};
use tollgate_core::resource_type::ResourceType;

/// The document with `types` as components, as pretty JSON.
pub fn document(types: &[ResourceType]) -> String {
    let mut doc: Value = serde_json::from_str(&crate::openapi::json()).unwrap_or_default();
    if let Some(schemas) = doc.pointer_mut("/components/schemas").and_then(Value::as_object_mut) {
        for t in types {
            let data = format!("{}.data", t.name);
            let mut schema = t.definition.schema.clone();
            rebase_refs(&mut schema, &format!("#/components/schemas/{data}"));
            schemas.insert(data.clone(), schema);
            schemas.insert(format!("{}.resource", t.name), resource_schema(t, &data));
        }
    }
    serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n"
}

/// The resource schema of type `t`, whose data schema is the component `data`.
fn resource_schema(t: &ResourceType, data: &str) -> Value {
    let mut properties = Map::new();
    let mut required = Vec::new();
    for (key, rule) in &t.definition.attributes {
        let mut p = json!({"type": "string"});
        if let Some(values) = &rule.one_of {
            p["enum"] = json!(values);
        }
        properties.insert(key.clone(), p);
        if rule.required {
            required.push(key.clone());
        }
    }
    json!({
        "title": t.name,
        "description": t.definition.description,
        "x-tollgate-type-version": t.version,
        "allOf": [
            {"$ref": "#/components/schemas/ResourceView"},
            {
                "type": "object",
                "properties": {
                    "type": {"const": t.name},
                    "attributes": {
                        "type": "object",
                        "properties": properties,
                        "required": required,
                        "additionalProperties": {"type": "string"},
                    },
                    "data": {"$ref": format!("#/components/schemas/{data}")},
                },
            },
        ],
    })
}

/// Rewrites every `$ref` that points inside the schema (`#` or `#/...`) to point inside `base`.
fn rebase_refs(schema: &mut Value, base: &str) {
    match schema {
        Value::Object(map) => {
            for (key, value) in map.iter_mut() {
                match value {
                    Value::String(target) if key == "$ref" && (target == "#" || target.starts_with("#/")) => {
                        *target = format!("{base}{}", &target[1..]);
                    }
                    // Values, not schemas: a `$ref` inside them is data and stays as it is.
                    _ if matches!(key.as_str(), "const" | "enum" | "default" | "examples") => {}
                    _ => rebase_refs(value, base),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| rebase_refs(v, base)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_references_point_into_the_component() {
        let mut schema = json!({
            "$defs": {"cpu": {"type": "integer"}},
            "properties": {"cpus": {"$ref": "#/$defs/cpu"}, "self": {"$ref": "#"}, "ext": {"$ref": "other.json"}},
            "const": {"$ref": "#/not-a-reference-inside-const"}
        });
        rebase_refs(&mut schema, "#/components/schemas/machine.data");
        assert_eq!(schema["properties"]["cpus"]["$ref"], "#/components/schemas/machine.data/$defs/cpu");
        assert_eq!(schema["properties"]["self"]["$ref"], "#/components/schemas/machine.data");
        assert_eq!(schema["properties"]["ext"]["$ref"], "other.json");
        assert_eq!(schema["const"]["$ref"], "#/not-a-reference-inside-const");
    }
}
