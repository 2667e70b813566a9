//! Shared set-up: a real `tollgate serve`, and clients and credentials made against it.
#![allow(dead_code)]

use serde_json::{json, Value};
use tollgate_client::Client;
use tollgate_testkit::{tollgate_bin, TestServer};

/// A fresh server.
pub async fn server() -> TestServer {
    TestServer::builder(tollgate_bin()).start().await
}

/// A fresh server with extra environment.
pub async fn server_with(env: &[(&str, &str)]) -> TestServer {
    let mut b = TestServer::builder(tollgate_bin());
    for (k, v) in env {
        b = b.env(k, v);
    }
    b.start().await
}

/// A client with the server's admin key.
pub fn admin(s: &TestServer) -> Client {
    Client::builder().endpoint(&s.base_url).api_key(&s.admin_key).build().unwrap()
}

/// A new API key with `scopes` (and `limits`, e.g. `write=2/1m`), through the admin HTTP API.
pub async fn key(s: &TestServer, scopes: &[&str], limits: Option<&str>) -> String {
    let mut body = json!({"name": "sdk-test", "scopes": scopes});
    if let Some(l) = limits {
        body["limits"] = parse_limits(l);
    }
    let r = s.call(reqwest::Method::POST, "/v1/keys", Some(&s.admin_key), Some(&body)).await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.body["secret"].as_str().expect("secret").to_owned()
}

/// A new OAuth client: (client_id, client_secret).
pub async fn oauth_client(s: &TestServer, scopes: &[&str]) -> (String, String) {
    let body = json!({"name": "sdk-test", "scopes": scopes});
    let r = s.call(reqwest::Method::POST, "/v1/clients", Some(&s.admin_key), Some(&body)).await;
    assert_eq!(r.status, 201, "{}", r.body);
    (r.body["client_id"].as_str().unwrap().to_owned(), r.body["client_secret"].as_str().unwrap().to_owned())
}

fn parse_limits(spec: &str) -> Value {
    let mut limits = serde_json::Map::new();
    for part in spec.split(',') {
        let (class, limit) = part.split_once('=').unwrap();
        limits.insert(class.to_owned(), Value::String(limit.to_owned()));
    }
    Value::Object(limits)
}

/// Held by the tests of one binary that must not run beside a log capture ([`serial`]).
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Waits until no other test of this binary that took it runs. A capture's subscriber is this
/// thread's only, and `tracing` caches per call site whether any subscriber wants its events: a
/// test on another thread that reaches a call site first, while the capture's subscriber is being
/// set, can leave it cached as wanted by none, and the capture then misses its lines (seen once in
/// `visible_behaviour`, whose tests make the same calls).
pub async fn serial() -> tokio::sync::MutexGuard<'static, ()> {
    SERIAL.lock().await
}

/// Collects what the client logs through `tracing` (at debug and above) while `f` runs on this
/// thread: the tests run on a current-thread runtime, so the client's futures stay here. Runs
/// alone among the tests that take [`serial`].
pub async fn capture_logs<F: std::future::Future>(f: F) -> (F::Output, String) {
    let _alone = serial().await;
    use std::sync::{Arc, Mutex};
    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Sink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let sink = Sink::default();
    let writer = sink.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let guard = tracing::subscriber::set_default(subscriber);
    let out = f.await;
    drop(guard);
    let text = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
    (out, text)
}
