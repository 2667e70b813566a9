//! The resource API's happy paths: CRUD, ETags and preconditions, pagination and filters.

use reqwest::Method;
use serde_json::{json, Value};

use crate::{server, widget};

#[tokio::test]
async fn create_get_update_delete() {
    let s = server().await;
    let k = Some(s.admin_key.as_str());
    let r = s.call(Method::POST, "/v1/resource", k, Some(&widget("first"))).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let id = r.body["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("res_") && id.len() == 30);
    assert_eq!(r.header("location"), Some(format!("/v1/resource/{id}").as_str()));
    assert_eq!(r.header("etag"), Some("\"1\""));
    assert_eq!(r.body["status"], "active");
    assert_eq!(r.body["version"], 1);
    assert_eq!(r.body["created_at"], r.body["updated_at"]);
    assert!(r.body["created_at"].as_str().unwrap().ends_with('Z'));

    let g = s.call(Method::GET, &format!("/v1/resource/{id}"), k, None).await;
    assert_eq!(g.status, 200);
    assert_eq!(g.body, r.body);
    assert_eq!(g.header("etag"), Some("\"1\""));

    // Merge patch: change name, drop one attribute, add another, archive.
    let patch = json!({"name": "renamed", "status": "archived", "attributes": {"colour": null, "size": "xl"}});
    let p = s.call(Method::PATCH, &format!("/v1/resource/{id}"), k, Some(&patch)).await;
    assert_eq!(p.status, 200, "{}", p.text);
    assert_eq!(p.body["name"], "renamed");
    assert_eq!(p.body["attributes"], json!({"size": "xl"}));
    assert_eq!(p.body["version"], 2);
    assert_eq!(p.body["data"], json!({"n": 1}));
    assert_eq!(p.header("etag"), Some("\"2\""));
    assert!(p.body["updated_at"].as_str() > r.body["updated_at"].as_str());

    // A patch that changes nothing does not bump the version.
    let same = s.call(Method::PATCH, &format!("/v1/resource/{id}"), k, Some(&json!({"name": "renamed"}))).await;
    assert_eq!(same.body["version"], 2);

    let d = s.call(Method::DELETE, &format!("/v1/resource/{id}"), k, None).await;
    assert_eq!(d.status, 204);
    assert!(d.text.is_empty());
    s.call(Method::GET, &format!("/v1/resource/{id}"), k, None).await.assert_error(404, "NOT_FOUND");
    s.call(Method::DELETE, &format!("/v1/resource/{id}"), k, None).await.assert_error(404, "NOT_FOUND");
    assert_eq!(s.count_rows("resources"), 0);
    assert_eq!(s.count_rows("resource_attributes"), 0);
}

#[tokio::test]
async fn if_match_and_if_none_match() {
    let s = server().await;
    let r = s.call(Method::POST, "/v1/resource", Some(&s.admin_key), Some(&widget("a"))).await;
    let url = s.url(&format!("/v1/resource/{}", r.body["id"].as_str().unwrap()));
    let send = |m: Method, tag: &str, body: Option<Value>| {
        let mut req = s.http.request(m, &url).header("x-api-key", &s.admin_key).header("if-match", tag);
        if let Some(b) = body {
            req = req.json(&b);
        }
        async move { tollgate_testkit::Response::read(req.send().await.unwrap()).await }
    };
    // ETags are opaque: another spelling of the version's number is another tag.
    for other in ["\"01\"", "\"+1\""] {
        send(Method::PATCH, other, Some(json!({"name": "x"}))).await.assert_error(412, "PRECONDITION_FAILED");
        send(Method::DELETE, other, None).await.assert_error(412, "PRECONDITION_FAILED");
    }
    let ok = send(Method::PATCH, "\"1\"", Some(json!({"name": "b"}))).await;
    assert_eq!(ok.status, 200);
    let stale = send(Method::PATCH, "\"1\"", Some(json!({"name": "c"}))).await;
    let details = stale.assert_error(412, "PRECONDITION_FAILED");
    assert_eq!(details["current_version"], 2);
    send(Method::DELETE, "\"1\"", None).await.assert_error(412, "PRECONDITION_FAILED");
    send(Method::PATCH, "not-an-etag", Some(json!({"name": "c"}))).await.assert_error(400, "VALIDATION_FAILED");
    let star = send(Method::PATCH, "*", Some(json!({"name": "d"}))).await;
    assert_eq!(star.body["version"], 3);
    let cached =
        s.http.get(&url).header("x-api-key", &s.admin_key).header("if-none-match", "\"3\"").send().await.unwrap();
    assert_eq!(cached.status(), 304);
    assert_eq!(send(Method::DELETE, "\"3\"", None).await.status, 204);
}

#[tokio::test]
async fn pages_cursors_and_filters() {
    let s = server().await;
    let k = Some(s.admin_key.as_str());
    let mut ids = Vec::new();
    for i in 0..45 {
        let kind = if i % 3 == 0 { "gadget" } else { "widget" };
        let colour = if i % 2 == 0 { "red" } else { "blue" };
        let body = json!({"name": format!("r{i}"), "type": kind, "attributes": {"colour": colour, "i": i.to_string()},
                          "status": if i % 5 == 0 { "archived" } else { "active" }});
        let r = s.call(Method::POST, "/v1/resource", k, Some(&body)).await;
        assert_eq!(r.status, 201);
        ids.push(r.body["id"].as_str().unwrap().to_owned());
    }
    // Offset pages: default 20, stable id order, has_next.
    let p1 = s.call(Method::GET, "/v1/resource", k, None).await;
    assert_eq!(p1.body["per_page"], 20);
    assert_eq!(p1.body["page"], 1);
    assert_eq!(p1.body["has_next"], true);
    let p3 = s.call(Method::GET, "/v1/resource?page=3&per_page=20", k, None).await;
    assert_eq!(p3.body["items"].as_array().unwrap().len(), 5);
    assert_eq!(p3.body["has_next"], false);
    assert_eq!(p3.body["next_cursor"], Value::Null);
    let mut by_page = Vec::new();
    for page in 1..=3 {
        let r = s.call(Method::GET, &format!("/v1/resource?page={page}"), k, None).await;
        by_page.extend(r.body["items"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap().to_owned()));
    }
    assert_eq!(by_page, ids);

    // Cursor pages cover the same ids in the same order.
    let mut by_cursor = Vec::new();
    let mut cursor = String::new();
    loop {
        let r = s.call(Method::GET, &format!("/v1/resource?per_page=7&cursor={cursor}"), k, None).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.body["page"], Value::Null);
        by_cursor.extend(r.body["items"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap().to_owned()));
        match r.body["next_cursor"].as_str() {
            Some(c) => cursor = c.to_owned(),
            None => break,
        }
    }
    assert_eq!(by_cursor, ids);

    // Filters, alone and together.
    let count = |q: &str| {
        let q = q.to_owned();
        let s = &s;
        async move {
            let r = s.call(Method::GET, &format!("/v1/resource?per_page=100&{q}"), Some(&s.admin_key), None).await;
            assert_eq!(r.status, 200, "{}", r.text);
            r.body["items"].as_array().unwrap().len()
        }
    };
    assert_eq!(count("type=gadget").await, 15);
    assert_eq!(count("status=archived").await, 9);
    assert_eq!(count("attributes%5Bcolour%5D=red").await, 23);
    assert_eq!(count("attributes[colour]=blue&type=widget").await, 15);
    assert_eq!(count("attributes[i]=7").await, 1);
    assert_eq!(count("attributes[colour]=red&attributes[i]=7").await, 0);
    assert_eq!(count("type=nothing").await, 0);
}
