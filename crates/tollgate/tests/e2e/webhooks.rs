//! Webhook endpoints over HTTP and the CLI: registration rules (no internal addresses unless
//! allowed), listing, tests, deliveries, deletion. Delivery itself is tested with the
//! `standardwebhooks` reference library in tests/interop.

use reqwest::Method;
use serde_json::json;

use tollgate_testkit::TestServer;

use crate::{server, server_with};

#[tokio::test]
async fn registration_refuses_internal_addresses_by_default() {
    let s = server().await;
    let admin = Some(s.admin_key.as_str());
    for url in
        ["http://127.0.0.1:9/h", "http://10.1.2.3/h", "http://169.254.169.254/latest/meta-data", "ftp://x.example/"]
    {
        let r = s.call(Method::POST, "/v1/webhooks", admin, Some(&json!({"url": url}))).await;
        let details = r.assert_error(400, "VALIDATION_FAILED");
        assert!(details.get("url").is_some(), "{url}: {details}");
    }
    let r = s
        .call(
            Method::POST,
            "/v1/webhooks",
            admin,
            Some(&json!({"url": "http://127.0.0.1:9/h", "event_types": ["resource.exploded"], "x": 1})),
        )
        .await;
    let details = r.assert_error(400, "VALIDATION_FAILED");
    assert!(details.get("event_types").is_some() && details.get("x").is_some());
    assert_eq!(s.count_rows("webhook_endpoints"), 0);
}

#[tokio::test]
async fn registration_refuses_urls_other_than_their_text_port_0_and_repeated_types() {
    // Loopback allowed, so that each URL below fails for its form alone.
    let s = server_with(&[("TOLLGATE_WEBHOOK_ALLOW_LOOPBACK", "true")]).await;
    let admin = Some(s.admin_key.as_str());
    for url in [
        "http://127.0.0.1:9/h\r\nX-Injected: 1",
        "http://127.0.0.1:9/h\tx",
        " http://127.0.0.1:9/h",
        "http://127.0.0.1:9/h\u{85}",
        "http://127.0.0.1:0/h",
        "http://[::1]:0/h",
    ] {
        let r = s.call(Method::POST, "/v1/webhooks", admin, Some(&json!({"url": url}))).await;
        let details = r.assert_error(400, "VALIDATION_FAILED");
        assert!(details.get("url").is_some(), "{url:?}: {details}");
    }
    let repeated = json!({"url": "http://127.0.0.1:9/h", "event_types": ["resource.created", "resource.created"]});
    let r = s.call(Method::POST, "/v1/webhooks", admin, Some(&repeated)).await;
    let details = r.assert_error(400, "VALIDATION_FAILED");
    assert!(details["event_types"].as_str().unwrap().contains("more than once"), "{details}");
    assert_eq!(s.count_rows("webhook_endpoints"), 0);
    // The CLI registers through the same rules.
    let loopback = [("TOLLGATE_WEBHOOK_ALLOW_LOOPBACK", "true")];
    let out = s.cli(&["webhooks", "create", "--url", "http://127.0.0.1:0/h"], None, &loopback);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("port 0"), "{stderr}");
    assert_eq!(s.count_rows("webhook_endpoints"), 0);
}

