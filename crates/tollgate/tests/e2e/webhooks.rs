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

/// A receiver on loopback: `/hang` reads the request and never answers, `/later` answers 503
/// with a `Retry-After` of 31,688 years, anything else 200. It notes when each delivery
/// arrived, by path.
async fn receiver() -> (u16, std::sync::Arc<std::sync::Mutex<Vec<(String, std::time::Instant)>>>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        loop {
            let (mut conn, _) = listener.accept().await.unwrap();
            let log = log.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                // The head, then the body its Content-Length names.
                let (head_end, length) = loop {
                    let n = conn.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
                        let length = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .and_then(|v| v.trim().parse::<usize>().ok())
                            .unwrap_or(0);
                        break (end + 4, length);
                    }
                };
                while buf.len() < head_end + length {
                    let n = conn.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                }
                let path = String::from_utf8_lossy(&buf).split(' ').nth(1).unwrap_or("").to_owned();
                log.lock().unwrap().push((path.clone(), std::time::Instant::now()));
                let answer: &[u8] = match path.as_str() {
                    "/hang" => {
                        tokio::time::sleep(std::time::Duration::from_secs(60)).await;
                        return;
                    }
                    "/later" => {
                        b"HTTP/1.1 503 Service Unavailable\r\nretry-after: 1000000000000\r\ncontent-length: 0\r\n\r\n"
                    }
                    _ => b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n",
                };
                let _ = conn.write_all(answer).await;
            });
        }
    });
    (port, seen)
}

/// A receiver that never answers holds one place among the attempts in flight for its timeout,
/// not every delivery behind it; and one whose `Retry-After` is absurdly long is waited for at
/// most a day, without stopping the deliveries of anyone else.
#[tokio::test]
async fn a_hanging_or_far_off_receiver_does_not_hold_up_other_deliveries() {
    let s =
        server_with(&[("TOLLGATE_WEBHOOK_ALLOW_LOOPBACK", "true"), ("TOLLGATE_WEBHOOK_RETRY_SCHEDULE", "1s,1s")]).await;
    let admin = Some(s.admin_key.as_str());
    let (port, seen) = receiver().await;
    let mut ids = std::collections::HashMap::new();
    for path in ["/hang", "/later", "/ok"] {
        let url = format!("http://127.0.0.1:{port}{path}");
        let r = s.call(Method::POST, "/v1/webhooks", admin, Some(&json!({"url": url}))).await;
        assert_eq!(r.status, 201, "{}", r.text);
        ids.insert(path, r.body["webhook"]["id"].as_str().unwrap().to_owned());
    }
    let arrivals =
        |path: &str| seen.lock().unwrap().iter().filter(|(p, _)| p == path).map(|(_, t)| *t).collect::<Vec<_>>();
    let wait_for = |path: &'static str, n: usize| {
        let arrivals = &arrivals;
        async move {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
            while arrivals(path).len() < n && std::time::Instant::now() < deadline {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            arrivals(path)
        }
    };
    assert_eq!(s.call(Method::POST, "/v1/resource", admin, Some(&crate::widget("a"))).await.status, 201);
    assert_eq!(wait_for("/hang", 1).await.len(), 1, "the first event reached the hanging receiver");
    assert_eq!(wait_for("/later", 1).await.len(), 1);
    // The hanging attempt has 10 s to run; the second event's delivery does not wait for it.
    let created = std::time::Instant::now();
    assert_eq!(s.call(Method::POST, "/v1/resource", admin, Some(&crate::widget("b"))).await.status, 201);
    let ok = wait_for("/ok", 2).await;
    assert_eq!(ok.len(), 2, "both events reached /ok");
    // Before the hanging attempt's 10-second timeout (the old dispatcher waited for it).
    let took = ok[1].duration_since(created);
    assert!(took < std::time::Duration::from_secs(8), "the second event waited {took:?} behind the hanging receiver");
    // The far-off receiver's next attempt: a day away at most, not 31,688 years (nor a panic).
    // Its first delivery's attempt is recorded once the receiver has answered; wait for that.
    let path = format!("/v1/webhooks/{}/deliveries", ids["/later"]);
    let mut first = serde_json::Value::Null;
    for _ in 0..100 {
        let items = s.call(Method::GET, &path, admin, None).await.body["items"].clone();
        first = items.as_array().unwrap().last().cloned().unwrap_or_default();
        if first["attempts"] == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(first["attempts"], 1, "{first}");
    let next = first["next_attempt_at"].as_str().unwrap().to_owned();
    let next = time::OffsetDateTime::parse(&next, &time::format_description::well_known::Rfc3339).unwrap();
    let from_now = next - time::OffsetDateTime::now_utc();
    assert!(from_now > time::Duration::hours(23) && from_now <= time::Duration::hours(24), "{next}");
}
