//! OAuth 2.0 client credentials end to end: the token endpoint's successes and RFC 6749
//! errors, discovery, revocation and introspection, signing-key rotation, and forged or
//! tampered tokens, none of which get in or cause a 5xx.

use std::time::Duration;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::Method;
use serde_json::{json, Value};
use tollgate_testkit::{Response, TestServer};

use crate::{server, server_with, widget};

/// Creates a client over HTTP; returns (client_id, client_secret).
pub async fn client_with(s: &TestServer, scopes: &[&str]) -> (String, String) {
    let r =
        s.call(Method::POST, "/v1/clients", Some(&s.admin_key), Some(&json!({"name": "c", "scopes": scopes}))).await;
    assert_eq!(r.status, 201, "{}", r.text);
    (r.body["client_id"].as_str().unwrap().to_owned(), r.body["client_secret"].as_str().unwrap().to_owned())
}

async fn token_request(s: &TestServer, basic: Option<(&str, &str)>, form: &[(&str, &str)]) -> Response {
    let mut req = s.http.post(s.url("/oauth/token")).form(form);
    if let Some((id, secret)) = basic {
        req = req.header("authorization", format!("Basic {}", STANDARD.encode(format!("{id}:{secret}"))));
    }
    Response::read(req.send().await.unwrap()).await
}

/// A token for the client.
pub async fn token(s: &TestServer, id: &str, secret: &str) -> String {
    let r = token_request(s, Some((id, secret)), &[("grant_type", "client_credentials")]).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["access_token"].as_str().unwrap().to_owned()
}

async fn with_bearer(s: &TestServer, method: Method, path: &str, token: &str, body: Option<&Value>) -> Response {
    let mut req = s.http.request(method, s.url(path)).bearer_auth(token);
    if let Some(b) = body {
        req = req.json(b);
    }
    Response::read(req.send().await.unwrap()).await
}

/// The integration guide template's common headers carry `X-API-Key` and `Authorization:
/// Bearer {access_token}` together: the request runs as the token's client, and the key must be
/// valid and of the same project.
#[tokio::test]
async fn an_api_key_beside_an_access_token_must_be_valid_and_of_the_same_project() {
    let s = server().await;
    let (id, secret) = client_with(&s, &["resource:read"]).await;
    let access = token(&s, &id, &secret).await;
    let reader_key = crate::key_with(&s, &["resource:read"]).await;
    let get =
        |key: &str| s.http.get(s.url("/v1/resource")).header("x-api-key", key.to_owned()).bearer_auth(&access).send();
    assert_eq!(get(&reader_key).await.unwrap().status(), 200);
    // The token's scopes count, not the admin key's.
    let write = s
        .http
        .post(s.url("/v1/resource"))
        .header("x-api-key", &s.admin_key)
        .bearer_auth(&access)
        .json(&widget("w"))
        .send()
        .await
        .unwrap();
    Response::read(write).await.assert_error(403, "PERMISSION_DENIED");
    // A revoked key beside a good token is refused, not ignored.
    let keys = s.call(Method::GET, "/v1/keys", Some(&s.admin_key), None).await;
    let key_id = keys.body["items"].as_array().unwrap().last().unwrap()["id"].as_str().unwrap().to_owned();
    assert_eq!(s.call(Method::DELETE, &format!("/v1/keys/{key_id}"), Some(&s.admin_key), None).await.status, 200);
    Response::read(get(&reader_key).await.unwrap()).await.assert_error(401, "AUTHENTICATION_FAILED");
    // A key of another project beside the token is refused.
    assert!(s.cli(&["projects", "create", "other"], None, &[]).status.success());
    let out = s.cli(&["keys", "create", "--name", "o", "--scopes", "resource:read", "--project", "other"], None, &[]);
    let other_key = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let r = Response::read(get(&other_key).await.unwrap()).await;
    assert_eq!(r.assert_error(401, "AUTHENTICATION_FAILED")["reason"], "invalid");
    assert!(r.body["error"]["message"].as_str().unwrap().contains("different projects"), "{}", r.text);
}

