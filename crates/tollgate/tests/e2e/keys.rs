//! `/v1/keys` over HTTP: create, list, get, rotate with a grace period, revoke.

use std::time::Duration;

use reqwest::Method;
use serde_json::json;

use crate::server;

#[tokio::test]
async fn key_lifecycle_over_http() {
    let s = server().await;
    let admin = Some(s.admin_key.as_str());
    let created = s
        .call(
            Method::POST,
            "/v1/keys",
            admin,
            Some(&json!({"name": "ci", "scopes": ["resource:read", "resource:write"], "expires_in": "90d"})),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let secret = created.body["secret"].as_str().unwrap().to_owned();
    let key = &created.body["key"];
    let id = key["id"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("tgk_") && secret.len() == 50);
    assert_eq!(key["scopes"], json!(["resource:read", "resource:write"]));
    assert_eq!(key["status"], "active");
    assert_eq!(key["rotation_due"], false);
    assert!(key["expires_at"].is_string());
    assert!(key["hint"].as_str().unwrap().ends_with(&secret[secret.len() - 4..]));
    assert!(!created.text.contains("digest"));

    let list = s.call(Method::GET, "/v1/keys", admin, None).await;
    let items = list.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert!(!list.text.contains(&secret), "a listing must never show a secret");
    let one = s.call(Method::GET, &format!("/v1/keys/{id}"), admin, None).await;
    assert_eq!(one.body["name"], "ci");
    s.call(Method::GET, "/v1/keys/key_01ARZ3NDEKTSV4RRFFQ69G5FAV", admin, None).await.assert_error(404, "NOT_FOUND");
    s.call(Method::GET, "/v1/keys/nope", admin, None).await.assert_error(404, "NOT_FOUND");

    // Rotate with a 2 s grace: both secrets work, then only the new one.
    let rotated = s.call(Method::POST, &format!("/v1/keys/{id}/rotate"), admin, Some(&json!({"grace": "2s"}))).await;
    assert_eq!(rotated.status, 200, "{}", rotated.text);
    let new_secret = rotated.body["secret"].as_str().unwrap().to_owned();
    assert_ne!(new_secret, secret);
    for k in [&secret, &new_secret] {
        assert_eq!(s.call(Method::GET, "/v1/resource", Some(k), None).await.status, 200);
    }
    tokio::time::sleep(Duration::from_millis(2100)).await;
    s.call(Method::GET, "/v1/resource", Some(&secret), None).await.assert_error(401, "AUTHENTICATION_FAILED");
    assert_eq!(s.call(Method::GET, "/v1/resource", Some(&new_secret), None).await.status, 200);

    // Rotation without a body uses the default grace (24 h): the old secret keeps working.
    let again = s.call(Method::POST, &format!("/v1/keys/{id}/rotate"), admin, None).await;
    assert_eq!(again.status, 200, "{}", again.text);
    assert_eq!(s.call(Method::GET, "/v1/resource", Some(&new_secret), None).await.status, 200);

    // Revoke ends every secret of the key at once; revoking twice is fine; rotating is refused.
    let revoked = s.call(Method::DELETE, &format!("/v1/keys/{id}"), admin, None).await;
    assert_eq!(revoked.body["status"], "revoked");
    assert_eq!(s.call(Method::DELETE, &format!("/v1/keys/{id}"), admin, None).await.status, 200);
    for k in [&new_secret, again.body["secret"].as_str().unwrap()] {
        s.call(Method::GET, "/v1/resource", Some(k), None).await.assert_error(401, "AUTHENTICATION_FAILED");
    }
    s.call(Method::POST, &format!("/v1/keys/{id}/rotate"), admin, None).await.assert_error(409, "CONFLICT");
}

#[tokio::test]
async fn key_requests_are_validated() {
    let s = server().await;
    let admin = Some(s.admin_key.as_str());
    let before = s.count_rows("credentials");
    for (body, field) in [
        (json!({"scopes": ["admin"]}), "name"),
        (json!({"name": "x"}), "scopes"),
        (json!({"name": "x", "scopes": ["root"]}), "scopes"),
        (json!({"name": "x", "scopes": []}), "scopes"),
        (json!({"name": "x", "scopes": ["admin"], "expires_in": "soon"}), "expires_in"),
        (json!({"name": "x", "scopes": ["admin"], "expires_in": "0s"}), "expires_in"),
        (json!({"name": "x", "scopes": ["admin"], "owner": "me"}), "owner"),
        (json!({"name": "", "scopes": ["admin"]}), "name"),
    ] {
        let r = s.call(Method::POST, "/v1/keys", admin, Some(&body)).await;
        let details = r.assert_error(400, "VALIDATION_FAILED");
        assert!(details.get(field).is_some(), "{body}: {details}");
    }
    // A control character is named as the reason, not the length.
    let r = s.call(Method::POST, "/v1/keys", admin, Some(&json!({"name": "a\u{6}b", "scopes": ["admin"]}))).await;
    assert_eq!(r.assert_error(400, "VALIDATION_FAILED")["name"], "must not contain control characters");
    assert_eq!(s.count_rows("credentials"), before);
}

/// A credential lives at least a second (`1ns` would be created expired), and a revoked one
/// cannot be changed: keys and clients alike, over HTTP and the CLI.
#[tokio::test]
async fn lifetimes_under_a_second_and_changes_to_revoked_credentials_are_refused() {
    let s = server().await;
    let admin = Some(s.admin_key.as_str());
    for path in ["/v1/keys", "/v1/clients"] {
        for short in ["1ns", "999ms", "0.5s", "0s"] {
            let body = json!({"name": "brief", "scopes": ["resource:read"], "expires_in": short});
            let r = s.call(Method::POST, path, admin, Some(&body)).await;
            assert!(r.assert_error(400, "VALIDATION_FAILED")["expires_in"].is_string(), "{path} {short}");
        }
        let body = json!({"name": "brief", "scopes": ["resource:read"], "expires_in": "1s"});
        let created = s.call(Method::POST, path, admin, Some(&body)).await;
        assert_eq!(created.status, 201, "{}", created.text);
        let id = created.body["key"]["id"].as_str().or(created.body["client_id"].as_str());
        let one = format!("{path}/{}", id.unwrap_or_else(|| panic!("{}", created.text)));
        let limits = json!({"limits": {"write": "5/1m"}});
        assert_eq!(s.call(Method::PATCH, &one, admin, Some(&limits)).await.status, 200);
        assert_eq!(s.call(Method::DELETE, &one, admin, None).await.status, 200);
        s.call(Method::PATCH, &one, admin, Some(&json!({"limits": {"write": "9/1m"}})))
            .await
            .assert_error(409, "CONFLICT");
        assert_eq!(s.call(Method::GET, &one, admin, None).await.body["limits"]["write"], "5/60s");
    }
    let out =
        s.cli(&["keys", "create", "--name", "brief", "--scopes", "resource:read", "--expires-in", "1ns"], None, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("--expires-in"), "{stderr}");
}
