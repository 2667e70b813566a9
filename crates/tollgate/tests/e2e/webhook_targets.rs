//! Where webhooks go: every special-purpose address form the security review found is refused
//! at registration, and deliveries never go through a proxy named in the environment (it would
//! resolve the target and bypass the address policy); only an explicit `webhook_proxy`, whose
//! own address must pass the policy, is used.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::Method;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tollgate_testkit::{run_cli, TestServer};

use crate::{bin, server, server_with};

/// Addresses registration accepted before the table of special-purpose ranges.
const REVIEWED: [&str; 9] = [
    "http://[::127.0.0.1]/h",
    "http://[::7f00:1]/h",
    "http://[64:ff9b::a9fe:a9fe]/h",
    "http://[64:ff9b::7f00:1]/h",
    "http://[fec0::1]/h",
    "http://[2002:7f00:1::]/h",
    "http://198.18.0.1/h",
    "http://240.0.0.1/h",
    "http://192.0.0.8/h",
];

#[tokio::test]
async fn every_reviewed_address_form_is_refused_at_registration() {
    let s = server().await;
    let admin = Some(s.admin_key.as_str());
    for url in REVIEWED {
        let r = s.call(Method::POST, "/v1/webhooks", admin, Some(&json!({"url": url}))).await;
        let details = r.assert_error(400, "VALIDATION_FAILED");
        assert!(details["url"].as_str().is_some_and(|m| m.contains("RFC")), "{url}: {details}");
    }
    // Allowing loopback allows loopback, not the rest.
    let s = server_with(&[("TOLLGATE_WEBHOOK_ALLOW_LOOPBACK", "true")]).await;
    let admin = Some(s.admin_key.as_str());
    for url in &REVIEWED[2..] {
        let r = s.call(Method::POST, "/v1/webhooks", admin, Some(&json!({"url": url}))).await;
        r.assert_error(400, "VALIDATION_FAILED");
    }
    assert_eq!(s.count_rows("webhook_endpoints"), 0);
}

/// A listener that records the first line of every request and answers 200.
async fn recorder() -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let log = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            let log = log.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 64 * 1024];
                let mut got = Vec::new();
                // Enough of the request to see its first line; the body is not needed.
                while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                    match conn.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => got.extend_from_slice(&buf[..n]),
                    }
                }
                let text = String::from_utf8_lossy(&got);
                log.lock().unwrap().push(text.lines().next().unwrap_or("(connection without a request)").to_owned());
                let _ = conn.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n").await;
            });
        }
    });
    (addr, seen)
}

async fn register_and_test(s: &TestServer, url: &str) {
    let admin = Some(s.admin_key.as_str());
    let r = s.call(Method::POST, "/v1/webhooks", admin, Some(&json!({"url": url}))).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let id = r.body["webhook"]["id"].as_str().unwrap();
    assert_eq!(s.call(Method::POST, &format!("/v1/webhooks/{id}/test"), admin, None).await.status, 202);
}

async fn wait_for(seen: &Arc<Mutex<Vec<String>>>) -> Vec<String> {
    for _ in 0..100 {
        if !seen.lock().unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    seen.lock().unwrap().clone()
}

#[tokio::test]
async fn deliveries_ignore_proxies_in_the_environment() {
    let (receiver, received) = recorder().await;
    let (proxy, proxied) = recorder().await;
    let proxy_url = format!("http://{proxy}");
    let mut b = TestServer::builder(bin()).env("TOLLGATE_WEBHOOK_ALLOW_LOOPBACK", "true");
    for var in ["HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"] {
        b = b.env(var, &proxy_url);
    }
    // An exclusion list inherited from the test's environment would hide the bypass.
    let s = b.env("NO_PROXY", "").env("no_proxy", "").start().await;
    register_and_test(&s, &format!("http://{receiver}/h")).await;
    let requests = wait_for(&received).await;
    assert_eq!(requests, ["POST /h HTTP/1.1"], "the receiver gets the delivery directly");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(proxied.lock().unwrap().is_empty(), "went through the environment's proxy: {:?}", proxied.lock().unwrap());
}

#[tokio::test]
async fn an_explicit_webhook_proxy_is_used_and_must_pass_the_policy() {
    let (receiver, received) = recorder().await;
    let (proxy, proxied) = recorder().await;
    let s = server_with(&[
        ("TOLLGATE_WEBHOOK_ALLOW_LOOPBACK", "true"),
        ("TOLLGATE_WEBHOOK_PROXY", &format!("http://egress:proxy-pw@{proxy}")),
    ])
    .await;
    register_and_test(&s, &format!("http://{receiver}/h")).await;
    let requests = wait_for(&proxied).await;
    assert_eq!(requests, [format!("POST http://{receiver}/h HTTP/1.1")], "the proxy carries the delivery");
    assert!(received.lock().unwrap().is_empty());
    let logs = s.logs().join("\n");
    assert!(!logs.contains("proxy-pw") && logs.contains("egress:***@"), "{logs}");

    // A proxy at an address the policy refuses is a configuration error, named at start.
    let dir = tollgate_testkit::private_tempdir();
    for (proxy, allow) in [("http://127.0.0.1:3128", "false"), ("http://u:pw@10.0.0.1:3128", "true")] {
        let env = [("TOLLGATE_WEBHOOK_PROXY", proxy), ("TOLLGATE_WEBHOOK_ALLOW_LOOPBACK", allow)];
        let out = run_cli(bin().as_ref(), dir.path(), &["projects", "list"], None, &env);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{proxy}: {stderr}");
        assert!(stderr.contains("webhook_proxy") && !stderr.contains(":pw@"), "{stderr}");
    }
}
