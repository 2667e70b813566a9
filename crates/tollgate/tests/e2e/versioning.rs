//! Versions and deprecations on the wire: `Tollgate-Version` on every answer; a deprecated form
//! (`scopes` as one string) answered with RFC 9745 `Deprecation`, RFC 8594 `Sunset` and a
//! `Link` into the changelog the server serves, and counted per route in `/metrics`; the CLI's
//! `TOLLGATE_ENDPOINT` with `TOLLGATE_URL` as a deprecated alias; `--limit unlimited`; the
//! first admin key's own limits.

use reqwest::Method;
use serde_json::json;

use crate::{server, widget};

const VERSION: &str = env!("CARGO_PKG_VERSION");

#[tokio::test]
async fn every_answer_names_the_server_version() {
    let s = server().await;
    let admin = Some(s.admin_key.as_str());
    let answers = [
        s.call(Method::GET, "/health", None, None).await,
        s.call(Method::POST, "/v1/resource", admin, Some(&widget("v"))).await,
        s.call(Method::GET, "/v1/resource", None, None).await,
        s.call(Method::GET, "/v1/nowhere", admin, None).await,
        s.call(Method::PUT, "/v1/resource", admin, None).await,
        s.call(Method::GET, "/metrics", admin, None).await,
    ];
    for r in &answers {
        assert_eq!(r.header("tollgate-version"), Some(VERSION), "{} {}", r.status, r.text);
    }
    assert_eq!(answers[0].body["version"], VERSION, "/health says the same");
    assert!(answers[0].header("deprecation").is_none(), "nothing here is deprecated");
}

