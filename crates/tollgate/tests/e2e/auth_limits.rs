//! Limits at the authentication boundary: the OAuth endpoints count against the client's own
//! write limit, and refused credentials (API keys, bearer tokens, OAuth client secrets) count
//! per source address, which is then refused with 429 before any lookup, behind a trusted
//! load balancer by the address it reports.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use reqwest::Method;
use serde_json::json;
use tollgate_auth::{SecretKind, SecretToken};
use tollgate_testkit::{Response, TestServer};

use crate::bin;

/// A server with `env`, its metrics on a separate port (the main port may refuse the test's
/// own address); returns the server and the metrics URL.
async fn server_with_metrics(env: &[(&str, &str)]) -> (TestServer, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let addr = format!("127.0.0.1:{port}");
    let mut b = TestServer::builder(bin()).env("TOLLGATE_METRICS_LISTEN", &addr);
    for (k, v) in env {
        b = b.env(k, v);
    }
    (b.start().await, format!("http://{addr}/metrics"))
}

/// The value of one sample, 0 when absent.
async fn sample(s: &TestServer, metrics: &str, series: &str) -> f64 {
    let text = s.http.get(metrics).send().await.unwrap().text().await.unwrap();
    text.lines().find_map(|l| l.strip_prefix(series).and_then(|v| v.trim().parse().ok())).unwrap_or(0.0)
}

async fn token_request(s: &TestServer, id: &str, secret: &str, xff: Option<&str>) -> Response {
    let mut req = s
        .http
        .post(s.url("/oauth/token"))
        .header("authorization", format!("Basic {}", STANDARD.encode(format!("{id}:{secret}"))))
        .form(&[("grant_type", "client_credentials")]);
    if let Some(xff) = xff {
        req = req.header("x-forwarded-for", xff);
    }
    Response::read(req.send().await.unwrap()).await
}

async fn with_key(s: &TestServer, key: &str, xff: Option<&str>) -> Response {
    let mut req = s.http.get(s.url("/v1/resource")).header("x-api-key", key);
    if let Some(xff) = xff {
        req = req.header("x-forwarded-for", xff);
    }
    Response::read(req.send().await.unwrap()).await
}

fn header<'a>(r: &'a Response, name: &str) -> &'a str {
    r.header(name).unwrap_or_else(|| panic!("missing {name}: {:?}", r.headers))
}

