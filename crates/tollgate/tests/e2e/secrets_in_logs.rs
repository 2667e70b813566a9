//! Credentials never reach the logs: a run with passwords in every URL that can carry one
//! (database, Redis, NATS, webhook, webhook proxy), failing starts included, writes none of
//! them on stdout or stderr, and shows each URL masked (`user:***@`) where it names one.

use std::time::Duration;

use reqwest::Method;
use serde_json::json;
use tollgate_testkit::{postgres_backend, run_cli, TestDatabase, TestServer};

use crate::bin;

/// Every password the test puts in a URL.
const PASSWORDS: [&str; 8] = [
    "redis-pw-unreachable",
    "pg-pw-unreachable",
    "scheme-pw",
    "nats-pw-running",
    "pg-pw-running",
    "hook-pw-userinfo",
    "hook-token-query",
    "nats-token-only",
];

fn assert_clean(what: &str, output: &str) {
    for pw in PASSWORDS {
        assert!(!output.contains(pw), "{what}: `{pw}` was written:\n{output}");
    }
}

/// `tollgate serve` with `env`, expected to fail; its whole output.
fn failed_start(dir: &std::path::Path, env: &[(&str, &str)]) -> String {
    let args = ["serve", "--listen", "127.0.0.1:0", "--log-format", "json"];
    let out = run_cli(bin().as_ref(), dir, &args, None, env);
    assert!(!out.status.success(), "{env:?} started");
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

#[tokio::test]
async fn failing_starts_show_urls_masked() {
    let dir = tollgate_testkit::private_tempdir();
    let out = failed_start(dir.path(), &[("TOLLGATE_REDIS_URL", "redis://tg:redis-pw-unreachable@127.0.0.1:1")]);
    assert_clean("unreachable Redis", &out);
    assert!(out.contains("Redis"), "{out}");
    let out = failed_start(dir.path(), &[("TOLLGATE_DATABASE_URL", "postgres://tg:pg-pw-unreachable@127.0.0.1:1/x")]);
    assert_clean("unreachable PostgreSQL", &out);
    assert!(out.contains("PostgreSQL"), "{out}");
    for (name, url) in [
        ("TOLLGATE_REDIS_URL", "http://tg:scheme-pw@cache:6379"),
        ("TOLLGATE_NATS_URL", "http://tg:scheme-pw@queue:4222"),
        ("TOLLGATE_DATABASE_URL", "mysql://tg:scheme-pw@db/x"),
        ("TOLLGATE_WEBHOOK_PROXY", "socks5://tg:scheme-pw@proxy:1080"),
    ] {
        let out = failed_start(dir.path(), &[(name, url)]);
        assert_clean(name, &out);
        assert!(out.contains("tg:***@"), "{name}: the masked URL says which one: {out}");
    }
}

#[tokio::test]
async fn a_run_with_passwords_in_every_url_logs_none_of_them() {
    // NATS is unreachable (port 1), so the publisher logs its connection errors with the URL.
    let mut b = TestServer::builder(bin())
        .env("TOLLGATE_LOG_LEVEL", "debug")
        .env("TOLLGATE_NATS_URL", "nats://tg:nats-pw-running@127.0.0.1:1")
        .env("TOLLGATE_WEBHOOK_ALLOW_LOOPBACK", "true")
        .env("TOLLGATE_WEBHOOK_RETRY_SCHEDULE", "1h");
    let db = postgres_backend().then(TestDatabase::create);
    if let Some(db) = &db {
        b = b.env(
            "TOLLGATE_DATABASE_URL",
            &db.url.replacen("postgres://postgres@", "postgres://postgres:pg-pw-running@", 1),
        );
    }
    let s = b.start().await;
    let admin = Some(s.admin_key.as_str());
    // Webhook URLs: user information is refused, a token in the query is stored but never shown.
    let r = s
        .call(Method::POST, "/v1/webhooks", admin, Some(&json!({"url": "https://hook:hook-pw-userinfo@example.com/h"})))
        .await;
    r.assert_error(400, "VALIDATION_FAILED");
    assert_clean("the refusal", &r.text);
    let r = s
        .call(Method::POST, "/v1/webhooks", admin, Some(&json!({"url": "http://127.0.0.1:1/h?token=hook-token-query"})))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let id = r.body["webhook"]["id"].as_str().unwrap().to_owned();
    // An event for NATS and a delivery that fails (nothing listens on port 1).
    assert_eq!(s.call(Method::POST, "/v1/resource", admin, Some(&crate::widget("x"))).await.status, 201);
    let mut nats_logged = false;
    let mut attempted = false;
    for _ in 0..100 {
        nats_logged = s.logs().iter().any(|l| l.contains("nats://tg:***@127.0.0.1:1"));
        let d = s.call(Method::GET, &format!("/v1/webhooks/{id}/deliveries"), admin, None).await;
        attempted = d.body["items"][0]["attempts"] == 1;
        if nats_logged && attempted {
            assert_clean("the delivery history", &d.text);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(nats_logged && attempted, "the run never reached the NATS error and a failed delivery");
    let logs = s.logs().join("\n");
    assert_clean("the server's logs", &logs);
    if postgres_backend() {
        assert!(logs.contains("postgres:***@"), "the database URL is shown masked");
    }

    // A NATS token (no password) is masked too.
    drop(s);
    let s = crate::server_with(&[("TOLLGATE_NATS_URL", "nats://nats-token-only@127.0.0.1:1")]).await;
    assert_eq!(s.call(Method::POST, "/v1/resource", Some(&s.admin_key), Some(&crate::widget("y"))).await.status, 201);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_clean("the token run", &s.logs().join("\n"));
}
