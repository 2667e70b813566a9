//! End-to-end tests: each starts the real `tollgate` binary on a random port with a temporary
//! data directory and talks HTTP to it. No mocks.

mod auth;
mod auth_limits;
mod bad_input;
mod batches;
mod cli;
mod cluster;
mod config;
mod connections;
mod console;
mod crash;
mod docs;
mod early_refusals;
mod events;
mod idempotency;
mod keys;
mod limits_input;
mod metrics;
mod nul_input;
mod oauth;
mod openapi;
mod ops;
mod project_names;
mod projects;
mod protocol;
mod queries;
mod ratelimit;
mod resources;
mod secrets_in_logs;
mod signing_algorithm;
mod stored_secrets;
mod stream_load;
mod transfer;
mod transfer_rules;
mod types;
mod versioning;
mod webhook_targets;
mod webhooks;
mod wire;

use serde_json::{json, Value};
use tollgate_testkit::TestServer;

/// A fresh server.
pub async fn server() -> TestServer {
    TestServer::builder(env!("CARGO_BIN_EXE_tollgate")).start().await
}

/// A fresh server with extra environment.
pub async fn server_with(env: &[(&str, &str)]) -> TestServer {
    let mut b = TestServer::builder(env!("CARGO_BIN_EXE_tollgate"));
    for (k, v) in env {
        b = b.env(k, v);
    }
    b.start().await
}

/// Path to the binary, for CLI tests.
pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_tollgate")
}

/// A valid create body.
pub fn widget(name: &str) -> Value {
    json!({"name": name, "type": "widget", "attributes": {"colour": "red"}, "data": {"n": 1}})
}

/// Waits until `s` refuses `key` (`Authorization: Bearer`, an API key or a token) as
/// unauthenticated, which a change through another node or the CLI must bring about within a
/// second; panics past it.
pub async fn refused_within_a_second(s: &TestServer, key: &str) {
    let started = std::time::Instant::now();
    loop {
        let r = s.http.get(s.url("/v1/resource")).bearer_auth(key).send().await.unwrap();
        if r.status() == 401 {
            return;
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(1), "still {} after a second", r.status());
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

/// Creates a key over HTTP with `scopes` and returns its secret.
pub async fn key_with(s: &TestServer, scopes: &[&str]) -> String {
    let r = s
        .call(reqwest::Method::POST, "/v1/keys", Some(&s.admin_key), Some(&json!({"name": "t", "scopes": scopes})))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    r.body["secret"].as_str().unwrap().to_owned()
}