#[tokio::test]
async fn oauth_endpoints_count_against_the_clients_write_limit() {
    let (s, metrics) = server_with_metrics(&[]).await;
    let admin = Some(s.admin_key.as_str());
    let body = json!({"name": "c", "scopes": ["resource:read"], "limits": {"write": "2/h"}});
    let created = s.call(Method::POST, "/v1/clients", admin, Some(&body)).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let (id, secret) = (
        created.body["client_id"].as_str().unwrap().to_owned(),
        created.body["client_secret"].as_str().unwrap().to_owned(),
    );
    for _ in 0..2 {
        let r = token_request(&s, &id, &secret, None).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(header(&r, "ratelimit-policy"), "\"write\";q=2;w=3600");
    }
    let refused = token_request(&s, &id, &secret, None).await;
    assert_eq!(refused.status, 429, "{}", refused.text);
    assert_eq!(refused.body["error"], "rate_limit_exceeded", "RFC 6749 shape: {}", refused.text);
    let retry: u64 = header(&refused, "retry-after").parse().unwrap();
    assert!((1..=3600).contains(&retry));
    assert!(header(&refused, "ratelimit").starts_with("\"write\";r=0;"));
    assert_eq!(header(&refused, "x-ratelimit-remaining"), "0");
    // Introspection and revocation share the budget.
    let introspect = s
        .http
        .post(s.url("/oauth/introspect"))
        .basic_auth(&id, Some(&secret))
        .form(&[("token", "whatever")])
        .send()
        .await
        .unwrap();
    assert_eq!(introspect.status(), 429);
    let revoke = s
        .http
        .post(s.url("/oauth/revoke"))
        .basic_auth(&id, Some(&secret))
        .form(&[("token", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(revoke.status(), 429);
    assert!(sample(&s, &metrics, "tollgate_ratelimit_rejections_total{class=\"write\"}").await >= 3.0);
    // Another client has its own budget.
    let (other, other_secret) = crate::oauth::client_with(&s, &["resource:read"]).await;
    assert_eq!(token_request(&s, &other, &other_secret, None).await.status, 200);
}

#[tokio::test]
async fn failed_authentications_are_limited_per_address_before_any_lookup() {
    let (s, metrics) = server_with_metrics(&[("TOLLGATE_RATE_LIMIT_FAILED_AUTH", "3/1m")]).await;
    let lookups = "tollgate_db_query_duration_seconds_count{operation=\"find_credential_by_digest\"}";
    // Keys with a valid checksum: they pass the shape check and reach the database.
    for i in 0..3 {
        let fake = SecretToken::generate(SecretKind::ApiKey);
        let r = with_key(&s, fake.expose(), None).await;
        r.assert_error(401, "AUTHENTICATION_FAILED");
        assert_eq!(header(&r, "ratelimit-policy"), "\"auth_failures\";q=3;w=60");
        assert_eq!(header(&r, "x-ratelimit-remaining"), (2 - i).to_string());
    }
    let looked_up = sample(&s, &metrics, lookups).await;
    assert!(looked_up >= 3.0, "{looked_up}");
    for key in [SecretToken::generate(SecretKind::ApiKey).expose().to_owned(), s.admin_key.clone()] {
        let r = with_key(&s, &key, None).await;
        let details = r.assert_error(429, "RATE_LIMIT_EXCEEDED");
        assert_eq!(details["policy"], "auth_failures");
        let retry: u64 = header(&r, "retry-after").parse().unwrap();
        assert!((1..=60).contains(&retry), "{retry}");
        assert!(header(&r, "ratelimit").starts_with("\"auth_failures\";r=0;"));
    }
    // OAuth client authentication from the same address is refused as well.
    let r = token_request(&s, "tgc_000000000000000000000000", "tgs_x", None).await;
    assert_eq!(r.status, 429, "{}", r.text);
    assert_eq!(r.body["error"], "rate_limit_exceeded");
    assert_eq!(sample(&s, &metrics, lookups).await, looked_up, "a refused address reached the database");
    assert!(sample(&s, &metrics, "tollgate_ratelimit_rejections_total{class=\"auth_failures\"}").await >= 3.0);
    assert!(sample(&s, &metrics, "tollgate_auth_failures_total{reason=\"invalid\"}").await >= 3.0);
}

#[tokio::test]
async fn oauth_client_failures_count_and_a_trusted_proxy_header_names_the_address() {
    let (s, _) = server_with_metrics(&[
        ("TOLLGATE_RATE_LIMIT_FAILED_AUTH", "2/1m"),
        ("TOLLGATE_TRUSTED_PROXY_HEADER", "X-Forwarded-For"),
    ])
    .await;
    let (id, secret) = crate::oauth::client_with(&s, &["resource:read"]).await;
    let wrong = SecretToken::generate(SecretKind::ClientSecret);
    // The balancer appends the real address; what the caller wrote before it is not trusted.
    let attacker = "203.0.113.50";
    for spoof in ["198.51.100.1", "198.51.100.2"] {
        let r = token_request(&s, &id, wrong.expose(), Some(&format!("{spoof}, {attacker}"))).await;
        assert_eq!(r.status, 401, "{}", r.text);
        assert_eq!(r.body["error"], "invalid_client");
    }
    let r = token_request(&s, &id, &secret, Some(attacker)).await;
    assert_eq!(r.status, 429, "the right secret from a blocked address: {}", r.text);
    assert!(r.header("retry-after").is_some());
    with_key(&s, &s.admin_key, Some(&format!("10.9.9.9, {attacker}"))).await.assert_error(429, "RATE_LIMIT_EXCEEDED");
    // Other addresses behind the same balancer are unaffected.
    assert_eq!(token_request(&s, &id, &secret, Some("198.51.100.1")).await.status, 200);
    assert_eq!(with_key(&s, &s.admin_key, Some("198.51.100.2")).await.status, 200);
    assert_eq!(with_key(&s, &s.admin_key, None).await.status, 200, "the balancer's own address");
}
