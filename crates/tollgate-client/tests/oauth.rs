//! The SDK with OAuth client credentials against a real server: the token is fetched on first
//! use, reused, renewed before it expires, and replaced when the server refuses it.

mod common;

use std::time::Duration;

use tollgate_client::{Client, ErrorKind, ListParams, NewResource};

#[tokio::test]
async fn tokens_are_fetched_reused_and_renewed() {
    // Two-second tokens: renewed one second before expiry (half the lifetime).
    let s = common::server_with(&[("TOLLGATE_TOKEN_TTL", "2s")]).await;
    let (id, secret) = common::oauth_client(&s, &["resource:read", "resource:write"]).await;
    let c = Client::builder().endpoint(&s.base_url).oauth_client(id, secret).build().unwrap();
    let created = c.create(&NewResource::new("via oauth", "widget")).await.unwrap();
    for _ in 0..5 {
        c.get(&created.id).await.unwrap();
    }
    assert_eq!(issued_tokens(&s).await, 1, "one token for six calls");
    tokio::time::sleep(Duration::from_millis(2500)).await;
    c.get(&created.id).await.unwrap();
    assert_eq!(issued_tokens(&s).await, 2, "renewed after expiry");
}

#[tokio::test]
async fn concurrent_first_calls_share_one_token_request() {
    let s = common::server().await;
    let (id, secret) = common::oauth_client(&s, &["resource:read"]).await;
    let c = Client::builder().endpoint(&s.base_url).oauth_client(id, secret).build().unwrap();
    let calls = (0..8).map(|_| {
        let c = c.clone();
        tokio::spawn(async move { c.list(&ListParams::new()).await })
    });
    for call in futures::future::join_all(calls).await {
        assert!(call.unwrap().unwrap().items.is_empty());
    }
    assert_eq!(issued_tokens(&s).await, 1, "eight concurrent calls, one token request");
}

#[tokio::test]
async fn a_wrong_secret_is_an_authentication_error() {
    let s = common::server().await;
    let (id, _) = common::oauth_client(&s, &["resource:read"]).await;
    let c = Client::builder().endpoint(&s.base_url).oauth_client(id, "tgs_wrong").build().unwrap();
    let e = c.get("res_01JD3Z9T6W4X8Y2K5M7N9P1Q3R").await.unwrap_err();
    assert_eq!((e.kind(), e.code()), (ErrorKind::Authentication, Some("invalid_client")));
}

#[tokio::test]
async fn a_revoked_client_is_refused() {
    let s = common::server().await;
    let (id, secret) = common::oauth_client(&s, &["resource:read"]).await;
    let c = Client::builder().endpoint(&s.base_url).oauth_client(&id, secret).build().unwrap();
    let missing = c.get("res_01JD3Z9T6W4X8Y2K5M7N9P1Q3R").await.unwrap_err();
    assert_eq!(missing.kind(), ErrorKind::NotFound, "authenticated, then not found");
    let r = s.call(reqwest::Method::DELETE, &format!("/v1/clients/{id}"), Some(&s.admin_key), None).await;
    assert!(r.status.is_success(), "{}", r.body);
    let refused = c.get("res_01JD3Z9T6W4X8Y2K5M7N9P1Q3R").await.unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::Authentication);
}

/// Successful token requests, from the server's own request counter.
async fn issued_tokens(s: &tollgate_testkit::TestServer) -> u64 {
    let text = reqwest::Client::new()
        .get(s.url("/metrics"))
        .header("x-api-key", &s.admin_key)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .filter(|l| {
            l.starts_with("http_server_request_duration_seconds_count{")
                && l.contains("http_route=\"/oauth/token\"")
                && l.contains("http_response_status_code=\"200\"")
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}
