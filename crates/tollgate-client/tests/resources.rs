//! The SDK against a real server: CRUD, preconditions, typed errors, paging, rate limits.

mod common;

use std::collections::HashSet;

use futures::TryStreamExt;
use serde_json::json;
use tollgate_client::{Client, ErrorKind, ListParams, Method, NewResource, RawRequest, ResourcePatch, Status};

#[tokio::test]
async fn create_get_update_delete() {
    let s = common::server().await;
    let c = common::admin(&s);
    let new = NewResource::new("Build server", "machine").attribute("region", "eu-west-1").data(json!({"cpus": 8}));
    let created = c.create(&new).await.unwrap();
    assert!(created.id.starts_with("res_"));
    assert_eq!((created.version, created.status), (1, Status::Active));
    assert_eq!(created.attributes["region"], "eu-west-1");

    let fetched = c.get(&created.id).await.unwrap();
    assert_eq!(fetched, created);

    let patch = ResourcePatch::new().name("Renamed").attribute("tier", "gold").remove_attribute("region");
    let updated = c.update(&created.id, &patch, Some(1)).await.unwrap();
    assert_eq!((updated.name.as_str(), updated.version), ("Renamed", 2));
    assert_eq!(updated.attributes.len(), 1);
    assert_eq!(updated.attributes["tier"], "gold");

    let stale = c.update(&created.id, &ResourcePatch::new().status(Status::Archived), Some(1)).await.unwrap_err();
    assert_eq!(stale.kind(), ErrorKind::PreconditionFailed);
    assert_eq!(stale.code(), Some("PRECONDITION_FAILED"));
    assert!(stale.request_id().is_some_and(|r| !r.is_empty()));

    c.delete(&created.id, Some(2)).await.unwrap();
    let gone = c.get(&created.id).await.unwrap_err();
    assert_eq!((gone.kind(), gone.status()), (ErrorKind::NotFound, Some(404)));
    assert_eq!(s.count_rows("resources"), 0);
}

#[tokio::test]
async fn validation_permission_and_authentication_errors_are_typed() {
    let s = common::server().await;
    let c = common::admin(&s);
    let bad = c.create(&NewResource::new("", "Not A Type")).await.unwrap_err();
    assert_eq!(bad.kind(), ErrorKind::Validation);
    let details = &bad.api().unwrap().details;
    assert!(details.to_string().contains("name") && details.to_string().contains("type"), "{details}");

    let reader = common::key(&s, &["resource:read"], None).await;
    let read_only = Client::builder().endpoint(&s.base_url).api_key(reader).build().unwrap();
    let denied = read_only.create(&NewResource::new("x", "widget")).await.unwrap_err();
    assert_eq!(denied.kind(), ErrorKind::Permission);
    assert!(denied.api().unwrap().details.to_string().contains("resource:write"));

    let stranger = Client::builder().endpoint(&s.base_url).api_key("tgk_notarealkey").build().unwrap();
    let refused = stranger.get("res_01JD3Z9T6W4X8Y2K5M7N9P1Q3R").await.unwrap_err();
    assert_eq!((refused.kind(), refused.code()), (ErrorKind::Authentication, Some("AUTHENTICATION_FAILED")));
    assert_eq!(s.count_rows("resources"), 0, "nothing was written");
}

#[tokio::test]
async fn pages_and_the_cursor_stream_see_every_resource_once() {
    let s = common::server().await;
    let c = common::admin(&s);
    let mut ids = Vec::new();
    for i in 0..45 {
        let kind = if i % 3 == 0 { "gadget" } else { "widget" };
        ids.push(c.create(&NewResource::new(format!("r{i}"), kind).attribute("n", i.to_string())).await.unwrap().id);
    }
    let first = c.list(&ListParams::new().per_page(10).page(1)).await.unwrap();
    assert_eq!((first.items.len(), first.has_next, first.page), (10, true, Some(1)));
    let last = c.list(&ListParams::new().per_page(10).page(5)).await.unwrap();
    assert_eq!((last.items.len(), last.has_next), (5, false));

    let all: Vec<_> = c.list_all(ListParams::new().per_page(10)).try_collect().await.unwrap();
    let streamed: Vec<_> = all.iter().map(|r| r.id.clone()).collect();
    assert_eq!(streamed, ids, "every resource once, in id order");
    assert_eq!(streamed.iter().collect::<HashSet<_>>().len(), 45);

    let gadgets: Vec<_> = c.list_all(ListParams::new().r#type("gadget").per_page(4)).try_collect().await.unwrap();
    assert_eq!(gadgets.len(), 15);
    assert!(gadgets.iter().all(|r| r.r#type == "gadget"));
    let seven = c.list(&ListParams::new().attribute("n", "7")).await.unwrap();
    assert_eq!(seven.items.len(), 1);
}

#[tokio::test]
async fn a_rate_limited_call_says_when_to_retry() {
    let s = common::server().await;
    let limited = common::key(&s, &["resource:read", "resource:write"], Some("write=2/1m")).await;
    let c = Client::builder().endpoint(&s.base_url).api_key(limited).max_retries(0).build().unwrap();
    for i in 0..2 {
        c.create(&NewResource::new(format!("r{i}"), "widget")).await.unwrap();
    }
    let refused = c.create(&NewResource::new("r3", "widget")).await.unwrap_err();
    assert_eq!((refused.kind(), refused.code()), (ErrorKind::RateLimit, Some("RATE_LIMIT_EXCEEDED")));
    let wait = refused.retry_after().expect("retry_after");
    assert!(wait.as_secs() >= 1 && wait.as_secs() <= 60, "{wait:?}");
    assert_eq!(s.count_rows("resources"), 2);
}

#[tokio::test]
async fn the_builder_refuses_ambiguous_configuration() {
    let s = common::server().await;
    // Builder arguments win; without them the environment is read at build time.
    let missing = Client::builder().endpoint(&s.base_url).oauth_client("tgc_x", "");
    assert!(missing.build().is_ok(), "an id and a secret, even empty, are both given");
    let both = Client::builder().api_key("tgk_a").oauth_client("tgc_b", "tgs_c").build().unwrap_err();
    assert_eq!(both.kind(), ErrorKind::Config);
    let bad_endpoint = Client::builder().api_key("tgk_a").endpoint("not a url").build().unwrap_err();
    assert_eq!(bad_endpoint.kind(), ErrorKind::Config);
}

#[tokio::test]
async fn any_endpoint_through_request() {
    let s = common::server().await;
    let c = common::admin(&s);
    c.create(&NewResource::new("one", "widget")).await.unwrap();
    let usage = c.request(RawRequest::new(Method::GET, "/v1/usage")).await.unwrap();
    assert_eq!(usage["write"]["used"], 1, "{usage}");
    let body = json!({"name": "reader", "scopes": ["resource:read"]});
    let key = c.request(RawRequest::new(Method::POST, "/v1/keys").json(body)).await.unwrap();
    assert!(key["secret"].as_str().is_some_and(|k| k.starts_with("tgk_")), "{key}");
    let missing = c.request(RawRequest::new(Method::GET, "/v1/nowhere")).await.unwrap_err();
    assert_eq!(missing.kind(), ErrorKind::NotFound);
    let relative = c.request(RawRequest::new(Method::GET, "v1/usage")).await.unwrap_err();
    assert_eq!(relative.kind(), ErrorKind::Config);
}
