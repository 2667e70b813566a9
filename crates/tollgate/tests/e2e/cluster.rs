//! Several nodes behave as one service: two `tollgate serve` processes sharing one data store
//! (PostgreSQL with TOLLGATE_TEST_BACKEND=postgres, else one SQLite file) and one Redis.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::json;
use tollgate_testkit::TestServer;

use crate::oauth::{client_with, token};
use crate::{bin, key_with, widget};

const ENV: [(&str, &str); 2] =
    [("TOLLGATE_REDIS_URL", "redis://127.0.0.1:6379"), ("TOLLGATE_PUBLIC_URL", "http://tollgate.test")];

async fn two_nodes() -> (TestServer, TestServer) {
    let mut a = TestServer::builder(bin());
    for (k, v) in ENV {
        a = a.env(k, v);
    }
    let a = a.start().await;
    let mut b = TestServer::builder(bin()).data_dir_of(&a);
    for (k, v) in ENV {
        b = b.env(k, v);
    }
    let mut b = b.start().await;
    b.admin_key = a.admin_key.clone();
    (a, b)
}

#[tokio::test]
async fn two_nodes_act_as_one_service() {
    let (a, b) = two_nodes().await;
    // Written through one, read through the other at once.
    let created = a.call(Method::POST, "/v1/resource", Some(&a.admin_key), Some(&widget("shared"))).await;
    let path = format!("/v1/resource/{}", created.body["id"].as_str().unwrap());
    assert_eq!(b.call(Method::GET, &path, Some(&b.admin_key), None).await.body, created.body);
    let patched = b.call(Method::PATCH, &path, Some(&b.admin_key), Some(&json!({"name": "via b"}))).await;
    assert_eq!(a.call(Method::GET, &path, Some(&a.admin_key), None).await.body, patched.body);

    // A key revoked through one is refused by the other within a second.
    let key = key_with(&a, &["resource:read"]).await;
    assert_eq!(b.call(Method::GET, "/v1/resource", Some(&key), None).await.status, 200);
    let id = a.call(Method::GET, "/v1/keys", Some(&a.admin_key), None).await.body["items"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let revoked_at = Instant::now();
    assert_eq!(a.call(Method::DELETE, &format!("/v1/keys/{id}"), Some(&a.admin_key), None).await.status, 200);
    b.call(Method::GET, "/v1/resource", Some(&key), None).await.assert_error(401, "AUTHENTICATION_FAILED");
    assert!(revoked_at.elapsed() < Duration::from_secs(1));

    // Signing keys are shared: a token issued by one node works on the other, and the JWKS match.
    let (client, secret) = client_with(&a, &["resource:read"]).await;
    let t = token(&a, &client, &secret).await;
    let r = b.http.get(b.url("/v1/resource")).bearer_auth(&t).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let jwks = |s: &TestServer| {
        let (http, url) = (s.http.clone(), s.url("/.well-known/jwks.json"));
        async move { http.get(url).send().await.unwrap().json::<serde_json::Value>().await.unwrap() }
    };
    assert_eq!(jwks(&a).await, jwks(&b).await);
    // Revoking the client through B ends the token on A.
    assert_eq!(b.call(Method::DELETE, &format!("/v1/clients/{client}"), Some(&b.admin_key), None).await.status, 200);
    let r = a.http.get(a.url("/v1/resource")).bearer_auth(&t).send().await.unwrap();
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn events_written_through_one_node_reach_streams_on_another() {
    let (a, b) = two_nodes().await;
    let mut stream = crate::events::Sse::open(&b, &b.admin_key, None, "").await.unwrap();
    // PostgreSQL: LISTEN/NOTIFY; one SQLite file: the once-a-second look.
    let within =
        if tollgate_testkit::postgres_backend() { Duration::from_secs(1) } else { Duration::from_millis(1500) };
    for i in 0..3 {
        let written = Instant::now();
        let created = a.call(Method::POST, "/v1/resource", Some(&a.admin_key), Some(&widget(&format!("n{i}")))).await;
        let (_, kind, data) = stream.next(Duration::from_secs(5)).await.expect("the event reaches node b");
        assert!(written.elapsed() < within, "{:?}", written.elapsed());
        assert_eq!(kind, "resource.created");
        assert_eq!(data["data"]["id"], created.body["id"]);
    }
}
