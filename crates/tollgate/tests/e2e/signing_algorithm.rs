//! Changing `jwt_algorithm` between restarts: the server rotates to a key of the new algorithm
//! at start, keeps the previous key published until its tokens expire, and never makes a key
//! on a request (the JWKS and the token endpoint only read).

use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::Value;
use tollgate_testkit::{Response, TestServer};

use crate::bin;
use crate::oauth::{client_with, token};

fn header(token: &str) -> Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(token.split('.').next().unwrap()).unwrap()).unwrap()
}

async fn read_with(s: &TestServer, token: &str) -> Response {
    Response::read(s.http.get(s.url("/v1/resource")).bearer_auth(token).send().await.unwrap()).await
}

async fn jwks(s: &TestServer) -> Vec<Value> {
    let r: Value = s.http.get(s.url("/.well-known/jwks.json")).send().await.unwrap().json().await.unwrap();
    r["keys"].as_array().unwrap().clone()
}

async fn start(alg: &str, after: Option<&TestServer>) -> TestServer {
    let mut b = TestServer::builder(bin())
        .env("TOLLGATE_JWT_ALGORITHM", alg)
        .env("TOLLGATE_TOKEN_TTL", "6s")
        .env("TOLLGATE_TOKEN_LEEWAY", "0s")
        // The issuer must not change with the port, or the first server's tokens would not verify.
        .env("TOLLGATE_PUBLIC_URL", "http://tollgate.test");
    if let Some(previous) = after {
        b = b.data_dir_of(previous);
    }
    b.start().await
}

#[tokio::test]
async fn restarting_with_another_algorithm_rotates_and_keeps_old_tokens_until_they_expire() {
    let mut es = start("ES256", None).await;
    let admin = es.admin_key.clone();
    let (id, secret) = client_with(&es, &["resource:read"]).await;
    let old = token(&es, &id, &secret).await;
    let issued = Instant::now();
    assert_eq!(header(&old)["alg"], "ES256");
    es.kill9();

    let mut rs = start("RS256", Some(&es)).await;
    rs.admin_key = admin;
    // Unauthenticated JWKS requests read the keys; they never make one.
    for _ in 0..5 {
        assert_eq!(jwks(&rs).await.len(), 2);
    }
    assert_eq!(rs.count_rows("signing_keys"), 2, "one key per algorithm, made at start");
    let keys = jwks(&rs).await;
    let algs: Vec<&str> = keys.iter().map(|k| k["alg"].as_str().unwrap()).collect();
    assert!(algs.contains(&"ES256") && algs.contains(&"RS256"), "{algs:?}");

    let new = token(&rs, &id, &secret).await;
    assert_eq!(header(&new)["alg"], "RS256");
    assert_eq!(read_with(&rs, &new).await.status, 200);
    assert_eq!(read_with(&rs, &old).await.status, 200, "an ES256 token verifies until it expires");
    let logs = rs.logs().join("\n");
    assert!(logs.contains("rotated to a new key"), "the rotation is logged:\n{logs}");

    // Once the old token has expired it is refused, and its key leaves the JWKS.
    tokio::time::sleep(Duration::from_millis(7200).saturating_sub(issued.elapsed())).await;
    read_with(&rs, &old).await.assert_error(401, "AUTHENTICATION_FAILED");
    // Each server reloads its key set every few seconds; allow it that long under load.
    let mut keys = jwks(&rs).await;
    for _ in 0..50 {
        if keys.len() == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        keys = jwks(&rs).await;
    }
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert_eq!(keys[0]["alg"], "RS256");

    // A restart with the same algorithm changes nothing.
    rs.restart().await;
    assert_eq!(rs.count_rows("signing_keys"), 2);
    assert_eq!(read_with(&rs, &token(&rs, &id, &secret).await).await.status, 200);
}