#[tokio::test]
async fn endpoints_tests_and_deliveries() {
    let s =
        server_with(&[("TOLLGATE_WEBHOOK_ALLOW_LOOPBACK", "true"), ("TOLLGATE_WEBHOOK_RETRY_SCHEDULE", "1h")]).await;
    let admin = Some(s.admin_key.as_str());
    // Nothing listens on port 9: attempts fail and are scheduled again an hour later.
    let r = s
        .call(
            Method::POST,
            "/v1/webhooks",
            admin,
            Some(&json!({"url": "http://127.0.0.1:9/h", "event_types": ["resource.deleted"]})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert!(r.body["secret"].as_str().unwrap().starts_with("whsec_"));
    let id = r.body["webhook"]["id"].as_str().unwrap().to_owned();
    let listed = s.call(Method::GET, "/v1/webhooks", admin, None).await;
    assert_eq!(listed.body["items"][0]["event_types"], json!(["resource.deleted"]));
    assert!(!listed.text.contains("whsec_"), "the secret is shown once");

    // Only subscribed types make deliveries; a test event goes to this endpoint alone.
    let created = s.call(Method::POST, "/v1/resource", admin, Some(&crate::widget("x"))).await;
    s.call(Method::DELETE, &format!("/v1/resource/{}", created.body["id"].as_str().unwrap()), admin, None).await;
    let t = s.call(Method::POST, &format!("/v1/webhooks/{id}/test"), admin, None).await;
    assert_eq!(t.status, 202);
    assert_eq!(s.count_rows("events"), 3);
    // The event log holds the project's changes: the test event is its endpoint's alone.
    let log = s.call(Method::GET, "/v1/events", admin, None).await;
    let logged: Vec<&str> = log.body["items"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(logged, ["resource.deleted", "resource.created"], "{}", log.text);
    let test_id = t.body["event_id"].as_str().unwrap();
    s.call(Method::GET, &format!("/v1/events/{test_id}"), admin, None).await.assert_error(404, "NOT_FOUND");
    let mut deliveries = serde_json::Value::Null;
    for _ in 0..50 {
        deliveries = s.call(Method::GET, &format!("/v1/webhooks/{id}/deliveries"), admin, None).await.body;
        if deliveries["items"].as_array().unwrap().iter().all(|d| d["attempts"] == 1) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let items = deliveries["items"].as_array().unwrap();
    let types: Vec<&str> = items.iter().map(|d| d["event_type"].as_str().unwrap()).collect();
    assert_eq!(items.len(), 2, "{deliveries}");
    assert!(types.contains(&"resource.deleted") && types.contains(&"webhook.test"));
    for d in items {
        assert_eq!(d["status"], "pending");
        assert_eq!(d["attempts"], 1);
        assert!(d["attempt_history"][0]["error"].is_string());
        assert!(d["next_attempt_at"].is_string());
    }
    // A pending delivery cannot be replayed; unknown ids are 404.
    let pending = items[0]["id"].as_str().unwrap();
    s.call(Method::POST, &format!("/v1/webhooks/{id}/deliveries/{pending}/replay"), admin, None)
        .await
        .assert_error(409, "CONFLICT");
    // A delivery the endpoint does not have, or an id that is no delivery's, is not found.
    for unknown in ["dlv_01JD3Z00000000000000000000", "nope", "%ff"] {
        s.call(Method::POST, &format!("/v1/webhooks/{id}/deliveries/{unknown}/replay"), admin, None)
            .await
            .assert_error(404, "NOT_FOUND");
    }
    s.call(Method::GET, "/v1/webhooks/whk_nope/deliveries", admin, None).await.assert_error(404, "NOT_FOUND");

    // The CLI sees the same endpoint.
    let out = s.cli(&["webhooks", "list"], None, &[]);
    assert!(String::from_utf8_lossy(&out.stdout).contains(&id));
    assert!(s.cli(&["webhooks", "test", &id], None, &[]).status.success());
    let out = s.cli(&["webhooks", "deliveries", &id], None, &[]);
    let listed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(listed["items"].as_array().unwrap().len(), 3);

    assert_eq!(s.call(Method::DELETE, &format!("/v1/webhooks/{id}"), admin, None).await.status, 204);
    s.call(Method::GET, &format!("/v1/webhooks/{id}"), admin, None).await.assert_error(404, "NOT_FOUND");
    assert_eq!(s.count_rows("webhook_deliveries"), 0);
}

#[tokio::test]
async fn a_node_without_dispatch_leaves_deliveries_to_another() {
    let env = [("TOLLGATE_WEBHOOK_ALLOW_LOOPBACK", "true"), ("TOLLGATE_WEBHOOK_RETRY_SCHEDULE", "1h")];
    let mut api_only = server_with(&[env[0], env[1], ("TOLLGATE_WEBHOOK_DISPATCH", "false")]).await;
    let admin = api_only.admin_key.clone();
    let r =
        api_only.call(Method::POST, "/v1/webhooks", Some(&admin), Some(&json!({"url": "http://127.0.0.1:9/h"}))).await;
    let id = r.body["webhook"]["id"].as_str().unwrap().to_owned();
    api_only.call(Method::POST, "/v1/resource", Some(&admin), Some(&crate::widget("x"))).await;
    let deliveries = format!("/v1/webhooks/{id}/deliveries");
    // Several of the dispatcher's idle polls pass: the delivery is recorded and left alone.
    tokio::time::sleep(std::time::Duration::from_millis(1000)).await;
    let listed = api_only.call(Method::GET, &deliveries, Some(&admin), None).await.body;
    assert_eq!(listed["items"][0]["status"], "pending", "{listed}");
    assert_eq!(listed["items"][0]["attempts"], 0, "{listed}");

    // A node that dispatches, on the same store, makes the attempt.
    api_only.kill9();
    let mut b = TestServer::builder(crate::bin()).data_dir_of(&api_only);
    for (k, v) in env {
        b = b.env(k, v);
    }
    let dispatcher = b.start().await;
    let mut attempts = json!(0);
    for _ in 0..50 {
        attempts =
            dispatcher.call(Method::GET, &deliveries, Some(&admin), None).await.body["items"][0]["attempts"].clone();
        if attempts == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(attempts, 1);
}
