//! Projects: a credential sees only its own project's resources, keys and clients; everything
//! else answers 404 exactly as a missing one does.

use reqwest::Method;
use serde_json::{json, Value};

use crate::oauth::{client_with, token};
use crate::{server, widget};

#[tokio::test]
async fn projects_are_isolated() {
    let s = server().await;
    let out = s.cli(&["projects", "create", "other"], None, &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!s.cli(&["projects", "create", "other"], None, &[]).status.success(), "duplicate project");
    assert!(!s.cli(&["projects", "create", "Bad Name"], None, &[]).status.success());
    let list: Value =
        serde_json::from_slice(&s.cli(&["projects", "list", "--output", "json"], None, &[]).stdout).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 2);

    let out = s.cli(
        &["keys", "create", "--name", "o", "--scopes", "admin,resource:read,resource:write", "--project", "other"],
        None,
        &[],
    );
    let other_key = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let out = s.cli(
        &[
            "clients",
            "create",
            "--name",
            "oc",
            "--scopes",
            "resource:read,resource:write",
            "--project",
            "other",
            "--output",
            "json",
        ],
        None,
        &[],
    );
    let oc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let other_token = token(&s, oc["client_id"].as_str().unwrap(), oc["client_secret"].as_str().unwrap()).await;

    let mine = s.call(Method::POST, "/v1/resource", Some(&s.admin_key), Some(&widget("mine"))).await;
    let path = format!("/v1/resource/{}", mine.body["id"].as_str().unwrap());
    let (my_client, _) = client_with(&s, &["resource:read"]).await;
    let my_key_id = s.call(Method::GET, "/v1/keys", Some(&s.admin_key), None).await.body["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let key_call = |m: Method, p: String, b: Option<Value>| {
        let (s, k) = (&s, other_key.clone());
        async move { s.call(m, &p, Some(&k), b.as_ref()).await }
    };
    let token_call = |m: Method, p: String, b: Option<Value>| {
        let (s, t) = (&s, other_token.clone());
        async move {
            let mut req = s.http.request(m, s.url(&p)).bearer_auth(&t);
            if let Some(b) = b {
                req = req.json(&b);
            }
            tollgate_testkit::Response::read(req.send().await.unwrap()).await
        }
    };
    for who in ["key", "token"] {
        let call = |m: Method, p: String, b: Option<Value>| async {
            if who == "key" {
                key_call(m, p, b).await
            } else {
                token_call(m, p, b).await
            }
        };
        let missing = call(Method::GET, "/v1/resource/res_01ARZ3NDEKTSV4RRFFQ69G5FAV".into(), None).await;
        let foreign = call(Method::GET, path.clone(), None).await;
        foreign.assert_error(404, "NOT_FOUND");
        assert_eq!(foreign.body["error"]["message"], missing.body["error"]["message"]);
        call(Method::PATCH, path.clone(), Some(json!({"name": "stolen"}))).await.assert_error(404, "NOT_FOUND");
        call(Method::DELETE, path.clone(), None).await.assert_error(404, "NOT_FOUND");
        for q in ["", "?type=widget", "?attributes[colour]=red", "?status=active", "?cursor="] {
            let r = call(Method::GET, format!("/v1/resource{q}"), None).await;
            assert_eq!(r.status, 200, "{q}");
            assert_eq!(r.body["items"], json!([]), "{who} saw another project's resources with {q}");
        }
    }
    // Admins manage only their own project's credentials.
    key_call(Method::GET, format!("/v1/keys/{my_key_id}"), None).await.assert_error(404, "NOT_FOUND");
    key_call(Method::DELETE, format!("/v1/keys/{my_key_id}"), None).await.assert_error(404, "NOT_FOUND");
    key_call(Method::GET, format!("/v1/clients/{my_client}"), None).await.assert_error(404, "NOT_FOUND");
    key_call(Method::POST, format!("/v1/clients/{my_client}/rotate"), None).await.assert_error(404, "NOT_FOUND");
    let theirs = key_call(Method::GET, "/v1/keys".into(), None).await;
    assert_eq!(theirs.body["items"].as_array().unwrap().len(), 1);
    // Nothing changed in the default project.
    let after = s.call(Method::GET, &path, Some(&s.admin_key), None).await;
    assert_eq!(after.body, mine.body);
    assert_eq!(
        s.call(Method::GET, &format!("/v1/keys/{my_key_id}"), Some(&s.admin_key), None).await.body["status"],
        "active"
    );
}
