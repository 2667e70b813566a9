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

/// `null` for a class returns it to the server's default and the key is limited by that again;
/// an unknown class is refused even as `null`, and so is a `null` in place of the limits.
#[tokio::test]
async fn a_null_limit_returns_a_class_to_the_default() {
    let s = crate::server_with(&[("TOLLGATE_RATE_LIMIT_READ", "3/h")]).await;
    let admin = Some(s.admin_key.as_str());
    let body = json!({"name": "k", "scopes": ["resource:read"], "limits": {"read": "100/h", "write": "7/h"}});
    let created = s.call(Method::POST, "/v1/keys", admin, Some(&body)).await;
    let (id, key) = (created.body["key"]["id"].as_str().unwrap(), created.body["secret"].as_str().unwrap());
    let path = format!("/v1/keys/{id}");
    for refused in [json!({"limits": null}), json!({"limits": {"foo": null}}), json!({"limits": {"read": 5}})] {
        s.call(Method::PATCH, &path, admin, Some(&refused)).await.assert_error(400, "VALIDATION_FAILED");
    }
    let r = s.call(Method::PATCH, &path, admin, Some(&json!({"limits": {"read": null}}))).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["limits"], json!({"read": null, "write": "7/3600s"}));
    // The server's default (3 reads an hour) holds the key again.
    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(s.call(Method::GET, "/v1/resource", Some(key), None).await.status.as_u16());
    }
    assert_eq!(statuses, [200, 200, 200, 429]);
}
