//! The OpenAPI document: what the server serves is what is checked in, and every documented
//! operation is routed (a request to it never meets the "no such endpoint" fallback or a 405).

use std::path::Path;

use reqwest::Method;
use serde_json::Value;

use crate::server;

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
