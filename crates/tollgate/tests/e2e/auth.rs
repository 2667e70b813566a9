//! Authentication and scopes: missing, malformed, unknown, expired and revoked keys are 401;
//! a key lacking the scope is 403 naming it; nothing is written either way.

use std::time::Duration;

use reqwest::Method;
use serde_json::json;
use tollgate_testkit::Response;

use crate::{key_with, server, widget};

#[tokio::test]
async fn credentials_are_checked() {
    let s = server().await;
    let ok = s.call(Method::GET, "/v1/resource", Some(&s.admin_key), None).await;
    assert_eq!(ok.status, 200);
    // Both headers work.
    let bearer = s.http.get(s.url("/v1/resource")).bearer_auth(&s.admin_key).send().await.unwrap();
    assert_eq!(bearer.status(), 200);

    let missing = s.call(Method::GET, "/v1/resource", None, None).await;
    assert_eq!(missing.assert_error(401, "AUTHENTICATION_FAILED")["reason"], "missing");
    assert_eq!(missing.body["error"]["message"], "Authentication failed");
    assert_eq!(missing.header("www-authenticate"), Some("Bearer realm=\"tollgate\""));

    let mut typo = s.admin_key.clone().into_bytes();
    typo[8] = if typo[8] == b'A' { b'B' } else { b'A' };
    let typo = String::from_utf8(typo).unwrap();
    for (bad, reason) in [
        ("not-a-key", "malformed"),
        ("tgk_", "malformed"),
        (typo.as_str(), "malformed"),
        (&format!("{}x", s.admin_key), "malformed"),
    ] {
        let r = s.call(Method::GET, "/v1/resource", Some(bad), None).await;
        assert_eq!(r.assert_error(401, "AUTHENTICATION_FAILED")["reason"], reason, "{bad}");
        assert!(r.header("www-authenticate").unwrap().contains("invalid_token"));
    }
    // A well-formed key that was never issued.
    let other = tollgate_auth_like_key();
    let r = s.call(Method::GET, "/v1/resource", Some(&other), None).await;
    assert_eq!(r.assert_error(401, "AUTHENTICATION_FAILED")["reason"], "invalid");
    // Wrong scheme, and a good key beside a bad bearer value or a bad key beside a good one.
    let basic = s.http.get(s.url("/v1/resource")).header("authorization", "Basic Zm9vOmJhcg==").send().await.unwrap();
    Response::read(basic).await.assert_error(401, "AUTHENTICATION_FAILED");
    let both = |key: &str, bearer: &str| {
        s.http.get(s.url("/v1/resource")).header("x-api-key", key).header("authorization", format!("Bearer {bearer}"))
    };
    let r = Response::read(both(&s.admin_key, "").send().await.unwrap()).await;
    assert_eq!(r.assert_error(401, "AUTHENTICATION_FAILED")["reason"], "malformed");
    let r = Response::read(both(&other, &s.admin_key).send().await.unwrap()).await;
    assert_eq!(r.assert_error(401, "AUTHENTICATION_FAILED")["reason"], "invalid");
    assert_eq!(both(&s.admin_key, &s.admin_key).send().await.unwrap().status(), 200);
}

/// A key with a valid shape and checksum that no server issued.
fn tollgate_auth_like_key() -> String {
    let random = "A".repeat(40);
    let crc = crc32(random.as_bytes());
    let alphabet = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut n = u64::from(crc);
    let mut check = [b'0'; 6];
    for slot in check.iter_mut().rev() {
        *slot = alphabet[(n % 62) as usize];
        n /= 62;
    }
    format!("tgk_{random}{}", String::from_utf8(check.to_vec()).unwrap())
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

#[tokio::test]
async fn scopes_are_enforced() {
    let s = server().await;
    let reader = key_with(&s, &["resource:read"]).await;
    let writer = key_with(&s, &["resource:write"]).await;
    let created = s.call(Method::POST, "/v1/resource", Some(&s.admin_key), Some(&widget("a"))).await;
    let path = format!("/v1/resource/{}", created.body["id"].as_str().unwrap());
    let rows = s.count_rows("resources");

    let r = s.call(Method::POST, "/v1/resource", Some(&reader), Some(&widget("b"))).await;
    assert_eq!(r.assert_error(403, "PERMISSION_DENIED")["required_scope"], "resource:write");
    assert!(r.header("www-authenticate").unwrap().contains("insufficient_scope"));
    s.call(Method::PATCH, &path, Some(&reader), Some(&json!({"name": "x"})))
        .await
        .assert_error(403, "PERMISSION_DENIED");
    s.call(Method::DELETE, &path, Some(&reader), None).await.assert_error(403, "PERMISSION_DENIED");
    assert_eq!(s.call(Method::GET, &path, Some(&reader), None).await.status, 200);

    let r = s.call(Method::GET, &path, Some(&writer), None).await;
    assert_eq!(r.assert_error(403, "PERMISSION_DENIED")["required_scope"], "resource:read");
    s.call(Method::GET, "/v1/resource", Some(&writer), None).await.assert_error(403, "PERMISSION_DENIED");
    let r = s.call(Method::GET, "/v1/keys", Some(&writer), None).await;
    assert_eq!(r.assert_error(403, "PERMISSION_DENIED")["required_scope"], "admin");
    assert_eq!(s.call(Method::POST, "/v1/resource", Some(&writer), Some(&widget("c"))).await.status, 201);
    assert_eq!(s.count_rows("resources"), rows + 1);
}

#[tokio::test]
async fn expired_and_revoked_keys_are_refused_at_once() {
    let s = server().await;
    let r = s
        .call(
            Method::POST,
            "/v1/keys",
            Some(&s.admin_key),
            Some(&json!({"name": "short", "scopes": ["resource:read"], "expires_in": "1s"})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let short = r.body["secret"].as_str().unwrap().to_owned();
    assert_eq!(s.call(Method::GET, "/v1/resource", Some(&short), None).await.status, 200);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let r = s.call(Method::GET, "/v1/resource", Some(&short), None).await;
    assert_eq!(r.assert_error(401, "AUTHENTICATION_FAILED")["reason"], "expired");

    let r = s
        .call(Method::POST, "/v1/keys", Some(&s.admin_key), Some(&json!({"name": "doomed", "scopes": "resource:read"})))
        .await;
    let (doomed, id) =
        (r.body["secret"].as_str().unwrap().to_owned(), r.body["key"]["id"].as_str().unwrap().to_owned());
    assert_eq!(s.call(Method::GET, "/v1/resource", Some(&doomed), None).await.status, 200);
    let revoked = s.call(Method::DELETE, &format!("/v1/keys/{id}"), Some(&s.admin_key), None).await;
    assert_eq!(revoked.status, 200);
    assert_eq!(revoked.body["status"], "revoked");
    s.call(Method::GET, "/v1/resource", Some(&doomed), None).await.assert_error(401, "AUTHENTICATION_FAILED");
}
