//! `POST /v1/batch` over HTTP: results in order, all-or-nothing with the failing index named,
//! malformed operations refused before any write, one write per operation against the quota,
//! and idempotent retries.

use reqwest::Method;
use serde_json::{json, Value};

use crate::{server, widget};

async fn key_with_writes(s: &tollgate_testkit::TestServer, write: &str) -> String {
    let body = json!({"name": "b", "scopes": ["resource:read", "resource:write"], "limits": {"write": write}});
    let r = s.call(Method::POST, "/v1/keys", Some(&s.admin_key), Some(&body)).await;
    r.body["secret"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn batches_apply_whole_or_not_at_all() {
    let s = server().await;
    let k = Some(s.admin_key.as_str());
    let existing =
        s.call(Method::POST, "/v1/resource", k, Some(&widget("old"))).await.body["id"].as_str().unwrap().to_owned();
    let ok = json!({"operations": [
        {"op": "create", "body": widget("a")},
        {"op": "update", "id": existing, "if_match": 1, "body": {"name": "renamed"}},
        {"op": "create", "body": widget("b")},
    ]});
    let r = s.call(Method::POST, "/v1/batch", k, Some(&ok)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let results = r.body["results"].as_array().unwrap();
    assert_eq!(results.iter().map(|r| r["status"].as_u64().unwrap()).collect::<Vec<_>>(), [201, 200, 201]);
    assert_eq!(results[1]["resource"]["version"], 2);
    let count = |s: &tollgate_testkit::TestServer| s.count_rows("resources");
    assert_eq!(count(&s), 3);

    // The last operation fails: nothing is written, and the answer names it.
    let bad = json!({"operations": [
        {"op": "create", "body": widget("c")},
        {"op": "update", "id": existing, "body": {"data": {"n": 2}}},
        {"op": "update", "id": existing, "if_match": 2, "body": {"name": "stale"}},
    ]});
    let r = s.call(Method::POST, "/v1/batch", k, Some(&bad)).await;
    let details = r.assert_error(412, "PRECONDITION_FAILED");
    assert_eq!(details["index"], 2);
    assert_eq!(count(&s), 3);
    let still = s.call(Method::GET, &format!("/v1/resource/{existing}"), k, None).await;
    assert_eq!(still.body["name"], "renamed");

    // Malformed operations are refused before any write, each named.
    let malformed = json!({"operations": [
        {"op": "create", "body": {"type": "widget"}},
        {"op": "explode"},
        {"op": "delete", "id": "nope"},
        {"op": "update", "id": existing, "body": [1]},
        {"op": "delete", "id": existing, "if_match": 9_223_372_036_854_775_808_u64},
        {"op": "delete", "id": existing, "extra": 1},
        "delete",
        {"op": "update", "id": existing, "if_match": "1", "body": {}},
        {"op": "update", "body": {}},
        {"op": "create", "body": 5},
    ]});
    let r = s.call(Method::POST, "/v1/batch", k, Some(&malformed)).await;
    let details = r.assert_error(400, "VALIDATION_FAILED").clone();
    // Each error names the member at fault, and only those are named.
    let named = [
        "operations[0].body.name",
        "operations[1].op",
        "operations[2].id",
        "operations[3].body",
        "operations[4].if_match",
        "operations[5].extra",
        "operations[6]",
        "operations[7].if_match",
        "operations[8].id",
        "operations[9].body",
    ];
    for field in named {
        assert!(details.get(field).is_some(), "{field}: {details}");
    }
    assert_eq!(details.as_object().unwrap().len(), named.len(), "{details}");
    let too_many = json!({"operations": vec![json!({"op": "create", "body": widget("x")}); 101]});
    s.call(Method::POST, "/v1/batch", k, Some(&too_many)).await.assert_error(400, "VALIDATION_FAILED");
    s.call(Method::POST, "/v1/batch", k, Some(&json!({"operations": []}))).await.assert_error(400, "VALIDATION_FAILED");
    assert_eq!(count(&s), 3);
}

#[tokio::test]
async fn a_batch_counts_one_write_per_operation() {
    let s = server().await;
    let key = key_with_writes(&s, "5/1h").await;
    let batch = |n: usize| json!({"operations": vec![json!({"op": "create", "body": widget("q")}); n]});
    // More than the whole quota: no wait would let it through, so no 429 invites a retry.
    let r = s.call(Method::POST, "/v1/batch", Some(&key), Some(&batch(6))).await;
    let details = r.assert_error(400, "VALIDATION_FAILED");
    assert!(details["operations"].as_str().is_some_and(|m| m.contains("smaller batches")), "{details}");
    assert_eq!((details["limit"].as_u64(), details["window"].as_u64()), (Some(5), Some(3600)));
    assert!(r.header("retry-after").is_none());
    assert_eq!(s.count_rows("resources"), 0, "refused whole");
    let r = s.call(Method::POST, "/v1/batch", Some(&key), Some(&batch(4))).await;
    assert_eq!(r.status, 200, "a refused batch counted nothing");
    assert!(r.header("ratelimit").is_some_and(|h| h.contains(";r=1;")), "one write left: {:?}", r.header("ratelimit"));
    s.call(Method::POST, "/v1/batch", Some(&key), Some(&batch(2))).await.assert_error(429, "RATE_LIMIT_EXCEEDED");
    assert_eq!(s.call(Method::POST, "/v1/resource", Some(&key), Some(&widget("last"))).await.status, 201);
    s.call(Method::POST, "/v1/resource", Some(&key), Some(&widget("over")))
        .await
        .assert_error(429, "RATE_LIMIT_EXCEEDED");
}

#[tokio::test]
async fn a_retried_batch_is_applied_once() {
    let s = server().await;
    let body = json!({"operations": [{"op": "create", "body": widget("a")}, {"op": "create", "body": widget("b")}]});
    let send = || {
        s.http
            .post(s.url("/v1/batch"))
            .header("x-api-key", &s.admin_key)
            .header("idempotency-key", "batch-1")
            .json(&body)
            .send()
    };
    let first = send().await.unwrap();
    assert_eq!(first.status(), 200);
    let first: Value = first.json().await.unwrap();
    let again = send().await.unwrap();
    assert_eq!(again.headers().get("idempotent-replayed").unwrap(), "true");
    assert_eq!(again.json::<Value>().await.unwrap(), first);
    assert_eq!(s.count_rows("resources"), 2);
}

#[tokio::test]
async fn every_resource_of_a_batch_is_found_as_soon_as_it_is_answered() {
    let s = server().await;
    let k = Some(s.admin_key.as_str());
    let existing =
        s.call(Method::POST, "/v1/resource", k, Some(&widget("old"))).await.body["id"].as_str().unwrap().to_owned();
    let mut operations: Vec<Value> = (0..60)
        .map(|i| {
            json!({"op": "create", "body": {"name": format!("batch{i}"), "type": "widget",
            "attributes": {"slot": format!("s{i}")}, "data": {"note": format!("marker{i}")}}})
        })
        .collect();
    operations.push(json!({"op": "update", "id": existing, "if_match": 1, "body": {"data": {"note": "markerold"}}}));
    operations.push(json!({"op": "update", "id": existing, "if_match": 2, "body": {"name": "renamed"}}));
    let r = s.call(Method::POST, "/v1/batch", k, Some(&json!({"operations": operations}))).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let results = r.body["results"].as_array().unwrap();
    assert_eq!(results[61]["resource"]["version"], 3, "the second update saw the first");
    for (i, result) in results.iter().take(60).enumerate() {
        let id = &result["resource"]["id"];
        let found = s.call(Method::GET, &format!("/v1/resource?q=marker{i}"), k, None).await;
        assert_eq!(found.body["items"].as_array().map(|a| a.iter().map(|r| &r["id"]).collect()), Some(vec![id]));
        let by_slot = s.call(Method::GET, &format!("/v1/resource?attributes%5Bslot%5D=s{i}"), k, None).await;
        assert_eq!(by_slot.body["items"][0]["id"], *id, "{}", by_slot.text);
    }
    let found = s.call(Method::GET, "/v1/resource?q=markerold%20renamed", k, None).await;
    assert_eq!(found.body["items"][0]["id"], existing.as_str(), "{}", found.text);
    assert_eq!(found.body["items"][0]["version"], 3);
}
