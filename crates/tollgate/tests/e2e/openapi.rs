//! The OpenAPI document: what the server serves is what is checked in, and every documented
//! operation is routed (a request to it never meets the "no such endpoint" fallback or a 405).

use std::path::Path;

use reqwest::Method;
use serde_json::{json, Value};

use crate::{server, widget};

#[tokio::test]
async fn served_document_is_checked_in_and_every_operation_is_routed() {
    let s = server().await;
    let served = s.http.get(s.url("/openapi.json")).send().await.unwrap().text().await.unwrap();
    let checked_in =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/openapi.json")).unwrap();
    assert_eq!(served, checked_in, "docs/openapi.json differs from /openapi.json");
    let doc: Value = serde_json::from_str(&served).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    let mut operations = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            operations += 1;
            let concrete = path.replace("{id}", "x").replace("{delivery}", "x");
            let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            if item[method]["responses"]["200"]["content"].get("text/event-stream").is_some() {
                // A stream never ends by itself: check its status and type, then drop it.
                let r = s.http.request(m, s.url(&concrete)).header("x-api-key", &s.admin_key).send().await.unwrap();
                assert_eq!(r.status(), 200, "{method} {path}");
                assert_eq!(r.headers()["content-type"], "text/event-stream", "{method} {path}");
                continue;
            }
            let r = s.call(m, &concrete, Some(&s.admin_key), None).await;
            assert_ne!(r.status, 405, "{method} {path} is documented but not routed");
            assert_ne!(r.body["error"]["message"], "No such endpoint", "{method} {path} is documented but not routed");
            assert!(r.status.as_u16() < 500, "{method} {path}: {}", r.text);
        }
    }
    assert!(operations >= 36, "{operations}");
}

#[tokio::test]
async fn registered_types_are_components_for_their_project_only() {
    let s = server().await;
    let schema = serde_json::json!({
        "type": "object",
        "$defs": {"count": {"type": "integer", "minimum": 1}},
        "properties": {"cpus": {"$ref": "#/$defs/count"}},
        "required": ["cpus"]
    });
    let body = serde_json::json!({"name": "machine", "schema": schema, "description": "A build machine",
        "attributes": {"region": {"required": true, "enum": ["eu", "us"]}}});
    assert_eq!(s.call(Method::POST, "/v1/types", Some(&s.admin_key), Some(&body)).await.status, 201);
    let reader = crate::key_with(&s, &["resource:read"]).await;
    let doc = s.call(Method::GET, "/openapi.json", Some(&reader), None).await;
    assert_eq!(doc.status, 200, "{}", doc.text);
    let schemas = &doc.body["components"]["schemas"];
    assert_eq!(schemas["machine.data"]["properties"]["cpus"]["$ref"], "#/components/schemas/machine.data/$defs/count");
    let resource = &schemas["machine.resource"];
    assert_eq!(resource["x-tollgate-type-version"], 1);
    assert_eq!(resource["allOf"][0]["$ref"], "#/components/schemas/ResourceView");
    let own = &resource["allOf"][1]["properties"];
    assert_eq!(own["type"]["const"], "machine");
    assert_eq!(own["data"]["$ref"], "#/components/schemas/machine.data");
    assert_eq!(own["attributes"]["required"], serde_json::json!(["region"]));
    assert_eq!(own["attributes"]["properties"]["region"]["enum"], serde_json::json!(["eu", "us"]));
    // A new schema version shows at once.
    let put = serde_json::json!({"schema": {"type": "object"}});
    assert_eq!(s.call(Method::PUT, "/v1/types/machine", Some(&s.admin_key), Some(&put)).await.status, 200);
    let doc = s.call(Method::GET, "/openapi.json", Some(&reader), None).await;
    assert_eq!(doc.body["components"]["schemas"]["machine.resource"]["x-tollgate-type-version"], 2);
    // Without a credential: the document as checked in; another project sees none of it; a
    // credential that is presented must be valid.
    let anonymous = s.call(Method::GET, "/openapi.json", None, None).await;
    assert!(anonymous.body["components"]["schemas"].get("machine.data").is_none());
    let other = s.cli(&["projects", "create", "other"], None, &[]);
    assert!(other.status.success(), "{}", String::from_utf8_lossy(&other.stderr));
    let other_key = s.cli(&["keys", "create", "--name", "o", "--project", "other", "--scopes", "admin"], None, &[]);
    let other_key = String::from_utf8(other_key.stdout).unwrap().trim().to_owned();
    let theirs = s.call(Method::GET, "/openapi.json", Some(&other_key), None).await;
    assert_eq!(theirs.status, 200, "{}", theirs.text);
    assert!(theirs.body["components"]["schemas"].get("machine.data").is_none());
    s.call(Method::GET, "/openapi.json", Some("tgk_nope"), None).await.assert_error(401, "AUTHENTICATION_FAILED");
}

/// Answers match their schemas in the served document (validated as JSON Schema 2020-12, as
/// OpenAPI 3.1 defines them): each kind of event's `data` matches exactly one branch of
/// `EventData`'s `oneOf`, and a type registered without a schema shows `"schema": true`.
#[tokio::test]
async fn answers_match_their_schemas_in_the_document() {
    let s = server().await;
    let k = Some(s.admin_key.as_str());
    let document = s.call(Method::GET, "/openapi.json", None, None).await.body;
    let components = document["components"].clone();
    let check = |schema: &str, value: &Value| {
        let root = json!({"$ref": format!("#/components/schemas/{schema}"), "components": components});
        let validator = jsonschema::draft202012::new(&root).unwrap();
        let errors: Vec<String> = validator.iter_errors(value).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{schema}: {errors:?}\n{value}");
    };
    let created = s.call(Method::POST, "/v1/resource", k, Some(&widget("w"))).await;
    let path = format!("/v1/resource/{}", created.body["id"].as_str().unwrap());
    s.call(Method::PATCH, &path, k, Some(&json!({"name": "v"}))).await;
    assert_eq!(s.call(Method::DELETE, &path, k, None).await.status, 204);
    let events = s.call(Method::GET, "/v1/events?order=oldest", k, None).await;
    let kinds: Vec<&str> =
        events.body["items"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["resource.created", "resource.updated", "resource.deleted"]);
    check("EventPage", &events.body);
    check("ResourceView", &created.body);
    let typed = s.call(Method::POST, "/v1/types", k, Some(&json!({"name": "schemaless"}))).await;
    assert_eq!(typed.status, 201);
    assert_eq!(typed.body["schema"], json!(true));
    check("TypeView", &typed.body);
    let sparse = s.call(Method::GET, "/v1/resource?fields=name", k, None).await;
    check("ResourcePage", &sparse.body);
}