#[tokio::test]
async fn a_deprecated_form_is_announced_counted_and_linked() {
    let s = server().await;
    let admin = Some(s.admin_key.as_str());
    let current = json!({"name": "array", "scopes": ["resource:read"]});
    let r = s.call(Method::POST, "/v1/keys", admin, Some(&current)).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert!(r.header("deprecation").is_none() && r.header("sunset").is_none());

    let deprecated = json!({"name": "string", "scopes": "resource:read resource:write"});
    for path in ["/v1/keys", "/v1/keys", "/v1/clients"] {
        let r = s.call(Method::POST, path, admin, Some(&deprecated)).await;
        assert_eq!(r.status, 201, "still works until its sunset: {}", r.text);
        assert!(r.text.contains(r#"["resource:read","resource:write"]"#), "{}", r.text);
        assert_eq!(r.header("deprecation"), Some("@1796083200"), "RFC 9745: an SF date");
        assert_eq!(r.header("sunset"), Some("Wed, 30 Jun 2027 23:59:59 GMT"), "RFC 8594: an HTTP date");
        let link = r.header("link").expect("a Link");
        assert_eq!(link, r#"</CHANGELOG.md#deprecation-scopes-string>; rel="deprecation"; type="text/markdown""#);
    }
    // A refused body is not a deprecated call.
    let bad = s.call(Method::POST, "/v1/keys", admin, Some(&json!({"name": "", "scopes": "admin"}))).await;
    bad.assert_error(400, "VALIDATION_FAILED");
    assert!(bad.header("deprecation").is_none());

    // The link resolves on the server that sent it, to the entry it names.
    let changelog = s.http.get(s.url("/CHANGELOG.md")).send().await.unwrap();
    assert_eq!(changelog.status(), 200);
    assert!(changelog.headers()["content-type"].to_str().unwrap().starts_with("text/markdown"));
    let text = changelog.text().await.unwrap();
    let entry = text.split(r#"<a id="deprecation-scopes-string"></a>"#).nth(1).expect("the anchor");
    assert!(entry.contains("2027-06-30"), "the entry gives the sunset date");

    let metrics = s.call(Method::GET, "/metrics", admin, None).await.text;
    for (route, n) in [("/v1/keys", 2), ("/v1/clients", 1)] {
        let line = format!(r#"tollgate_deprecated_requests_total{{deprecation="scopes-string",route="{route}"}} {n}"#);
        assert!(metrics.lines().any(|l| l == line), "no `{line}` in:\n{metrics}");
    }
}

#[tokio::test]
async fn usage_reads_tollgate_endpoint_and_warns_on_tollgate_url() {
    let s = server().await;
    let key = [("TOLLGATE_API_KEY", s.admin_key.as_str())];
    let with = |extra: &[(&'static str, &str)]| {
        let env: Vec<(&str, &str)> = key.iter().copied().chain(extra.iter().copied()).collect();
        let out = s.cli(&["usage", "--output", "json"], None, &env);
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let v1 = format!("{}/v1/", s.base_url);
    let (ok, out, err) = with(&[("TOLLGATE_ENDPOINT", &v1)]);
    assert!(ok && out.contains("\"items\""), "{out}{err}");
    assert!(!err.contains("deprecated"), "{err}");

    let (ok, out, err) = with(&[("TOLLGATE_URL", &s.base_url)]);
    assert!(ok && out.contains("\"items\""), "the alias still works: {out}{err}");
    assert!(err.contains("TOLLGATE_URL is deprecated") && err.contains("TOLLGATE_ENDPOINT"), "{err}");

    // Both set: the new name wins, silently.
    let (ok, _, err) = with(&[("TOLLGATE_ENDPOINT", &s.base_url), ("TOLLGATE_URL", "http://127.0.0.1:9")]);
    assert!(ok && !err.contains("deprecated"), "{err}");

    // A refused connection names the address it tried.
    let (ok, _, err) = with(&[("TOLLGATE_ENDPOINT", "http://127.0.0.1:9")]);
    assert!(!ok && err.contains("http://127.0.0.1:9"), "{err}");
}

#[tokio::test]
async fn limit_unlimited_sets_both_classes_for_keys_and_clients() {
    let s = server().await;
    for kind in ["keys", "clients"] {
        let out = s.cli(
            &[
                kind,
                "create",
                "--name",
                "bulk",
                "--scopes",
                "resource:write",
                "--limit",
                "unlimited",
                "--output",
                "json",
            ],
            None,
            &[],
        );
        assert!(out.status.success(), "{kind}: {}", String::from_utf8_lossy(&out.stderr));
        let list = s.cli(&[kind, "list", "--output", "json"], None, &[]);
        let list: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
        let bulk = list.as_array().unwrap().iter().find(|c| c["name"] == "bulk").expect("listed");
        assert_eq!(bulk["limits"], json!({"read": "unlimited", "write": "unlimited"}), "{kind}: {bulk}");
    }
    let key =
        s.cli(&["keys", "create", "--name", "hourly", "--scopes", "resource:read", "--limit", "5000/h"], None, &[]);
    let secret = String::from_utf8(key.stdout).unwrap().trim().to_owned();
    let r = s.call(Method::GET, "/v1/usage", Some(&secret), None).await;
    assert_eq!(
        (r.body["read"]["limit"].as_u64(), r.body["write"]["limit"].as_u64()),
        (Some(5000), Some(5000)),
        "{}",
        r.text
    );
    let bad = s.cli(&["keys", "create", "--name", "x", "--scopes", "resource:read", "--limit", "lots"], None, &[]);
    assert!(!bad.status.success());
}

#[tokio::test]
async fn the_first_admin_key_has_limits_for_administration() {
    let s = crate::server_with(&[("TOLLGATE_RATE_LIMIT_READ", "1000/h"), ("TOLLGATE_RATE_LIMIT_WRITE", "100/h")]).await;
    let r = s.call(Method::GET, "/v1/usage", Some(&s.admin_key), None).await;
    assert_eq!(r.body["read"]["limit"], 10000, "{}", r.text);
    assert_eq!(r.body["write"]["limit"], 10000, "{}", r.text);
    // A key made afterwards keeps the server's defaults.
    let other = crate::key_with(&s, &["resource:read"]).await;
    let r = s.call(Method::GET, "/v1/usage", Some(&other), None).await;
    assert_eq!(
        (r.body["read"]["limit"].as_u64(), r.body["write"]["limit"].as_u64()),
        (Some(1000), Some(100)),
        "{}",
        r.text
    );
}