#[tokio::test]
async fn client_credentials_grant() {
    let s = server().await;
    let (id, secret) = client_with(&s, &["resource:read", "resource:write"]).await;
    assert!(id.starts_with("tgc_") && id.len() == 28 && secret.starts_with("tgs_"));

    // Basic authentication, form body.
    let r = token_request(&s, Some((&id, &secret)), &[("grant_type", "client_credentials")]).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["token_type"], "Bearer");
    assert_eq!(r.body["expires_in"], 3600);
    assert_eq!(r.body["scope"], "resource:read resource:write");
    assert_eq!(r.header("cache-control"), Some("no-store"));
    assert_eq!(r.header("pragma"), Some("no-cache"));
    let token = r.body["access_token"].as_str().unwrap().to_owned();

    // The token is an RFC 9068 JWT with the documented claims.
    let parts: Vec<&str> = token.split('.').collect();
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    assert_eq!(header["typ"], "at+jwt");
    assert_eq!(header["alg"], "RS256");
    assert!(header["kid"].is_string());
    for claim in ["iss", "sub", "aud", "client_id", "scope", "iat", "exp", "jti", "project"] {
        assert!(claims.get(claim).is_some(), "missing {claim}");
    }
    assert_eq!(claims["sub"], id.as_str());
    assert_eq!(claims["iss"], s.base_url.as_str());

    // It works for the API, with scopes enforced.
    let created = with_bearer(&s, Method::POST, "/v1/resource", &token, Some(&widget("by token"))).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let path = format!("/v1/resource/{}", created.body["id"].as_str().unwrap());
    assert_eq!(with_bearer(&s, Method::GET, &path, &token, None).await.status, 200);
    let narrow =
        token_request(&s, Some((&id, &secret)), &[("grant_type", "client_credentials"), ("scope", "resource:read")])
            .await;
    assert_eq!(narrow.body["scope"], "resource:read");
    let narrow = narrow.body["access_token"].as_str().unwrap();
    let denied = with_bearer(&s, Method::DELETE, &path, narrow, None).await;
    assert_eq!(denied.assert_error(403, "PERMISSION_DENIED")["required_scope"], "resource:write");
    let admin = with_bearer(&s, Method::GET, "/v1/keys", &token, None).await;
    assert_eq!(admin.assert_error(403, "PERMISSION_DENIED")["required_scope"], "admin");

    // Credentials in the body, form-encoded and JSON (the integration guide's curl).
    let r = token_request(
        &s,
        None,
        &[("grant_type", "client_credentials"), ("client_id", &id), ("client_secret", &secret)],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = s
        .http
        .post(s.url("/oauth/token"))
        .json(&json!({"client_id": id, "client_secret": secret, "grant_type": "client_credentials"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn token_endpoint_errors_follow_rfc_6749() {
    let s = server().await;
    let (id, secret) = client_with(&s, &["resource:read"]).await;
    let other_secret = client_with(&s, &["resource:read"]).await.1;
    let check = |r: &Response, status: u16, error: &str| {
        assert_eq!(r.status.as_u16(), status, "{}", r.text);
        assert_eq!(r.body["error"], error, "{}", r.text);
        assert!(r.body.get("code").is_none() && r.body["error"].is_string(), "not the envelope");
        assert_eq!(r.header("cache-control"), Some("no-store"));
    };
    let cc = ("grant_type", "client_credentials");
    check(&token_request(&s, Some((&id, &secret)), &[]).await, 400, "invalid_request");
    check(&token_request(&s, Some((&id, &secret)), &[("grant_type", "password")]).await, 400, "unsupported_grant_type");
    check(&token_request(&s, Some((&id, &secret)), &[cc, ("scope", "admin")]).await, 400, "invalid_scope");
    check(&token_request(&s, Some((&id, &secret)), &[cc, ("scope", "root")]).await, 400, "invalid_scope");
    check(&token_request(&s, Some((&id, &secret)), &[cc, ("client_secret", &secret)]).await, 400, "invalid_request");
    check(&token_request(&s, Some((&id, &secret)), &[cc, cc]).await, 400, "invalid_request");
    // Wrong secret, unknown client, malformed secret: one and the same answer.
    let wrong = token_request(&s, Some((&id, &other_secret)), &[cc]).await;
    check(&wrong, 401, "invalid_client");
    assert_eq!(wrong.header("www-authenticate"), Some("Basic realm=\"tollgate\""));
    let unknown = token_request(&s, Some(("tgc_AAAAAAAAAAAAAAAAAAAAAAAA", &secret)), &[cc]).await;
    check(&unknown, 401, "invalid_client");
    assert_eq!(unknown.text, wrong.text);
    check(&token_request(&s, Some((&id, "tgs_nope")), &[cc]).await, 401, "invalid_client");
    check(&token_request(&s, None, &[cc]).await, 401, "invalid_client");
    check(
        &token_request(&s, None, &[cc, ("client_id", &id), ("client_secret", &other_secret)]).await,
        401,
        "invalid_client",
    );
    let text = s.http.post(s.url("/oauth/token")).header("content-type", "text/plain").body("x").send().await.unwrap();
    check(&Response::read(text).await, 400, "invalid_request");
    let garbage =
        s.http.post(s.url("/oauth/token")).header("authorization", "Basic !!!").form(&[cc]).send().await.unwrap();
    check(&Response::read(garbage).await, 401, "invalid_client");
    // A body over 1 MiB: 413, as on every endpoint, in RFC 6749's format; the body is
    // drained, so the answer arrives whole on all three endpoints.
    let big = format!("grant_type=client_credentials&pad={}", "a".repeat(1024 * 1024));
    for path in ["/oauth/token", "/oauth/introspect", "/oauth/revoke"] {
        let r = s
            .http
            .post(s.url(path))
            .basic_auth(&id, Some(&secret))
            .header("content-type", "application/x-www-form-urlencoded");
        let r = Response::read(r.body(big.clone()).send().await.unwrap()).await;
        check(&r, 413, "invalid_request");
        assert!(r.body["error_description"].as_str().unwrap().contains("1048576"), "{path}: {}", r.text);
    }
    // Authorization or Content-Type twice, even with the same good value: which copy counted
    // would depend on the reader, and two client authentications are one too many (RFC 6749
    // sections 2.3 and 3.2), so invalid_request, on all three endpoints. Sent once, it passes.
    let form = "application/x-www-form-urlencoded";
    let body = "grant_type=client_credentials&token=x";
    for path in ["/oauth/token", "/oauth/introspect", "/oauth/revoke"] {
        let request =
            || s.http.post(s.url(path)).basic_auth(&id, Some(&secret)).header("content-type", form).body(body);
        let once = Response::read(request().send().await.unwrap()).await;
        assert_eq!(once.status, 200, "{path}: {}", once.text);
        let two_auth = Response::read(request().basic_auth(&id, Some(&secret)).send().await.unwrap()).await;
        check(&two_auth, 400, "invalid_request");
        let two_types = Response::read(request().header("content-type", form).send().await.unwrap()).await;
        check(&two_types, 400, "invalid_request");
        for (what, r) in [("Authorization", &two_auth), ("Content-Type", &two_types)] {
            let description = r.body["error_description"].as_str().unwrap();
            assert!(description.contains(&format!("{what} is given more than once")), "{path}: {}", r.text);
        }
    }
}

#[tokio::test]
async fn discovery_documents() {
    let s = server().await;
    let m = s.call(Method::GET, "/.well-known/oauth-authorization-server", None, None).await;
    assert_eq!(m.status, 200);
    assert_eq!(m.body["issuer"], s.base_url.as_str());
    assert_eq!(m.body["token_endpoint"], format!("{}/oauth/token", s.base_url));
    assert_eq!(m.body["grant_types_supported"], json!(["client_credentials"]));
    let jwks_uri = m.body["jwks_uri"].as_str().unwrap();
    let jwks = s.http.get(jwks_uri).send().await.unwrap();
    assert_eq!(jwks.headers()["content-type"], "application/jwk-set+json");
    let jwks: Value = jwks.json().await.unwrap();
    let key = &jwks["keys"][0];
    assert_eq!(key["kty"], "RSA");
    assert_eq!(key["alg"], "RS256");
    for private in ["d", "p", "q", "dp", "dq", "qi"] {
        assert!(key.get(private).is_none(), "private member {private} published");
    }
}

#[tokio::test]
async fn revoking_clients_and_tokens() {
    let s = server().await;
    let (id, secret) = client_with(&s, &["resource:read"]).await;
    let t1 = token(&s, &id, &secret).await;
    let t2 = token(&s, &id, &secret).await;
    let introspect = |t: String| {
        let (s, id, secret) = (&s, id.clone(), secret.clone());
        async move {
            let r = s
                .http
                .post(s.url("/oauth/introspect"))
                .basic_auth(&id, Some(&secret))
                .form(&[("token", t)])
                .send()
                .await
                .unwrap();
            r.json::<Value>().await.unwrap()
        }
    };
    let active = introspect(t1.clone()).await;
    assert_eq!(active["active"], true);
    assert_eq!(active["client_id"], id.as_str());
    assert_eq!(introspect("not.a.token".into()).await, json!({"active": false}));

    // RFC 7009: revoke one token; 200 for garbage too.
    let r = s
        .http
        .post(s.url("/oauth/revoke"))
        .basic_auth(&id, Some(&secret))
        .form(&[("token", &t1)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = s
        .http
        .post(s.url("/oauth/revoke"))
        .basic_auth(&id, Some(&secret))
        .form(&[("token", "garbage")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = s.http.post(s.url("/oauth/revoke")).form(&[("token", &t2)]).send().await.unwrap();
    assert_eq!(r.status(), 401, "revocation needs client authentication");
    with_bearer(&s, Method::GET, "/v1/resource", &t1, None).await.assert_error(401, "AUTHENTICATION_FAILED");
    assert_eq!(introspect(t1).await["active"], false);
    assert_eq!(with_bearer(&s, Method::GET, "/v1/resource", &t2, None).await.status, 200);

    // Revoking the client ends its tokens on the very next request.
    let started = std::time::Instant::now();
    let revoked = s.call(Method::DELETE, &format!("/v1/clients/{id}"), Some(&s.admin_key), None).await;
    assert_eq!(revoked.body["status"], "revoked");
    let r = with_bearer(&s, Method::GET, "/v1/resource", &t2, None).await;
    r.assert_error(401, "AUTHENTICATION_FAILED");
    assert!(r.header("www-authenticate").unwrap().contains("invalid_token"));
    assert!(started.elapsed() < Duration::from_secs(1));
    let again = token_request(&s, Some((&id, &secret)), &[("grant_type", "client_credentials")]).await;
    assert_eq!(again.body["error"], "invalid_client");
}

#[tokio::test]
async fn signing_key_rotation_keeps_old_tokens_until_they_expire() {
    let s = server_with(&[("TOLLGATE_TOKEN_TTL", "6s"), ("TOLLGATE_TOKEN_LEEWAY", "0s")]).await;
    let (id, secret) = client_with(&s, &["resource:read"]).await;
    let old = token(&s, &id, &secret).await;
    let issued = std::time::Instant::now();
    let kid = |t: &str| -> String {
        let h: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(t.split('.').next().unwrap()).unwrap()).unwrap();
        h["kid"].as_str().unwrap().to_owned()
    };
    let env = [("TOLLGATE_TOKEN_TTL", "6s"), ("TOLLGATE_TOKEN_LEEWAY", "0s")];
    let out = s.cli(&["signing-keys", "rotate"], None, &env);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // Servers reload keys within seconds; a token signed with the new key forces a reload at once.
    let mut new = token(&s, &id, &secret).await;
    for _ in 0..60 {
        if kid(&new) != kid(&old) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        new = token(&s, &id, &secret).await;
    }
    assert_ne!(kid(&new), kid(&old), "the server never switched to the new key");
    let jwks: Value = s.http.get(s.url("/.well-known/jwks.json")).send().await.unwrap().json().await.unwrap();
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 2, "both keys are published during the overlap");
    assert_eq!(with_bearer(&s, Method::GET, "/v1/resource", &old, None).await.status, 200);
    assert_eq!(with_bearer(&s, Method::GET, "/v1/resource", &new, None).await.status, 200);
    // Once the old token has expired, it is refused and its key leaves the JWKS.
    tokio::time::sleep(Duration::from_millis(7200).saturating_sub(issued.elapsed())).await;
    with_bearer(&s, Method::GET, "/v1/resource", &old, None).await.assert_error(401, "AUTHENTICATION_FAILED");
    // Each server reloads its key set every few seconds; allow it that long under load.
    let mut jwks: Value = Value::Null;
    for _ in 0..50 {
        jwks = s.http.get(s.url("/.well-known/jwks.json")).send().await.unwrap().json().await.unwrap();
        if jwks["keys"].as_array().unwrap().len() == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 1);
    assert_eq!(jwks["keys"][0]["kid"], kid(&new).as_str());
    let fresh = token(&s, &id, &secret).await;
    assert_eq!(with_bearer(&s, Method::GET, "/v1/resource", &fresh, None).await.status, 200);
}

/// The server's current RSA private key, read from its database, to forge test tokens with.
fn server_signing_key(s: &TestServer) -> (String, Vec<u8>) {
    let hex = if s.database_url().is_some() { "encode(private_der, 'hex')" } else { "hex(private_der)" };
    let kid = s.query("SELECT kid FROM signing_keys WHERE retire_at IS NULL").remove(0);
    let der = s.query(&format!("SELECT {hex} FROM signing_keys WHERE kid = '{kid}'")).remove(0);
    let bytes = (0..der.len()).step_by(2).map(|i| u8::from_str_radix(&der[i..i + 2], 16).unwrap()).collect();
    (kid, bytes)
}

#[tokio::test]
async fn forged_and_tampered_tokens_are_refused() {
    let s = server().await;
    let (id, secret) = client_with(&s, &["resource:read"]).await;
    let good = token(&s, &id, &secret).await;
    let (kid, der) = server_signing_key(&s);
    let claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(good.split('.').nth(1).unwrap()).unwrap()).unwrap();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let sign = |claims: &Value, kid: &str, typ: &str| {
        let mut h = Header::new(Algorithm::RS256);
        h.kid = Some(kid.to_owned());
        h.typ = Some(typ.to_owned());
        jsonwebtoken::encode(&h, claims, &EncodingKey::from_rsa_der(&der)).unwrap()
    };
    let with = |k: &str, v: Value| {
        let mut c = claims.clone();
        c[k] = v;
        c
    };
    // Control: a token we sign the same way is accepted, so the refusals below are meaningful.
    assert_eq!(with_bearer(&s, Method::GET, "/v1/resource", &sign(&claims, &kid, "at+jwt"), None).await.status, 200);

    let jwks: Value = s.http.get(s.url("/.well-known/jwks.json")).send().await.unwrap().json().await.unwrap();
    let n = jwks["keys"][0]["n"].as_str().unwrap();
    let b64 = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string());
    let alg_none = format!("{}.{}.", b64(&json!({"alg": "none", "typ": "at+jwt", "kid": kid})), b64(&claims));
    // HS256 "signed" with the public key as the secret: the classic algorithm confusion.
    let mut hs = Header::new(Algorithm::HS256);
    hs.kid = Some(kid.clone());
    hs.typ = Some("at+jwt".into());
    let hs256 = jsonwebtoken::encode(&hs, &claims, &EncodingKey::from_secret(n.as_bytes())).unwrap();
    let mut tampered: Vec<String> = good.split('.').map(str::to_owned).collect();
    tampered[1] = b64(&with("scope", json!("resource:read resource:write admin")));
    let tampered = tampered.join(".");
    let forged = [
        ("alg none", alg_none),
        ("HS256 with the public key", hs256),
        ("tampered payload", tampered),
        ("expired", sign(&with("exp", json!(now - 120)), &kid, "at+jwt")),
        ("not yet valid", sign(&with("nbf", json!(now + 600)), &kid, "at+jwt")),
        ("wrong iss", sign(&with("iss", json!("https://evil.example")), &kid, "at+jwt")),
        ("wrong aud", sign(&with("aud", json!("https://other.example/v1")), &kid, "at+jwt")),
        ("unknown kid", sign(&claims, "sk_unknown", "at+jwt")),
        ("wrong typ", sign(&claims, &kid, "JWT")),
        ("other project", sign(&with("project", json!("prj_01ARZ3NDEKTSV4RRFFQ69G5FAV")), &kid, "at+jwt")),
        ("unknown client", sign(&with("client_id", json!("tgc_AAAAAAAAAAAAAAAAAAAAAAAA")), &kid, "at+jwt")),
        ("garbage", "a.b.c".to_owned()),
        ("not even a jwt", "hello".to_owned()),
    ];
    for (what, token) in forged {
        let r = with_bearer(&s, Method::GET, "/v1/resource", &token, None).await;
        assert_eq!(r.status, 401, "{what} got in: {}", r.text);
        r.assert_error(401, "AUTHENTICATION_FAILED");
    }
}
