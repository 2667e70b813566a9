//! A NUL character (U+0000) in any text a request carries (path, query, body) is answered with
//! a 4xx before it reaches a query, and alike on both backends: PostgreSQL cannot bind a NUL
//! (`invalid byte sequence for encoding "UTF8": 0x00`), SQLite can, so an unchecked one was a
//! 500 on one backend and an answer on the other. The expectations are exact (status, code and
//! the fields `details` names), so a run on each backend checks that both answer the same.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use reqwest::Method;
use serde_json::{json, Value};
use tollgate_testkit::{Response, TestServer};

use crate::{server, widget};

const NUL: &str = "must not contain NUL characters";

/// Method, path, JSON body, expected status, expected code, the field `details` names (with
/// the reason, when it is the NUL rule's).
type Case = (Method, String, Option<Value>, u16, &'static str, Option<(&'static str, Option<&'static str>)>);

fn not_found(method: Method, path: &str) -> Case {
    (method, path.to_owned(), None, 404, "NOT_FOUND", None)
}

fn refused(method: Method, path: &str, body: Option<Value>, field: &'static str, reason: Option<&'static str>) -> Case {
    (method, path.to_owned(), body, 400, "VALIDATION_FAILED", Some((field, reason)))
}

/// An order cursor as the server writes one, with a NUL in its sort value.
fn forged_cursor() -> String {
    let id = "res_01JD3Z00000000000000000000";
    URL_SAFE_NO_PAD.encode(json!(["v3", "attributes.k", ["a\u{0}b"], id]).to_string())
}

fn cases(resource: &str, key: &str, whk: &str) -> Vec<Case> {
    use Method as M;
    let cursor = forged_cursor();
    vec![
        // Resource listing: filter values, sort, search, cursor, fields, ranges, parameter names.
        refused(M::GET, "/v1/resource?attributes%5Bk%5D=%00", None, "attributes[k]", Some(NUL)),
        refused(M::GET, "/v1/resource?attributes%5Bk%5D=a%00b&sort=attributes.k", None, "attributes[k]", Some(NUL)),
        refused(M::GET, "/v1/resource?attributes%5Bk%00%5D=a", None, "attributes[k\u{0}]", None),
        refused(M::GET, "/v1/resource?type=w%00", None, "type", None),
        refused(M::GET, "/v1/resource?status=%00", None, "status", None),
        refused(M::GET, "/v1/resource?sort=attributes.k%00", None, "sort", None),
        refused(M::GET, "/v1/resource?fields=name%00", None, "fields", None),
        refused(M::GET, "/v1/resource?q=%00", None, "q", None),
        refused(M::GET, "/v1/resource?created_after=%00", None, "created_after", None),
        refused(M::GET, &format!("/v1/resource?sort=attributes.k&cursor={cursor}"), None, "cursor", None),
        refused(M::GET, "/v1/resource?cursor=%00", None, "cursor", None),
        // Resources by id, and writes.
        not_found(M::GET, "/v1/resource/res_%00"),
        not_found(M::PATCH, "/v1/resource/res_%00"),
        not_found(M::DELETE, "/v1/resource/%00"),
        refused(M::POST, "/v1/resource", Some(json!({"name": "a\u{0}", "type": "widget"})), "name", None),
        refused(M::POST, "/v1/resource", Some(json!({"name": "a", "type": "w\u{0}"})), "type", None),
        refused(
            M::POST,
            "/v1/resource",
            Some(json!({"name": "a", "type": "widget", "data": {"k\u{0}": 1}})),
            "data",
            Some(NUL),
        ),
        refused(
            M::POST,
            "/v1/resource",
            Some(json!({"name": "a", "type": "widget", "attributes": {"k": "\u{0}"}})),
            "attributes.k",
            None,
        ),
        refused(
            M::PATCH,
            &format!("/v1/resource/{resource}"),
            Some(json!({"data": {"k": "\u{0}"}})),
            "data",
            Some(NUL),
        ),
        // Resource types: the name in the path, and every member of a definition.
        not_found(M::GET, "/v1/types/%00"),
        not_found(M::DELETE, "/v1/types/tyn1%00"),
        (M::PUT, "/v1/types/tyn1%00".into(), Some(json!({"schema": {}})), 404, "NOT_FOUND", None),
        refused(
            M::POST,
            "/v1/types",
            Some(json!({"name": "tyn2", "description": "d\u{0}", "schema": {}})),
            "description",
            Some(NUL),
        ),
        refused(M::POST, "/v1/types", Some(json!({"name": "tyn2\u{0}"})), "name", Some(NUL)),
        refused(
            M::POST,
            "/v1/types",
            Some(json!({"name": "tyn2", "schema": {"properties": {"a\u{0}": {}}}})),
            "schema",
            Some(NUL),
        ),
        refused(
            M::POST,
            "/v1/types",
            Some(json!({"name": "tyn2", "schema": {"enum": ["\u{0}"]}})),
            "schema",
            Some(NUL),
        ),
        refused(
            M::POST,
            "/v1/types",
            Some(json!({"name": "tyn2", "schema": {"$comment": "\u{0}"}})),
            "schema",
            Some(NUL),
        ),
        refused(
            M::POST,
            "/v1/types",
            Some(json!({"name": "tyn2", "attributes": {"k": {"enum": ["\u{0}"]}}})),
            "attributes",
            Some(NUL),
        ),
        refused(
            M::PUT,
            "/v1/types/tyn1",
            Some(json!({"description": "x\u{0}", "schema": {}})),
            "description",
            Some(NUL),
        ),
        refused(M::PATCH, "/v1/project", Some(json!({"require_registered_types": "\u{0}"})), "body", None),
        // Events.
        not_found(M::GET, "/v1/events/evt_%00"),
        refused(M::GET, "/v1/events?resource_type=%00", None, "resource_type", None),
        refused(M::GET, "/v1/events?resource_id=res_%00", None, "resource_id", None),
        refused(M::GET, "/v1/events?type=resource.created%00", None, "type", None),
        refused(M::GET, "/v1/events?cursor=%00", None, "cursor", None),
        refused(M::GET, "/v1/events/stream?last_event_id=evt_%00", None, "last_event_id", None),
        // API keys and OAuth clients.
        not_found(M::GET, "/v1/keys/key_%00"),
        not_found(M::PATCH, "/v1/keys/key_%00"),
        not_found(M::DELETE, "/v1/keys/%00"),
        not_found(M::POST, "/v1/keys/key_%00/rotate"),
        not_found(M::GET, "/v1/clients/tgc_%00"),
        not_found(M::POST, "/v1/clients/tgc_%00/rotate"),
        refused(M::POST, "/v1/keys", Some(json!({"name": "a\u{0}", "scopes": ["resource:read"]})), "name", None),
        refused(M::POST, "/v1/clients", Some(json!({"name": "a", "scopes": ["resource:read\u{0}"]})), "scopes", None),
        refused(M::PATCH, &format!("/v1/keys/{key}"), Some(json!({"name": "x\u{0}"})), "name", None),
        // Webhooks and their deliveries.
        not_found(M::GET, "/v1/webhooks/whk_%00"),
        not_found(M::GET, "/v1/webhooks/x%00"),
        not_found(M::GET, "/v1/webhooks/whk_%00/deliveries"),
        not_found(M::POST, "/v1/webhooks/whk_%00/test"),
        not_found(M::DELETE, "/v1/webhooks/whk_%00"),
        not_found(M::POST, "/v1/webhooks/whk_%00/deliveries/dlv_%00/replay"),
        not_found(M::POST, &format!("/v1/webhooks/{whk}/deliveries/dlv_%00/replay")),
        refused(M::POST, "/v1/webhooks", Some(json!({"url": "https://example.com/\u{0}"})), "url", None),
        refused(
            M::POST,
            "/v1/webhooks",
            Some(json!({"url": "https://example.com/", "event_types": ["\u{0}"]})),
            "event_types",
            None,
        ),
        // Usage and history.
        not_found(M::GET, "/v1/usage/credentials/key_%00/hourly"),
        refused(M::GET, "/v1/usage?%00=1", None, "\u{0}", None),
        refused(M::GET, "/v1/metrics/history?minutes=%00", None, "minutes", None),
        // The console's assets.
        not_found(M::GET, "/console/%00"),
    ]
}

async fn send(s: &TestServer, method: Method, path: &str, body: Option<&Value>) -> Response {
    s.call(method, path, Some(&s.admin_key), body).await
}

#[tokio::test]
async fn a_nul_anywhere_is_refused_before_any_query() {
    let s = server().await;
    let resource = send(&s, Method::POST, "/v1/resource", Some(&widget("seed"))).await;
    let resource = resource.body["id"].as_str().unwrap().to_owned();
    let ty = send(&s, Method::POST, "/v1/types", Some(&json!({"name": "tyn1", "schema": {}}))).await;
    assert_eq!(ty.status, 201, "{}", ty.text);
    let keys = send(&s, Method::GET, "/v1/keys", None).await;
    let key = keys.body["items"][0]["id"].as_str().unwrap().to_owned();
    let whk = format!("whk_{}", ulid::Ulid::new());
    let before = (s.count_rows("resources"), s.count_rows("resource_types"), s.count_rows("credentials"));
    let mut failures = Vec::new();
    for (method, path, body, status, code, field) in cases(&resource, &key, &whk) {
        let r = send(&s, method.clone(), &path, body.as_ref()).await;
        let e = &r.body["error"];
        let named = field
            .is_none_or(|(f, reason)| e["details"].get(f).is_some_and(|got| reason.is_none_or(|reason| got == reason)));
        if r.status != status || e["code"] != code || !named {
            failures.push(format!("{method} {path}: {} {}", r.status, r.text));
        } else {
            r.assert_error(status, code);
        }
    }
    assert!(failures.is_empty(), "{} case(s) answered otherwise:\n{}", failures.len(), failures.join("\n"));
    let after = (s.count_rows("resources"), s.count_rows("resource_types"), s.count_rows("credentials"));
    assert_eq!(before, after, "a refused request wrote nothing");
}

/// OAuth's endpoints answer in RFC 6749's format rather than the envelope: still a 4xx.
#[tokio::test]
async fn a_nul_in_an_oauth_form_is_a_client_error() {
    let s = server().await;
    let forms: [&[(&str, &str)]; 3] = [
        &[("grant_type", "client_credentials"), ("client_id", "tgc_\u{0}"), ("client_secret", "\u{0}")],
        &[("grant_type", "client_credentials\u{0}")],
        &[("token", "\u{0}"), ("client_id", "tgc_\u{0}"), ("client_secret", "x")],
    ];
    for path in ["/oauth/token", "/oauth/introspect", "/oauth/revoke"] {
        for form in forms {
            let r = Response::read(s.http.post(s.url(path)).form(form).send().await.unwrap()).await;
            assert!(r.status.is_client_error(), "{path} {form:?}: {} {}", r.status, r.text);
            assert!(r.body["error"].is_string(), "{path} {form:?}: {}", r.text);
        }
    }
}
