//! Listing over HTTP: `sort`, the time ranges, `fields` and `include_total`, cursors that keep
//! their order, and a 400 naming the parameter for anything malformed.

use reqwest::Method;
use serde_json::{json, Value};

use crate::server;

fn ids(body: &Value) -> Vec<String> {
    body["items"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn sort_ranges_fields_and_totals() {
    let s = server().await;
    let k = Some(s.admin_key.as_str());
    let mut created = Vec::new();
    for (name, region) in [("b", "us"), ("a", "eu"), ("c", "eu"), ("a", "ap")] {
        let body =
            json!({"name": name, "type": "machine", "attributes": {"region": region}, "data": {"cpus": 2, "ram": 4}});
        let r = s.call(Method::POST, "/v1/resource", k, Some(&body)).await;
        created.push(r.body.clone());
    }
    let id = |i: usize| created[i]["id"].as_str().unwrap().to_owned();

    // Name, then region descending; two pages by cursor, keeping the sort.
    let r = s.call(Method::GET, "/v1/resource?sort=name,-attributes.region&per_page=2&cursor=", k, None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(ids(&r.body), [id(1), id(3)]);
    let next = r.body["next_cursor"].as_str().unwrap().to_owned();
    let r = s
        .call(Method::GET, &format!("/v1/resource?sort=name,-attributes.region&per_page=2&cursor={next}"), k, None)
        .await;
    assert_eq!(ids(&r.body), [id(0), id(2)]);
    assert_eq!(r.body["has_next"], false);
    // A cursor read under another sort is refused, not misread.
    let r = s.call(Method::GET, &format!("/v1/resource?sort=-name&cursor={next}"), k, None).await;
    assert!(r.assert_error(400, "VALIDATION_FAILED")["cursor"].as_str().unwrap().contains("another sort"));

    // Ranges and the total, only when asked.
    let after = created[1]["created_at"].as_str().unwrap();
    let r = s
        .call(Method::GET, &format!("/v1/resource?created_after={after}&include_total=true&sort=-created_at"), k, None)
        .await;
    assert_eq!((ids(&r.body), r.body["total"].clone()), (vec![id(3), id(2)], json!(2)));
    let r = s.call(Method::GET, "/v1/resource", k, None).await;
    assert!(r.body.get("total").is_none());

    // Sparse fieldsets: the id always, then what was asked.
    let r = s.call(Method::GET, "/v1/resource?fields=name,attributes.region,data.cpus&per_page=1", k, None).await;
    assert_eq!(
        r.body["items"][0],
        json!({"id": id(0), "name": "b", "attributes": {"region": "us"}, "data": {"cpus": 2}})
    );

    // A read by id takes the same fieldsets, keeps its ETag, and refuses anything else.
    let one = format!("/v1/resource/{}", id(0));
    let whole = s.call(Method::GET, &one, k, None).await;
    let r = s.call(Method::GET, &format!("{one}?fields=name,attributes.region,data.cpus"), k, None).await;
    assert_eq!(r.body, json!({"id": id(0), "name": "b", "attributes": {"region": "us"}, "data": {"cpus": 2}}));
    assert_eq!(r.header("etag"), whole.header("etag"));
    assert_eq!(s.call(Method::GET, &format!("{one}?"), k, None).await.body, whole.body, "an empty query is none");
    for (query, param) in [("bogus=1", "bogus"), ("fields=secret", "fields"), ("fields=name&fields=type", "fields")] {
        let r = s.call(Method::GET, &format!("{one}?{query}"), k, None).await;
        assert!(r.assert_error(400, "VALIDATION_FAILED").get(param).is_some(), "{query}: {}", r.text);
    }

    // Nothing malformed is ignored: each names its parameter.
    for (query, param) in [
        ("sort=size", "sort"),
        ("sort=name,name", "sort"),
        ("created_after=yesterday", "created_after"),
        ("updated_before=2026-13-01T00:00:00Z", "updated_before"),
        ("fields=name,secret", "fields"),
        ("include_total=yes", "include_total"),
        ("cursor=garbage", "cursor"),
    ] {
        let r = s.call(Method::GET, &format!("/v1/resource?{query}"), k, None).await;
        assert!(r.assert_error(400, "VALIDATION_FAILED").get(param).is_some(), "{query}: {}", r.text);
    }
}

#[tokio::test]
async fn full_text_search_over_http() {
    let s = server().await;
    let k = Some(s.admin_key.as_str());
    for (name, os) in [("Build server", "Debian"), ("Mail server", "Alpine"), ("Printer", "none")] {
        let body = json!({"name": name, "type": "machine", "data": {"os": os}});
        assert_eq!(s.call(Method::POST, "/v1/resource", k, Some(&body)).await.status, 201);
    }
    // Findable the moment the 201 is sent; ranked, then by id.
    let r = s.call(Method::GET, "/v1/resource?q=servers&include_total=true", k, None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["total"], 2);
    let r = s.call(Method::GET, "/v1/resource?q=%22build%20server%22%20debian", k, None).await;
    assert_eq!(r.body["items"][0]["name"], "Build server");
    assert_eq!(r.body["items"].as_array().unwrap().len(), 1);
    // With a sort, results page by cursor; by relevance, by page number.
    let r = s.call(Method::GET, "/v1/resource?q=server&sort=name&per_page=1&cursor=", k, None).await;
    assert_eq!(r.body["items"][0]["name"], "Build server");
    assert!(r.body["next_cursor"].is_string());
    for (query, param) in [("q=server&cursor=", "cursor"), ("q=the", "q"), (&*format!("q={}", "a".repeat(501)), "q")] {
        let r = s.call(Method::GET, &format!("/v1/resource?{query}"), k, None).await;
        assert!(r.assert_error(400, "VALIDATION_FAILED").get(param).is_some(), "{query}: {}", r.text);
    }
}

/// The lists that take no parameter refuse one, as those that take some refuse the ones they do
/// not know: a 400 naming it, never a parameter silently ignored.
#[tokio::test]
async fn lists_without_parameters_refuse_any() {
    let s = crate::server_with(&[("TOLLGATE_WEBHOOK_ALLOW_LOOPBACK", "true")]).await;
    let k = Some(s.admin_key.as_str());
    let r = s.call(Method::POST, "/v1/webhooks", k, Some(&json!({"url": "http://127.0.0.1:9/h"}))).await;
    let deliveries = format!("/v1/webhooks/{}/deliveries", r.body["webhook"]["id"].as_str().unwrap());
    let paths =
        ["/v1/keys", "/v1/clients", "/v1/types", "/v1/webhooks", "/v1/usage", "/v1/usage/credentials", &deliveries];
    for path in paths {
        assert_eq!(s.call(Method::GET, path, k, None).await.status, 200, "{path}");
        assert_eq!(s.call(Method::GET, &format!("{path}?"), k, None).await.status, 200, "{path}?");
        let refused = s.call(Method::GET, &format!("{path}?nope=1"), k, None).await;
        assert!(refused.assert_error(400, "VALIDATION_FAILED")["nope"].is_string(), "{path}");
    }
    let refused = s.call(Method::GET, &format!("{deliveries}?limit=abc"), k, None).await;
    assert!(refused.assert_error(400, "VALIDATION_FAILED")["limit"].is_string());
}
