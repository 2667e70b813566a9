//! The admin console and the two endpoints behind its charts: the page and its files are served
//! with a strict CSP and no-sniff; the per-minute history counts known traffic and reports the
//! dependencies' health; a credential's hourly counts are flushed in batches, add up across
//! nodes sharing a database, stay inside their project, and survive a restart.

use std::time::Duration;

use reqwest::Method;
use serde_json::Value;

use crate::{key_with, server, server_with, widget};

#[tokio::test]
async fn the_console_is_served_with_a_strict_policy() {
    let s = server().await;
    for (path, kind) in
        [("/console", "text/html"), ("/console/app.js", "text/javascript"), ("/console/console.css", "text/css")]
    {
        let r = s.call(Method::GET, path, None, None).await;
        assert_eq!(r.status, 200, "{path}");
        assert!(r.header("content-type").unwrap().starts_with(kind), "{path}");
        let csp = r.header("content-security-policy").unwrap();
        assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"), "{csp}");
        assert!(!csp.contains("unsafe-inline"), "{csp}");
        assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
        assert_eq!(r.header("referrer-policy"), Some("no-referrer"));
    }
    let page = s.call(Method::GET, "/console", None, None).await.text;
    assert!(page.contains(r#"<script type="module" src="/console/app.js">"#));
    s.call(Method::GET, "/console/nothing.js", None, None).await.assert_error(404, "NOT_FOUND");
}

fn total(history: &Value, field: &str) -> u64 {
    history["steps"].as_array().unwrap().iter().map(|s| s[field].as_u64().unwrap()).sum()
}

#[tokio::test]
async fn metrics_history_counts_known_traffic_and_reports_health() {
    let s = server().await;
    let admin = Some(s.admin_key.as_str());
    for i in 0..3 {
        assert_eq!(s.call(Method::POST, "/v1/resource", admin, Some(&widget(&format!("w{i}")))).await.status, 201);
    }
    s.call(Method::GET, "/v1/resource/res_01ARZ3NDEKTSV4RRFFQ69G5FAV", admin, None)
        .await
        .assert_error(404, "NOT_FOUND");
    let r = s.call(Method::GET, "/v1/metrics/history?minutes=60", admin, None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let h = &r.body;
    assert_eq!(h["scope"], "node");
    assert_eq!(h["step_seconds"], 60);
    let steps = h["steps"].as_array().unwrap();
    assert!((60..=61).contains(&steps.len()), "{}", steps.len());
    // The 3 creates and the 404 at least (the history request itself is counted after it answers).
    assert!(total(h, "requests") >= 4, "{h}");
    assert_eq!(total(h, "errors"), 0);
    let last = steps.iter().rev().find(|s| s["requests"].as_u64().unwrap() > 0).unwrap();
    assert!(last["p95_ms"].as_f64().unwrap() > 0.0);
    assert_eq!(h["health"], serde_json::json!({"database": "ok", "redis": "not_configured", "nats": "not_configured"}));
    // A day in 15-minute steps.
    let day = s.call(Method::GET, "/v1/metrics/history?minutes=1440&step=15", admin, None).await;
    assert_eq!(day.body["step_seconds"], 900);
    assert!((96..=97).contains(&day.body["steps"].as_array().unwrap().len()));
    // Bad parameters are named; other scopes are refused.
    let bad = s.call(Method::GET, "/v1/metrics/history?minutes=0&colour=red", admin, None).await;
    let details = bad.assert_error(400, "VALIDATION_FAILED");
    assert!(details.get("minutes").is_some() && details.get("colour").is_some(), "{details}");
    let reader = key_with(&s, &["resource:read"]).await;
    s.call(Method::GET, "/v1/metrics/history", Some(&reader), None).await.assert_error(403, "PERMISSION_DENIED");
}

/// The hourly counts of `id`, summed, as the admin sees them.
async fn hourly_total(s: &tollgate_testkit::TestServer, admin: &str, id: &str) -> u64 {
    let r = s.call(Method::GET, &format!("/v1/usage/credentials/{id}/hourly"), Some(admin), None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let hours = r.body["hours"].as_array().unwrap();
    assert_eq!(hours.len(), 7 * 24);
    hours.iter().map(|h| h["requests"].as_u64().unwrap()).sum()
}

#[tokio::test]
async fn hourly_counts_are_flushed_in_batches_and_stay_in_their_project() {
    let mut s = server_with(&[("TOLLGATE_USAGE_FLUSH_INTERVAL", "1s")]).await;
    let admin = s.admin_key.clone();
    let r = s
        .call(
            Method::POST,
            "/v1/keys",
            Some(&admin),
            Some(&serde_json::json!({"name": "c", "scopes": ["resource:read"]})),
        )
        .await;
    let (id, secret) =
        (r.body["key"]["id"].as_str().unwrap().to_owned(), r.body["secret"].as_str().unwrap().to_owned());
    for _ in 0..5 {
        assert_eq!(s.call(Method::GET, "/v1/resource", Some(&secret), None).await.status, 200);
    }
    // Counted at once (this node's counts not yet written are included)...
    assert_eq!(hourly_total(&s, &admin, &id).await, 5);
    // ...and written within the flush interval, in one row for the hour.
    let mut rows = Vec::new();
    for _ in 0..50 {
        rows = s.query(&format!("SELECT requests FROM credential_usage_hours WHERE credential_id = '{id}'"));
        if rows == ["5"] {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(rows, ["5"]);
    // A restart keeps them; the last flush on shutdown writes what was counted after.
    assert_eq!(s.call(Method::GET, "/v1/usage", Some(&secret), None).await.status, 200);
    assert_eq!(s.signal_and_wait("TERM", Duration::from_secs(20)), Some(0));
    s.restart().await;
    assert_eq!(hourly_total(&s, &admin, &id).await, 6);
    // Another project's admin does not see the credential at all.
    let out = s.cli(&["projects", "create", "other"], None, &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = s.cli(&["keys", "create", "--project", "other", "--name", "a", "--scopes", "admin"], None, &[]);
    let other_admin = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    s.call(Method::GET, &format!("/v1/usage/credentials/{id}/hourly"), Some(&other_admin), None)
        .await
        .assert_error(404, "NOT_FOUND");
    let bad = s.call(Method::GET, &format!("/v1/usage/credentials/{id}/hourly?days=31"), Some(&admin), None).await;
    assert!(bad.assert_error(400, "VALIDATION_FAILED").get("days").is_some());
    s.call(Method::GET, &format!("/v1/usage/credentials/{id}/hourly"), Some(&secret), None)
        .await
        .assert_error(403, "PERMISSION_DENIED");
}
