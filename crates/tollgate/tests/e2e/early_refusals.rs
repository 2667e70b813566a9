//! Early refusals (401, 403, 429) leave a keep-alive connection usable for a client that
//! writes the body after the head, as Python's `http.client` and most clients do; a body too
//! large to be worth reading gets `Connection: close` instead of a silent reset.

use std::net::TcpStream;
use std::time::Duration;

use reqwest::Method;
use tollgate_testkit::TestServer;

use crate::wire::{connect, is_closed, read_response, send};
use crate::{key_with, server_with};

/// Sends a POST with the head and the body in separate writes, as most clients do.
fn post_in_two_writes(c: &mut TcpStream, key: &str, body: &[u8]) {
    let head = format!(
        "POST /v1/resource HTTP/1.1\r\nHost: x\r\nX-API-Key: {key}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    send(c, head.as_bytes());
    std::thread::sleep(Duration::from_millis(5));
    send(c, body);
}

#[tokio::test]
async fn early_refusals_keep_the_connection_usable() {
    let s = server_with(&[("TOLLGATE_RATE_LIMIT_WRITE", "1000/h")]).await;
    let reader = key_with(&s, &["resource:read"]).await;
    // A key with its write quota spent: every create is a 429.
    let limited = create_limited_key(&s).await;
    let small = br#"{"name":"a","type":"t"}"#.to_vec();
    let large = format!(r#"{{"name":"a","type":"t","data":"{}"}}"#, "x".repeat(200 * 1024)).into_bytes();
    for (key, status, code) in [
        ("tgk_not_a_key", 401, "AUTHENTICATION_FAILED"),
        (reader.as_str(), 403, "PERMISSION_DENIED"),
        (limited.as_str(), 429, "RATE_LIMIT_EXCEEDED"),
    ] {
        for conn in 0..20 {
            let mut c = connect(&s, Duration::from_secs(10));
            for request in 0..3 {
                let body = if request == 1 { &large } else { &small };
                post_in_two_writes(&mut c, key, body);
                let r = read_response(&mut c)
                    .unwrap_or_else(|| panic!("{status}: connection {conn} dropped at request {request}"));
                r.assert_envelope(status, code);
                assert_ne!(r.header("connection"), Some("close"), "{status}: the connection was not kept");
                if status == 429 {
                    assert!(r.header("retry-after").is_some(), "{r:?}");
                }
            }
        }
    }
    assert_eq!(s.count_rows("resources"), 1, "only the limited key's one create");
}

/// A key whose write limit (set on the key) is used up.
async fn create_limited_key(s: &TestServer) -> String {
    let body = serde_json::json!({"name": "limited", "scopes": ["resource:write"], "limits": {"write": "1/h"}});
    let r = s.call(Method::POST, "/v1/keys", Some(&s.admin_key), Some(&body)).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let key = r.body["secret"].as_str().unwrap().to_owned();
    let first = s.call(Method::POST, "/v1/resource", Some(&key), Some(&crate::widget("only"))).await;
    assert_eq!(first.status, 201, "{}", first.text);
    let refused = s.call(Method::POST, "/v1/resource", Some(&key), Some(&crate::widget("over"))).await;
    refused.assert_error(429, "RATE_LIMIT_EXCEEDED");
    key
}

#[tokio::test]
async fn a_body_too_large_to_drain_closes_the_connection_with_notice() {
    let s = server_with(&[]).await;
    let mut c = connect(&s, Duration::from_secs(10));
    // 2 MiB declared, refused by authentication before a byte of it is read: not worth
    // reading, so the answer says the connection closes.
    send(
        &mut c,
        b"POST /v1/resource HTTP/1.1\r\nHost: x\r\nX-API-Key: tgk_nope\r\nContent-Type: application/json\r\nContent-Length: 2097152\r\n\r\n",
    );
    let r = read_response(&mut c).expect("an answer");
    r.assert_envelope(401, "AUTHENTICATION_FAILED");
    assert_eq!(r.header("connection"), Some("close"));
    assert!(is_closed(&mut c, Duration::from_secs(5)));
}
