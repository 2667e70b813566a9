//! Resource types over HTTP: registration, every write of a registered type checked against its
//! schema with every violation listed by JSON Pointer, new versions, the project rule for
//! unregistered types, deletion refused while resources exist, hostile schemas refused.

use reqwest::Method;
use serde_json::{json, Value};

use crate::{key_with, server};

fn pointers(details: &Value) -> Vec<String> {
    details["errors"].as_array().unwrap().iter().map(|e| e["pointer"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn registered_types_check_every_write() {
    let s = server().await;
    let k = Some(s.admin_key.as_str());
    let machine = json!({
        "name": "machine",
        "description": "A build machine",
        "schema": {"type": "object", "required": ["cpus"], "additionalProperties": false,
                   "properties": {"cpus": {"type": "integer", "minimum": 1}, "tags": {"type": "array", "items": {"type": "string"}}}},
        "attributes": {"region": {"required": true, "enum": ["eu-west-1", "us-east-1"]}}
    });
    let r = s.call(Method::POST, "/v1/types", k, Some(&machine)).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["version"], 1);
    s.call(Method::POST, "/v1/types", k, Some(&machine)).await.assert_error(409, "CONFLICT");

    // Every violation, each with its pointer; nothing written.
    let bad = json!({"name": "m", "type": "machine", "attributes": {"region": "mars"}, "data": {"cpus": 0, "tags": [1], "gpu": true}});
    let r = s.call(Method::POST, "/v1/resource", k, Some(&bad)).await;
    let found = pointers(r.assert_error(400, "VALIDATION_FAILED"));
    for p in ["/data/cpus", "/data/tags/0", "/data", "/attributes/region"] {
        assert!(found.contains(&p.to_owned()), "{p} not in {found:?}");
    }
    assert_eq!(s.count_rows("resources"), 0);
    let good = json!({"name": "m", "type": "machine", "attributes": {"region": "eu-west-1"}, "data": {"cpus": 8}});
    let created = s.call(Method::POST, "/v1/resource", k, Some(&good)).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let id = created.body["id"].as_str().unwrap().to_owned();

    // A patch whose result breaks the type is refused; the resource is unchanged.
    let r = s.call(Method::PATCH, &format!("/v1/resource/{id}"), k, Some(&json!({"data": {"cpus": "many"}}))).await;
    assert_eq!(pointers(r.assert_error(400, "VALIDATION_FAILED")), ["/data/cpus"]);
    assert_eq!(s.call(Method::GET, &format!("/v1/resource/{id}"), k, None).await.body["version"], 1);
    // In a batch, the failing operation is named.
    let batch = json!({"operations": [{"op": "create", "body": good}, {"op": "create", "body": bad}]});
    let r = s.call(Method::POST, "/v1/batch", k, Some(&batch)).await;
    assert_eq!(r.assert_error(400, "VALIDATION_FAILED")["index"], 1);

    // A new version applies to the next write at once.
    let mut v2 = machine.clone();
    v2.as_object_mut().unwrap().remove("name");
    v2["schema"]["properties"]["cpus"]["maximum"] = json!(64);
    let r = s.call(Method::PUT, "/v1/types/machine", k, Some(&v2)).await;
    assert_eq!(r.body["version"], 2, "{}", r.text);
    let r = s.call(Method::PATCH, &format!("/v1/resource/{id}"), k, Some(&json!({"data": {"cpus": 128}}))).await;
    assert_eq!(pointers(r.assert_error(400, "VALIDATION_FAILED")), ["/data/cpus"]);
    assert_eq!(s.call(Method::GET, "/v1/types", k, None).await.body["items"][0]["version"], 2);

    // Unregistered types are accepted until the project requires registration.
    let disk = json!({"name": "d", "type": "disk"});
    assert_eq!(s.call(Method::POST, "/v1/resource", k, Some(&disk)).await.status, 201);
    let r = s.call(Method::PATCH, "/v1/project", k, Some(&json!({"require_registered_types": true}))).await;
    assert_eq!(r.body["require_registered_types"], true, "{}", r.text);
    let r = s.call(Method::POST, "/v1/resource", k, Some(&disk)).await;
    assert_eq!(pointers(r.assert_error(400, "VALIDATION_FAILED")), ["/type"]);

    // A type with resources cannot go; without them it can.
    s.call(Method::DELETE, "/v1/types/machine", k, None).await.assert_error(409, "CONFLICT");
    assert_eq!(s.call(Method::DELETE, &format!("/v1/resource/{id}"), k, None).await.status, 204);
    assert_eq!(s.call(Method::DELETE, "/v1/types/machine", k, None).await.status, 204);
    s.call(Method::GET, "/v1/types/machine", k, None).await.assert_error(404, "NOT_FOUND");

    // Types are for admins.
    let reader = key_with(&s, &["resource:read", "resource:write"]).await;
    s.call(Method::GET, "/v1/types", Some(&reader), None).await.assert_error(403, "PERMISSION_DENIED");
}

/// A violation's message quotes the value it is about; a large value is shortened in it, so that
/// a small write cannot make an answer many times its own size (here 100 violations of a
/// 200 KB string were 20 MB).
#[tokio::test]
async fn violations_of_a_large_value_make_a_small_answer() {
    let s = server().await;
    let k = Some(s.admin_key.as_str());
    let schema = json!({"allOf": vec![json!({"maxLength": 1}); 100], "uniqueItems": true});
    assert_eq!(
        s.call(Method::POST, "/v1/types", k, Some(&json!({"name": "short", "schema": schema}))).await.status,
        201
    );
    for data in [json!("x".repeat(200_000)), json!(vec!["y".repeat(2_000); 100])] {
        let r =
            s.call(Method::POST, "/v1/resource", k, Some(&json!({"name": "n", "type": "short", "data": data}))).await;
        let errors = r.assert_error(400, "VALIDATION_FAILED")["errors"].as_array().unwrap().clone();
        assert!(!errors.is_empty());
        assert!(r.text.len() < 64 * 1024, "{} bytes for {} violations", r.text.len(), errors.len());
        assert!(errors.iter().all(|e| e["message"].as_str().unwrap().contains(" … ")), "{}", r.text);
    }
}

#[tokio::test]
async fn hostile_schemas_are_refused_at_registration() {
    let s = server().await;
    let k = Some(s.admin_key.as_str());
    let huge: Vec<String> = (0..20_000).map(|i| format!("value-{i}")).collect();
    for schema in [
        json!({"$ref": "https://example.com/schema.json"}),
        json!({"properties": {"a": {"$ref": "other.json"}}}),
        json!({"type": "string", "pattern": "(?=a)b"}),
        json!({"type": "string", "pattern": "(a)\\1"}),
        json!({"enum": huge}),
        json!({"type": "nonsense"}),
    ] {
        let r = s.call(Method::POST, "/v1/types", k, Some(&json!({"name": "t", "schema": schema}))).await;
        assert!(r.assert_error(400, "VALIDATION_FAILED").get("schema").is_some(), "{}", r.text);
    }
    // A catastrophic pattern is accepted (the engine does not backtrack) and checks fast.
    let evil = json!({"name": "evil", "schema": {"type": "object", "properties": {"s": {"type": "string", "pattern": "^(a+)+$"}}}});
    assert_eq!(s.call(Method::POST, "/v1/types", k, Some(&evil)).await.status, 201);
    let body = json!({"name": "x", "type": "evil", "data": {"s": format!("{}!", "a".repeat(100_000))}});
    let started = std::time::Instant::now();
    s.call(Method::POST, "/v1/resource", k, Some(&body)).await.assert_error(400, "VALIDATION_FAILED");
    assert!(started.elapsed() < std::time::Duration::from_secs(2), "{:?}", started.elapsed());
}

#[tokio::test]
async fn the_cli_manages_types_like_the_api() {
    let s = server().await;
    let dir = tollgate_testkit::private_tempdir();
    let file = dir.path().join("machine.json");
    std::fs::write(&file, r#"{"type": "object", "required": ["cpus"]}"#).unwrap();
    let path = file.to_str().unwrap();
    let out = s.cli(&["types", "create", "machine", "--schema", path], None, &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let created: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(created["version"], 1);
    // The server sees it at once.
    let k = Some(s.admin_key.as_str());
    let r = s.call(Method::POST, "/v1/resource", k, Some(&json!({"name": "m", "type": "machine", "data": {}}))).await;
    assert_eq!(pointers(r.assert_error(400, "VALIDATION_FAILED")), ["/data"]);
    let out = s.cli(&["types", "update", "machine", "--schema", path], None, &[]);
    assert_eq!(serde_json::from_slice::<Value>(&out.stdout).unwrap()["version"], 2);
    let out = s.cli(&["types", "list"], None, &[]);
    assert_eq!(serde_json::from_slice::<Value>(&out.stdout).unwrap()[0]["name"], "machine");
    assert!(s.cli(&["types", "delete", "machine"], None, &[]).status.success());
    let out = s.cli(&["types", "get", "machine"], None, &[]);
    assert!(!out.status.success());
}
