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
    assert_eq!(b.call(Method::GET, "/v1/resource", Some(&key), None).await.status, 200);
    assert_eq!(a.call(Method::DELETE, &format!("/v1/keys/{id}"), Some(&a.admin_key), None).await.status, 200);
    crate::refused_within_a_second(&b, &key).await;
    b.call(Method::GET, "/v1/resource", Some(&key), None).await.assert_error(401, "AUTHENTICATION_FAILED");

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
    let r = a.http.get(a.url("/v1/resource")).bearer_auth(&t).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(b.call(Method::DELETE, &format!("/v1/clients/{client}"), Some(&b.admin_key), None).await.status, 200);
    crate::refused_within_a_second(&a, &t).await;
}

/// Each node keeps credentials in memory; a revocation through one node reaches the other
/// within a second however the other node's view of changes is interrupted: its notification
/// connection cut (PostgreSQL), or a change made by another process (the CLI).
#[tokio::test]
async fn revocations_reach_every_node_within_a_second_when_the_feed_drops() {
    let (a, b) = two_nodes().await;
    // A key's secret and id, revoked through A later.
    let new_key = || async {
        let body = json!({"name": "t", "scopes": ["resource:read"]});
        let r = a.call(Method::POST, "/v1/keys", Some(&a.admin_key), Some(&body)).await;
        assert_eq!(r.status, 201, "{}", r.text);
        (r.body["secret"].as_str().unwrap().to_owned(), r.body["key"]["id"].as_str().unwrap().to_owned())
    };
    let revoke_through_a = |id: String| {
        let a = &a;
        async move {
            assert_eq!(a.call(Method::DELETE, &format!("/v1/keys/{id}"), Some(&a.admin_key), None).await.status, 200);
        }
    };
    for round in 0..3 {
        let (key, id) = new_key().await;
        // B reads it once from the database, then from memory.
        for _ in 0..3 {
            assert_eq!(b.call(Method::GET, "/v1/resource", Some(&key), None).await.status, 200);
        }
        if let Some(url) = b.database_url() {
            // Cut every notification connection (both nodes'); they open again by themselves.
            let cut = tollgate_testkit::psql(
                url,
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
                 WHERE query LIKE 'LISTEN%' AND pid <> pg_backend_pid()",
            );
            assert_ne!(cut, ["0"], "round {round}: the nodes listen for changes");
        }
        revoke_through_a(id).await;
        crate::refused_within_a_second(&b, &key).await;
    }
    // The notification connections came back.
    if let Some(url) = b.database_url() {
        let listening = || {
            tollgate_testkit::psql(url, "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'LISTEN%'")[0]
                .parse::<u32>()
                .unwrap()
        };
        let started = Instant::now();
        while listening() < 2 {
            assert!(started.elapsed() < Duration::from_secs(10), "the nodes listen again");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    // A revocation by another process (the CLI), on either backend.
    let (key, id) = new_key().await;
    assert_eq!(b.call(Method::GET, "/v1/resource", Some(&key), None).await.status, 200);
    let o = a.cli(&["keys", "revoke", &id], None, &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    crate::refused_within_a_second(&b, &key).await;
    crate::refused_within_a_second(&a, &key).await;

    // B answered from memory between changes.
    let metrics = b.call(Method::GET, "/metrics", Some(&b.admin_key), None).await.text;
    let hits = metrics
        .lines()
        .find(|l| l.starts_with("tollgate_credential_cache_lookups_total{result=\"hit\"}"))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(0.0);
    assert!(hits >= 3.0, "{metrics}");
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

/// GETs by id on a busy node (on PostgreSQL folded into shared queries, `coalesce.rs`) see every
/// write acknowledged through the other node before they were sent, and on PostgreSQL the
/// metrics show the folding.
#[tokio::test]
async fn busy_reads_see_every_write_acknowledged_before_them() {
    let (a, b) = two_nodes().await;
    let seed = a.call(Method::POST, "/v1/resource", Some(&a.admin_key), Some(&widget("seed"))).await;
    let seed_path = format!("/v1/resource/{}", seed.body["id"].as_str().unwrap());
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let load: Vec<_> = (0..16)
        .map(|_| {
            let (http, url, key, stop) = (b.http.clone(), b.url(&seed_path), b.admin_key.clone(), stop.clone());
            tokio::spawn(async move {
                let mut n = 0_u64;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let r = http.get(&url).header("X-API-Key", &key).send().await.unwrap();
                    assert_eq!(r.status(), 200);
                    n += 1;
                }
                n
            })
        })
        .collect();
    for i in 0..25 {
        let created = a.call(Method::POST, "/v1/resource", Some(&a.admin_key), Some(&widget(&format!("w{i}")))).await;
        let path = format!("/v1/resource/{}", created.body["id"].as_str().unwrap());
        assert_eq!(b.call(Method::GET, &path, Some(&b.admin_key), None).await.body, created.body);
        let patched = a.call(Method::PATCH, &path, Some(&a.admin_key), Some(&json!({"name": "changed"}))).await;
        assert_eq!(b.call(Method::GET, &path, Some(&b.admin_key), None).await.body, patched.body);
        assert_eq!(a.call(Method::DELETE, &path, Some(&a.admin_key), None).await.status, 204);
        b.call(Method::GET, &path, Some(&b.admin_key), None).await.assert_error(404, "NOT_FOUND");
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut loaded = 0;
    for t in load {
        loaded += t.await.unwrap();
    }
    let m = crate::metrics::parse(&b.call(Method::GET, "/metrics", Some(&b.admin_key), None).await.text);
    let (reads, queries) = (m["tollgate_resource_reads_coalesced_total"], m["tollgate_resource_read_queries_total"]);
    if tollgate_testkit::postgres_backend() {
        assert_eq!(reads, (loaded + 75) as f64, "every GET by id went through coalescing");
        assert!(queries >= 1.0 && queries < reads, "reads shared queries: {reads} reads, {queries} queries");
    } else {
        assert_eq!((reads, queries), (0.0, 0.0), "SQLite reads inline");
    }
}
