//! Rate limits: exact under concurrency (in memory, with Redis, and across two nodes sharing
//! Redis and one data store), the standard headers at each step, Retry-After honoured, quota
//! usage, and a node that keeps serving when Redis goes away.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use reqwest::Method;
use serde_json::Value;
use tollgate_testkit::{Response, TestServer};

use crate::{bin, widget};

const REDIS: &str = "redis://127.0.0.1:6379";

fn key(s: &TestServer, limit: &str) -> String {
    let out = s.cli(
        &["keys", "create", "--name", "limited", "--scopes", "resource:read,resource:write", "--limit", limit],
        None,
        &[],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

fn header<'a>(r: &'a Response, name: &str) -> &'a str {
    r.header(name).unwrap_or_else(|| panic!("missing {name}: {:?}", r.headers))
}

/// 4 concurrent clients send `per_client` creates each, spread over `nodes`; returns the
/// statuses.
async fn hammer(nodes: &[&TestServer], key: &str, per_client: usize) -> Vec<u16> {
    let mut tasks = Vec::new();
    for c in 0..4 {
        let urls: Vec<String> = nodes.iter().map(|n| n.url("/v1/resource")).collect();
        let (http, key) = (nodes[0].http.clone(), key.to_owned());
        tasks.push(tokio::spawn(async move {
            let mut statuses = Vec::new();
            for i in 0..per_client {
                let url = &urls[(c + i) % urls.len()];
                let r = http.post(url).header("x-api-key", &key).json(&widget("x")).send().await.unwrap();
                statuses.push(r.status().as_u16());
            }
            statuses
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all
}

fn count(statuses: &[u16], code: u16) -> usize {
    statuses.iter().filter(|s| **s == code).count()
}

async fn exactly_the_limit_is_admitted(s: &TestServer) {
    let k = key(s, "write=100/1m");
    let before = s.count_rows("resources");
    let statuses = hammer(&[s], &k, 60).await;
    assert_eq!(count(&statuses, 201), 100, "{statuses:?}");
    assert_eq!(count(&statuses, 429), 140);
    assert_eq!(s.count_rows("resources"), before + 100, "a refused request wrote something");

    let refused = s.call(Method::POST, "/v1/resource", Some(&k), Some(&widget("x"))).await;
    let details = refused.assert_error(429, "RATE_LIMIT_EXCEEDED");
    assert_eq!(refused.body["error"]["message"], "Rate limit exceeded");
    assert_eq!(details["limit"], 100);
    assert_eq!(details["window"], 60);
    let retry: u64 = header(&refused, "retry-after").parse().unwrap();
    assert_eq!(details["retry_after"], retry);
    assert!((1..=60).contains(&retry));
    assert_eq!(header(&refused, "ratelimit-policy"), "\"write\";q=100;w=60");
    let t: u64 = header(&refused, "ratelimit").rsplit("t=").next().unwrap().parse().unwrap();
    assert!(header(&refused, "ratelimit").starts_with("\"write\";r=0;"));
    assert!(retry >= t, "Retry-After {retry} earlier than t={t}");
    assert_eq!(header(&refused, "x-ratelimit-remaining"), "0");
    // Reads have their own budget.
    assert_eq!(s.call(Method::GET, "/v1/resource", Some(&k), None).await.status, 200);
}

#[tokio::test]
async fn exact_in_memory() {
    exactly_the_limit_is_admitted(&crate::server().await).await;
}

#[tokio::test]
async fn exact_with_redis() {
    exactly_the_limit_is_admitted(&crate::server_with(&[("TOLLGATE_REDIS_URL", REDIS)]).await).await;
}

#[tokio::test]
async fn two_nodes_share_one_limit() {
    let a = TestServer::builder(bin()).env("TOLLGATE_REDIS_URL", REDIS).start().await;
    let b = TestServer::builder(bin()).env("TOLLGATE_REDIS_URL", REDIS).data_dir_of(&a).start().await;
    let k = key(&a, "write=100/1m");
    let statuses = hammer(&[&a, &b], &k, 60).await;
    assert_eq!(count(&statuses, 201), 100, "{statuses:?}");
    assert_eq!(count(&statuses, 429), 140);
    assert_eq!(a.count_rows("resources"), 100);
}

#[tokio::test]
async fn headers_count_down_and_retry_after_is_honoured() {
    let s = crate::server().await;
    let k = key(&s, "write=3/2s,read=unlimited");
    for expected in [2, 1, 0] {
        let r = s.call(Method::POST, "/v1/resource", Some(&k), Some(&widget("x"))).await;
        assert_eq!(r.status, 201);
        assert_eq!(header(&r, "ratelimit"), format!("\"write\";r={expected};t=2"));
        assert_eq!(header(&r, "x-ratelimit-limit"), "3");
        assert_eq!(header(&r, "x-ratelimit-remaining"), expected.to_string());
        let reset: u64 = header(&r, "x-ratelimit-reset").parse().unwrap();
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
        assert!(reset >= now && reset <= now + 3, "reset {reset} now {now}");
    }
    let refused = s.call(Method::POST, "/v1/resource", Some(&k), Some(&widget("x"))).await;
    assert_eq!(refused.status, 429);
    let retry: u64 = header(&refused, "retry-after").parse().unwrap();
    tokio::time::sleep(Duration::from_secs(retry)).await;
    assert_eq!(s.call(Method::POST, "/v1/resource", Some(&k), Some(&widget("x"))).await.status, 201);
    // Unlimited: no rate-limit headers at all.
    let r = s.call(Method::GET, "/v1/resource", Some(&k), None).await;
    assert!(r.header("ratelimit").is_none());
}

#[tokio::test]
async fn usage_is_reported() {
    let s = crate::server_with(&[("TOLLGATE_RATE_LIMIT_WRITE", "10/h")]).await;
    let k = key(&s, "write=10/h");
    for _ in 0..9 {
        assert_eq!(s.call(Method::POST, "/v1/resource", Some(&k), Some(&widget("x"))).await.status, 201);
    }
    let u = s.call(Method::GET, "/v1/usage", Some(&k), None).await;
    assert_eq!(u.status, 200, "{}", u.text);
    assert_eq!(u.body["write"]["limit"], 10);
    assert_eq!(u.body["write"]["used"], 9);
    assert_eq!(u.body["write"]["remaining"], 1);
    assert!(u.body["write"]["reset"].is_string());
    // 90% is above the 80% warning threshold but not above the 90% alert threshold.
    let all = s.call(Method::GET, "/v1/usage/credentials", Some(&s.admin_key), None).await;
    let first = &all.body["items"][0];
    assert_eq!(first["level"], "warning", "{}", all.text);
    assert_eq!(first["write"]["used"], 9);
    assert_eq!(all.body["items"][1]["level"], "ok", "sorted by use");
    assert_eq!(s.call(Method::POST, "/v1/resource", Some(&k), Some(&widget("x"))).await.status, 201);
    // The CLI shows the same, asking the server.
    let out = s.cli(&["usage", "--url", &s.base_url], None, &[("TOLLGATE_API_KEY", &s.admin_key)]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("10/10 (100%)") && text.contains("ALERT"), "{text}");
    // Updating the key's limit with the CLI takes effect within a second.
    assert!(s
        .cli(&["keys", "update", &key_id(&s, "limited"), "--limit", "write=unlimited"], None, &[])
        .status
        .success());
    let started = std::time::Instant::now();
    while s.call(Method::POST, "/v1/resource", Some(&k), Some(&widget("x"))).await.status == 429 {
        assert!(started.elapsed() < std::time::Duration::from_secs(1), "the new limit is not in force");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    for _ in 0..3 {
        assert_eq!(s.call(Method::POST, "/v1/resource", Some(&k), Some(&widget("x"))).await.status, 201);
    }
}

fn key_id(s: &TestServer, name: &str) -> String {
    let out = s.cli(&["keys", "list", "--output", "json"], None, &[]);
    let keys: Value = serde_json::from_slice(&out.stdout).unwrap();
    keys.as_array().unwrap().iter().find(|k| k["name"] == name).unwrap()["id"].as_str().unwrap().to_owned()
}

/// A private Redis on a free port, so that stopping it disturbs no other test.
fn private_redis() -> (Child, u16) {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
        .stdout(Stdio::null())
        .spawn()
        .expect("redis-server is installed (the test script installs it)");
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    (child, port)
}

#[tokio::test]
async fn redis_outage_fails_open_or_closed_never_5xx() {
    for fail_open in [true, false] {
        let (mut redis, port) = private_redis();
        let url = format!("redis://127.0.0.1:{port}");
        let s = crate::server_with(&[
            ("TOLLGATE_REDIS_URL", &url),
            ("TOLLGATE_RATE_LIMIT_FAIL_OPEN", if fail_open { "true" } else { "false" }),
        ])
        .await;
        let k = key(&s, "read=100/1m");
        let r = s.call(Method::GET, "/v1/resource", Some(&k), None).await;
        assert_eq!(r.status, 200);
        assert!(r.header("ratelimit").is_some());
        redis.kill().unwrap();
        redis.wait().unwrap();
        for _ in 0..3 {
            let r = s.call(Method::GET, "/v1/resource", Some(&k), None).await;
            if fail_open {
                assert_eq!(r.status, 200, "{}", r.text);
            } else {
                r.assert_error(429, "RATE_LIMIT_EXCEEDED");
            }
        }
        assert!(s.logs().iter().any(|l| l.contains("rate limiter unavailable")));
    }
}
