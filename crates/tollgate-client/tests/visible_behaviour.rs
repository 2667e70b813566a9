//! What a user sees without reading the code: the endpoint forms accepted, a connection error
//! that names the URL, and the deprecation warning (once per process and endpoint) against the
//! real server.

mod common;

use tollgate_client::{Client, ErrorKind, Method, RawRequest};

#[tokio::test]
async fn an_endpoint_ending_in_v1_is_the_same_server() {
    let s = common::server().await;
    for endpoint in [format!("{}/v1", s.base_url), format!("{}/v1/", s.base_url)] {
        let c = Client::builder().endpoint(&endpoint).api_key(&s.admin_key).build().unwrap();
        assert_eq!(c.endpoint(), s.base_url);
        c.list(&Default::default()).await.unwrap();
    }
}

#[tokio::test]
async fn a_refused_connection_names_the_url() {
    // Port 9 (discard) is not listened on here; nothing is retried with retries off.
    let c = Client::builder().endpoint("http://127.0.0.1:9").api_key("tgk_x").max_retries(0).build().unwrap();
    let e = c.get("res_1").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Connection);
    assert!(e.to_string().contains("http://127.0.0.1:9/v1/resource/res_1"), "{e}");
}

#[tokio::test]
async fn a_deprecated_call_is_logged_once_and_every_response_at_debug() {
    let s = common::server().await;
    let c = common::admin(&s);
    let body = serde_json::json!({"name": "legacy", "scopes": "resource:read"});
    let ((), logs) = common::capture_logs(async {
        for _ in 0..3 {
            c.request(RawRequest::new(Method::POST, "/v1/keys").json(body.clone())).await.unwrap();
        }
    })
    .await;
    let warnings: Vec<_> = logs.lines().filter(|l| l.contains("WARN") && l.contains("is deprecated")).collect();
    assert_eq!(warnings.len(), 1, "once per process and endpoint:\n{logs}");
    let w = warnings[0];
    assert!(w.contains("POST /v1/keys is deprecated (Deprecation: @1796083200; Sunset: Wed, 30 Jun 2027"), "{w}");
    assert!(w.contains("/CHANGELOG.md#deprecation-scopes-string"), "{w}");
    let debug: Vec<_> = logs.lines().filter(|l| l.contains("DEBUG") && l.contains("POST /v1/keys -> 201")).collect();
    assert_eq!(debug.len(), 3, "{logs}");
    assert!(debug.iter().all(|l| l.contains("request_id=req_")), "the server's request id:\n{logs}");
    assert!(!logs.contains(&s.admin_key), "the API key was logged");
}
