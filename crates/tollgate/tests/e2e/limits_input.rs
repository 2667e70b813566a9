//! Limits as clients write them: a window so large that `count * unit` overflows is refused
//! with 400, never wrapped into a short window (or a panic in a debug build).

use reqwest::Method;
use serde_json::json;

use crate::server;

#[tokio::test]
async fn a_limit_whose_window_overflows_is_refused() {
    let s = server().await;
    let admin = Some(s.admin_key.as_str());
    let created =
        s.call(Method::POST, "/v1/keys", admin, Some(&json!({"name": "k", "scopes": ["resource:read"]}))).await;
    let id = created.body["key"]["id"].as_str().unwrap().to_owned();
    // 213503982334602 days is 61184 seconds modulo 2^64.
    for limit in ["10/213503982334602d", "1/18446744073709551615s"] {
        let r =
            s.call(Method::PATCH, &format!("/v1/keys/{id}"), admin, Some(&json!({"limits": {"read": limit}}))).await;
        let details = r.assert_error(400, "VALIDATION_FAILED");
        assert!(details["limits.read"].as_str().is_some_and(|m| m.contains("window")), "{limit}: {details}");
        let r = s
            .call(
                Method::POST,
                "/v1/keys",
                admin,
                Some(&json!({"name": "x", "scopes": ["resource:read"], "limits": {"write": limit}})),
            )
            .await;
        r.assert_error(400, "VALIDATION_FAILED");
    }
    let key = s.call(Method::GET, &format!("/v1/keys/{id}"), admin, None).await;
    assert_eq!(key.status, 200);
    assert!(!key.text.contains("61184"), "{}", key.text);
}
