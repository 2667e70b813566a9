//! Idempotency-Key: replays, reuse with another body, in-flight retries, scoping, and 1,000
//! POSTs retried through a proxy that drops connections leaving exactly 1,000 resources.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tollgate_testkit::{Response, TestServer};

use crate::{key_with, server, widget};

async fn post(s: &TestServer, key: &str, idem: Option<&str>, body: &Value) -> Response {
    let mut req = s.http.post(s.url("/v1/resource")).header("x-api-key", key).json(body);
    if let Some(k) = idem {
        req = req.header("idempotency-key", k);
    }
    Response::read(req.send().await.unwrap()).await
}

#[tokio::test]
async fn replays_reuse_and_scoping() {
    let s = server().await;
    let k = s.admin_key.clone();
    let first = post(&s, &k, Some("order-1"), &widget("a")).await;
    assert_eq!(first.status, 201);
    let again = post(&s, &k, Some("\"order-1\""), &widget("a")).await;
    assert_eq!(again.status, 201);
    assert_eq!(again.text, first.text, "a replay returns the first body");
    assert_eq!(again.header("location"), first.header("location"));
    assert_eq!(again.header("etag"), first.header("etag"));
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert!(first.header("idempotent-replayed").is_none());
    assert_eq!(s.count_rows("resources"), 1);

    let reused = post(&s, &k, Some("order-1"), &widget("b")).await;
    reused.assert_error(422, "IDEMPOTENCY_KEY_REUSED");
    for bad in ["", "has space", "ü", &"x".repeat(256), "order-9, order-10"] {
        post(&s, &k, Some(bad), &widget("c")).await.assert_error(400, "VALIDATION_FAILED");
    }
    // Two keys on one request: refused, nothing written, neither key recorded.
    let twice = s
        .http
        .post(s.url("/v1/resource"))
        .header("x-api-key", &k)
        .header("idempotency-key", "order-7")
        .header("idempotency-key", "order-8")
        .json(&widget("c"))
        .send()
        .await
        .unwrap();
    let details = Response::read(twice).await.assert_error(400, "VALIDATION_FAILED").clone();
    assert_eq!(details["Idempotency-Key"], "is given more than once");
    assert_eq!(s.count_rows("resources"), 1);
    // Keys are scoped to the credential: another key may use the same value.
    let other = key_with(&s, &["resource:write"]).await;
    let theirs = post(&s, &other, Some("order-1"), &widget("a")).await;
    assert_eq!(theirs.status, 201);
    assert_ne!(theirs.body["id"], first.body["id"]);
    // Failed requests are not recorded: the key stays usable once the body is fixed.
    post(&s, &k, Some("order-2"), &json!({"name": ""})).await.assert_error(400, "VALIDATION_FAILED");
    // (a different body under the same key is a different request, so fix it under a new key)
    assert_eq!(post(&s, &k, Some("order-3"), &widget("ok")).await.status, 201);
    assert_eq!(s.count_rows("resources"), 3);

    // PATCH: the change is applied once.
    let path = format!("/v1/resource/{}", first.body["id"].as_str().unwrap());
    for _ in 0..3 {
        let r = s
            .http
            .patch(s.url(&path))
            .header("x-api-key", &k)
            .header("idempotency-key", "rename-1")
            .json(&json!({"name": "renamed"}))
            .send()
            .await
            .unwrap();
        let r = Response::read(r).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.body["version"], 2);
    }
}

#[tokio::test]
async fn a_retry_while_the_first_is_in_flight_gets_409() {
    let s = server().await;
    let addr = s.base_url.trim_start_matches("http://").to_owned();
    let body = widget("slow").to_string();
    let mut slow = TcpStream::connect(&addr).unwrap();
    let head = format!(
        "POST /v1/resource HTTP/1.1\r\nHost: x\r\nX-API-Key: {}\r\nIdempotency-Key: slow-1\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        s.admin_key,
        body.len()
    );
    slow.write_all(head.as_bytes()).unwrap();
    slow.write_all(&body.as_bytes()[..5]).unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    post(&s, &s.admin_key, Some("slow-1"), &widget("slow")).await.assert_error(409, "IDEMPOTENCY_KEY_IN_USE");
    slow.write_all(&body.as_bytes()[5..]).unwrap();
    slow.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut buf = [0u8; 2048];
    let n = slow.read(&mut buf).unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 201"));
    let replay = post(&s, &s.admin_key, Some("slow-1"), &widget("slow")).await;
    assert_eq!(replay.status, 201);
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));
    assert_eq!(s.count_rows("resources"), 1);
}

/// A TCP proxy that forwards every request but drops some connections before the answer
/// reaches the client, after the server has processed the request.
async fn dropping_proxy(target: String) -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let dropped = Arc::new(AtomicUsize::new(0));
    let counter = Arc::new(AtomicUsize::new(0));
    let d = dropped.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut client, _)) = listener.accept().await else { return };
            let (target, d, n) = (target.clone(), d.clone(), counter.fetch_add(1, Ordering::Relaxed));
            tokio::spawn(async move {
                let Ok(mut upstream) = tokio::net::TcpStream::connect(&target).await else { return };
                let mut buf = vec![0u8; 64 * 1024];
                // One request per connection (the client is set to not reuse connections).
                let Ok(len) = client.read(&mut buf).await else { return };
                if upstream.write_all(&buf[..len]).await.is_err() {
                    return;
                }
                let Ok(rlen) = upstream.read(&mut buf).await else { return };
                if n % 3 == 1 {
                    // The server did the work; the client never hears of it.
                    d.fetch_add(1, Ordering::Relaxed);
                    return;
                }
                let _ = client.write_all(&buf[..rlen]).await;
            });
        }
    });
    (addr, dropped)
}

#[tokio::test]
async fn a_thousand_retried_posts_through_a_dropping_proxy_leave_a_thousand() {
    let s = server().await;
    let (proxy, dropped) = dropping_proxy(s.base_url.trim_start_matches("http://").to_owned()).await;
    let http = reqwest::Client::builder().pool_max_idle_per_host(0).timeout(Duration::from_secs(10)).build().unwrap();
    let mut tasks = Vec::new();
    for worker in 0..4 {
        let (http, url, key) = (http.clone(), format!("http://{proxy}/v1/resource"), s.admin_key.clone());
        tasks.push(tokio::spawn(async move {
            let mut retries = 0;
            for i in 0..250 {
                let idem = format!("w{worker}-{i}");
                let body = json!({"name": format!("r{worker}-{i}"), "type": "widget"});
                loop {
                    let sent = http
                        .post(&url)
                        .header("x-api-key", &key)
                        .header("idempotency-key", &idem)
                        .json(&body)
                        .send()
                        .await;
                    match sent {
                        Ok(r) if r.status() == 201 => break,
                        Ok(r) if r.status() == 409 => tokio::time::sleep(Duration::from_millis(20)).await,
                        Ok(r) => panic!("unexpected {}", r.status()),
                        Err(_) => retries += 1,
                    }
                }
            }
            retries
        }));
    }
    let mut retries = 0;
    for t in tasks {
        retries += t.await.unwrap();
    }
    assert!(dropped.load(Ordering::Relaxed) > 200, "the proxy dropped too little to prove anything");
    assert!(retries > 200);
    assert_eq!(s.count_rows("resources"), 1000);
}
