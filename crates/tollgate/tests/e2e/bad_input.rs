//! Bad input: every malformed request gets a 4xx in the envelope and writes nothing.

use reqwest::Method;
use serde_json::{json, Map, Value};
use tollgate_testkit::{Response, TestServer};

use crate::{server, widget};

async fn raw(s: &TestServer, method: Method, path: &str, content_type: Option<&str>, body: Vec<u8>) -> Response {
    let mut req = s.http.request(method, s.url(path)).header("x-api-key", &s.admin_key).body(body);
    if let Some(ct) = content_type {
        req = req.header("content-type", ct);
    }
    Response::read(req.send().await.unwrap()).await
}

/// What, content type, body, expected status, expected code, a field `details` must name.
type Case<'a> = (&'a str, Option<&'a str>, Vec<u8>, u16, &'a str, Option<&'a str>);

fn rows(s: &TestServer) -> (i64, i64) {
    (s.count_rows("resources"), s.count_rows("resource_attributes"))
}

#[tokio::test]
async fn malformed_bodies_write_nothing() {
    let s = server().await;
    let seed = s.call(Method::POST, "/v1/resource", Some(&s.admin_key), Some(&widget("seed"))).await;
    let id = seed.body["id"].as_str().unwrap().to_owned();
    let before = rows(&s);
    let json = Some("application/json");
    let long = "x".repeat(201);
    let many: Map<String, Value> = (0..51).map(|i| (format!("k{i}"), json!("v"))).collect();
    let mut deep = "[".repeat(10_000);
    deep.push_str(&"]".repeat(10_000));
    let cases: Vec<Case> = vec![
        ("truncated JSON", json, b"{\"name\":".to_vec(), 400, "MALFORMED_JSON", None),
        ("not JSON", json, b"name=a".to_vec(), 400, "MALFORMED_JSON", None),
        ("empty body", json, Vec::new(), 400, "MALFORMED_JSON", None),
        ("deep nesting", json, deep.into_bytes(), 400, "MALFORMED_JSON", None),
        (
            "repeated member",
            json,
            br#"{"name":"a","type":"t","name":"b"}"#.to_vec(),
            400,
            "MALFORMED_JSON",
            Some("member"),
        ),
        (
            "repeated nested member",
            json,
            br#"{"name":"a","type":"t","data":{"x":[{"k":1,"k":2}]}}"#.to_vec(),
            400,
            "MALFORMED_JSON",
            Some("member"),
        ),
        (
            "integer beyond 64 bits, which would be stored rounded",
            json,
            br#"{"name":"a","type":"t","data":{"serial":123456789012345678901234567890}}"#.to_vec(),
            400,
            "MALFORMED_JSON",
            Some("number"),
        ),
        ("invalid UTF-8", json, b"{\"name\":\"\xff\xfe\",\"type\":\"t\"}".to_vec(), 400, "MALFORMED_JSON", None),
        ("raw NUL byte", json, b"{\"name\":\"a\x00b\",\"type\":\"t\"}".to_vec(), 400, "MALFORMED_JSON", None),
        ("text/plain", Some("text/plain"), widget("a").to_string().into_bytes(), 415, "UNSUPPORTED_MEDIA_TYPE", None),
        ("form", Some("application/x-www-form-urlencoded"), b"name=a".to_vec(), 415, "UNSUPPORTED_MEDIA_TYPE", None),
        ("no content type", None, widget("a").to_string().into_bytes(), 415, "UNSUPPORTED_MEDIA_TYPE", None),
        ("array", json, b"[1,2]".to_vec(), 400, "VALIDATION_FAILED", Some("body")),
        ("missing fields", json, b"{}".to_vec(), 400, "VALIDATION_FAILED", Some("name")),
        (
            "unknown field",
            json,
            json!({"name":"a","type":"t","colour":"red"}).to_string().into_bytes(),
            400,
            "VALIDATION_FAILED",
            Some("colour"),
        ),
        (
            "read-only field",
            json,
            json!({"name":"a","type":"t","version":9}).to_string().into_bytes(),
            400,
            "VALIDATION_FAILED",
            Some("version"),
        ),
        (
            "long name",
            json,
            json!({"name":long,"type":"t"}).to_string().into_bytes(),
            400,
            "VALIDATION_FAILED",
            Some("name"),
        ),
        (
            "bad type",
            json,
            json!({"name":"a","type":"Not An Id"}).to_string().into_bytes(),
            400,
            "VALIDATION_FAILED",
            Some("type"),
        ),
        (
            "long type",
            json,
            json!({"name":"a","type":"t".repeat(65)}).to_string().into_bytes(),
            400,
            "VALIDATION_FAILED",
            Some("type"),
        ),
        (
            "bad status",
            json,
            json!({"name":"a","type":"t","status":"gone"}).to_string().into_bytes(),
            400,
            "VALIDATION_FAILED",
            Some("status"),
        ),
        (
            "51 attributes",
            json,
            json!({"name":"a","type":"t","attributes":many}).to_string().into_bytes(),
            400,
            "VALIDATION_FAILED",
            Some("attributes"),
        ),
        (
            "nested attribute",
            json,
            json!({"name":"a","type":"t","attributes":{"n":{"x":"y"}}}).to_string().into_bytes(),
            400,
            "VALIDATION_FAILED",
            Some("attributes.n"),
        ),
        (
            "number attribute",
            json,
            json!({"name":"a","type":"t","attributes":{"n":1}}).to_string().into_bytes(),
            400,
            "VALIDATION_FAILED",
            Some("attributes.n"),
        ),
        (
            "long attribute key",
            json,
            json!({"name":"a","type":"t","attributes":{"k".repeat(41):"v"}}).to_string().into_bytes(),
            400,
            "VALIDATION_FAILED",
            None,
        ),
        (
            "long attribute value",
            json,
            json!({"name":"a","type":"t","attributes":{"k":"v".repeat(501)}}).to_string().into_bytes(),
            400,
            "VALIDATION_FAILED",
            Some("attributes.k"),
        ),
        (
            "escaped NUL in name",
            json,
            br#"{"name":"a\u0000b","type":"t"}"#.to_vec(),
            400,
            "VALIDATION_FAILED",
            Some("name"),
        ),
        (
            "escaped NUL in data",
            json,
            br#"{"name":"a","type":"t","data":{"k":"\u0000"}}"#.to_vec(),
            400,
            "VALIDATION_FAILED",
            Some("data"),
        ),
        (
            "data over 256 KiB",
            json,
            json!({"name":"a","type":"t","data":"x".repeat(300_000)}).to_string().into_bytes(),
            400,
            "VALIDATION_FAILED",
            Some("data"),
        ),
        (
            "data nested 65 levels",
            json,
            format!(r#"{{"name":"a","type":"t","data":{}1{}}}"#, "[".repeat(65), "]".repeat(65)).into_bytes(),
            400,
            "VALIDATION_FAILED",
            Some("data"),
        ),
        (
            "2 MiB body",
            json,
            json!({"name":"a","type":"t","data":"x".repeat(2 * 1024 * 1024)}).to_string().into_bytes(),
            413,
            "PAYLOAD_TOO_LARGE",
            None,
        ),
    ];
    for (what, ct, body, status, code, field) in cases {
        for (method, path) in [(Method::POST, "/v1/resource".to_owned()), (Method::PATCH, format!("/v1/resource/{id}"))]
        {
            // Bodies that are valid for a create but not a patch are skipped for PATCH.
            if method == Method::PATCH && what == "missing fields" {
                continue;
            }
            let r = raw(&s, method.clone(), &path, ct, body.clone()).await;
            let details = r.assert_error(status, code);
            if let Some(field) = field {
                assert!(details.get(field).is_some(), "{what} ({method}): details {details} should name {field}");
            }
            assert_eq!(rows(&s), before, "{what} ({method}) wrote something");
        }
    }
    let after = s.call(Method::GET, &format!("/v1/resource/{id}"), Some(&s.admin_key), None).await;
    assert_eq!(after.body, seed.body, "the seed resource changed");
}

/// `data` as deep as it may nest is read back everywhere it shows: the resource, a list page and
/// the events (which wrap it in levels of their own), and a patch cannot take it deeper.
#[tokio::test]
async fn data_at_the_depth_limit_reads_back_everywhere() {
    let s = server().await;
    let k = Some(s.admin_key.as_str());
    let nested = |levels: usize| -> Value {
        serde_json::from_str(&format!("{}1{}", "[".repeat(levels), "]".repeat(levels))).unwrap()
    };
    let created =
        s.call(Method::POST, "/v1/resource", k, Some(&json!({"name": "deep", "type": "t", "data": nested(64)}))).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let id = created.body["id"].as_str().unwrap().to_owned();
    let deeper = s.call(Method::PATCH, &format!("/v1/resource/{id}"), k, Some(&json!({"data": [nested(64)]}))).await;
    assert!(deeper.assert_error(400, "VALIDATION_FAILED").get("data").is_some());
    let events = s.call(Method::GET, "/v1/events", k, None).await;
    assert_eq!(events.status, 200, "{}", events.text);
    let event = events.body["items"][0].clone();
    assert_eq!(event["data"]["data"], nested(64));
    for path in [
        format!("/v1/resource/{id}"),
        "/v1/resource?per_page=5".to_owned(),
        format!("/v1/events?resource_id={id}"),
        format!("/v1/events/{}", event["id"].as_str().unwrap()),
    ] {
        let r = s.call(Method::GET, &path, k, None).await;
        assert_eq!(r.status, 200, "{path}: {}", r.text);
    }
}

/// A header that names the credential or the body's type, sent twice, is refused whichever
/// copy comes first: a reader that takes the other one would run the request differently.
#[tokio::test]
async fn a_repeated_credential_or_content_type_is_refused() {
    let s = server().await;
    let reader = crate::key_with(&s, &["resource:read"]).await;
    let admin = s.admin_key.as_str();
    for (first, second) in
        [(admin, "tgk_bogus"), ("tgk_bogus", admin), (reader.as_str(), admin), (admin, reader.as_str())]
    {
        for bearer in [false, true] {
            let (name, value): (&str, fn(&str) -> String) = match bearer {
                false => ("x-api-key", |k| k.to_owned()),
                true => ("authorization", |k| format!("Bearer {k}")),
            };
            let r = s
                .http
                .get(s.url("/v1/resource"))
                .header(name, value(first))
                .header(name, value(second))
                .send()
                .await
                .unwrap();
            let r = Response::read(r).await;
            assert_eq!(r.body["error"]["details"]["reason"], "malformed", "{name} twice: {}", r.text);
            r.assert_error(401, "AUTHENTICATION_FAILED");
        }
    }
    let before = rows(&s);
    for types in [["application/json", "text/plain"], ["text/plain", "application/json"]] {
        let r = s
            .http
            .post(s.url("/v1/resource"))
            .header("x-api-key", admin)
            .header("content-type", types[0])
            .header("content-type", types[1])
            .body(widget("twice").to_string())
            .send()
            .await
            .unwrap();
        Response::read(r).await.assert_error(415, "UNSUPPORTED_MEDIA_TYPE");
    }
    assert_eq!(rows(&s), before);
}

/// The other side of the refusal of integers beyond 64 bits: every integer that 64 bits hold
/// comes back exactly as written, and large floats stay floats.
#[tokio::test]
async fn integers_that_64_bits_hold_come_back_exactly() {
    let s = server().await;
    let body = br#"{"name":"edges","type":"t","data":{"max":18446744073709551615,"min":-9223372036854775808,"big":1e19,"exact":9007199254740993}}"#;
    let r = raw(&s, Method::POST, "/v1/resource", Some("application/json"), body.to_vec()).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let path = format!("/v1/resource/{}", r.body["id"].as_str().unwrap());
    let got = s.http.get(s.url(&path)).header("x-api-key", &s.admin_key).send().await.unwrap().text().await.unwrap();
    for written in [
        r#""max":18446744073709551615"#,
        r#""min":-9223372036854775808"#,
        r#""exact":9007199254740993"#,
        r#""big":1e+19"#,
    ] {
        assert!(got.contains(written), "{written} in {got}");
    }
}

#[tokio::test]
async fn patch_specific_refusals() {
    let s = server().await;
    let k = Some(s.admin_key.as_str());
    let seed = s.call(Method::POST, "/v1/resource", k, Some(&widget("seed"))).await;
    let path = format!("/v1/resource/{}", seed.body["id"].as_str().unwrap());
    for (patch, field) in [
        (json!({"name": null}), "name"),
        (json!({"type": null}), "type"),
        (json!({"id": "res_x"}), "id"),
        (json!({"created_at": "2020-01-01T00:00:00Z"}), "created_at"),
        (json!({"attributes": {"bad key": "v"}}), "attributes.bad key"),
    ] {
        let r = s.call(Method::PATCH, &path, k, Some(&patch)).await;
        let details = r.assert_error(400, "VALIDATION_FAILED");
        assert!(details.get(field).is_some(), "{patch}: {details}");
    }
    let merge = raw(&s, Method::PATCH, &path, Some("application/merge-patch+json"), br#"{"name":"m"}"#.to_vec()).await;
    assert_eq!(merge.status, 200);
    assert_eq!(merge.body["version"], 2);
}

#[tokio::test]
async fn bad_ids_are_not_found() {
    let s = server().await;
    let k = Some(s.admin_key.as_str());
    s.call(Method::POST, "/v1/resource", k, Some(&widget("seed"))).await;
    let before = rows(&s);
    // Long, but inside the 8 KiB URI limit (beyond it: 414, see protocol.rs).
    let long = "a".repeat(7 * 1024);
    let ids = [
        "res_01ARZ3NDEKTSV4RRFFQ69G5FAV".to_owned(),
        "..%2Fetc%2Fpasswd".to_owned(),
        "%27%20OR%201%3D1%20--".to_owned(),
        long,
        "res_".to_owned(),
        "res_01arz3ndektsv4rrffq69g5fav".to_owned(),
        "%00".to_owned(),
    ];
    for id in &ids {
        let path = format!("/v1/resource/{id}");
        s.call(Method::GET, &path, k, None).await.assert_error(404, "NOT_FOUND");
        s.call(Method::PATCH, &path, k, Some(&json!({"name": "x"}))).await.assert_error(404, "NOT_FOUND");
        s.call(Method::DELETE, &path, k, None).await.assert_error(404, "NOT_FOUND");
    }
    // A path that normalises elsewhere still gets the envelope.
    s.call(Method::GET, "/v1/resource/../etc/passwd", k, None).await.assert_error(404, "NOT_FOUND");
    s.call(Method::GET, "/nowhere", None, None).await.assert_error(404, "NOT_FOUND");
    assert_eq!(rows(&s), before);
}

/// A path segment that is not UTF-8 once percent-decoded names nothing, on every route that
/// takes one: 404 in the envelope (axum's own path reader answers a plain-text 400).
#[tokio::test]
async fn a_segment_that_is_not_utf8_is_not_found_in_the_envelope() {
    let s = server().await;
    let k = Some(s.admin_key.as_str());
    let body = json!({"schema": {"type": "object"}});
    let cases: [(Method, &str); 16] = [
        (Method::GET, "/v1/resource/%ff"),
        (Method::PATCH, "/v1/resource/%ff"),
        (Method::GET, "/v1/keys/%ff"),
        (Method::GET, "/v1/clients/%ff"),
        (Method::GET, "/v1/events/%ff"),
        (Method::GET, "/v1/types/%ff"),
        (Method::PUT, "/v1/types/%ff"),
        (Method::DELETE, "/v1/types/%ff"),
        (Method::GET, "/v1/webhooks/%ff"),
        (Method::DELETE, "/v1/webhooks/%ff"),
        (Method::GET, "/v1/webhooks/%ff/deliveries"),
        (Method::POST, "/v1/webhooks/%ff/test"),
        (Method::POST, "/v1/webhooks/%ff/deliveries/x/replay"),
        (Method::POST, "/v1/webhooks/x/deliveries/%ff/replay"),
        (Method::GET, "/console/%ff"),
        (Method::GET, "/console/%c3%28"),
    ];
    for (method, path) in cases {
        let with_body = [Method::PUT, Method::PATCH].contains(&method).then_some(&body);
        let r = s.call(method.clone(), path, k, with_body).await;
        assert_eq!(r.header("content-type"), Some("application/json"), "{method} {path}");
        r.assert_error(404, "NOT_FOUND");
    }
}

#[tokio::test]
async fn bad_list_queries() {
    let s = server().await;
    let k = Some(s.admin_key.as_str());
    for (q, field) in [
        ("per_page=0", "per_page"),
        ("per_page=101", "per_page"),
        ("per_page=-1", "per_page"),
        ("per_page=abc", "per_page"),
        ("per_page=1e9", "per_page"),
        ("page=0", "page"),
        ("page=-3", "page"),
        ("page=99999999999", "page"),
        ("colour=red", "colour"),
        ("attributes[bad key]=x", "attributes[bad key]"),
        ("status=deleted", "status"),
        ("type=Not%20Id", "type"),
        ("cursor=garbage", "cursor"),
        ("cursor=&page=2", "cursor"),
        ("per_page=1&per_page=2", "per_page"),
        ("per_page=%ZZ", "per_page"),
    ] {
        let r = s.call(Method::GET, &format!("/v1/resource?{q}"), k, None).await;
        let details = r.assert_error(400, "VALIDATION_FAILED");
        assert!(details.get(field).is_some(), "{q}: {details}");
    }
}

#[tokio::test]
async fn attribute_filters_are_capped() {
    let s = server().await;
    let k = Some(s.admin_key.as_str());
    let filters = |n: usize| (0..n).map(|i| format!("attributes[k{i}]=v")).collect::<Vec<_>>().join("&");
    let r = s.call(Method::GET, &format!("/v1/resource?{}", filters(20)), k, None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    // Over the cap, and far over it (1,000 filters were a 500 from the database).
    for n in [21, 300] {
        let r = s.call(Method::GET, &format!("/v1/resource?{}", filters(n)), k, None).await;
        let details = r.assert_error(400, "VALIDATION_FAILED");
        assert_eq!(details["attributes"], "at most 20 filters", "{n} filters");
    }
}

#[tokio::test]
async fn repeated_members_are_named() {
    let s = server().await;
    let body = br#"{"name":"a","type":"t","attributes":{"colour":"red","colour":"blue"}}"#.to_vec();
    let r = raw(&s, Method::POST, "/v1/resource", Some("application/json"), body).await;
    let details = r.assert_error(400, "MALFORMED_JSON");
    assert_eq!(details["member"], "colour");
    assert!(r.body["error"]["message"].as_str().unwrap().contains("`colour`"), "{}", r.text);
    assert_eq!(s.count_rows("resources"), 0);
}

#[tokio::test]
async fn methods_not_allowed() {
    let s = server().await;
    let k = Some(s.admin_key.as_str());
    s.call(Method::PUT, "/v1/resource", k, None).await.assert_error(405, "METHOD_NOT_ALLOWED");
    s.call(Method::DELETE, "/v1/resource", k, None).await.assert_error(405, "METHOD_NOT_ALLOWED");
    let id = "res_01ARZ3NDEKTSV4RRFFQ69G5FAV";
    s.call(Method::POST, &format!("/v1/resource/{id}"), k, None).await.assert_error(405, "METHOD_NOT_ALLOWED");
    s.call(Method::POST, "/health", None, None).await.assert_error(405, "METHOD_NOT_ALLOWED");
}

/// Bodies are never decoded, so a request declaring a content coding is refused (415 with
/// `Accept-Encoding: identity`) on every route, JSON and OAuth alike, before anything is read
/// or written; `identity` is no coding.
#[tokio::test]
async fn encoded_bodies_are_refused_everywhere() {
    let s = server().await;
    let send = |method: Method, path: &str, content_type: &str, coding: &str, body: Vec<u8>| {
        let req = s
            .http
            .request(method, s.url(path))
            .header("x-api-key", &s.admin_key)
            .header("content-type", content_type)
            .header("content-encoding", coding)
            .body(body);
        async move { Response::read(req.send().await.unwrap()).await }
    };
    let json = "application/json";
    let before = rows(&s);
    for coding in ["gzip", "br", "identity, deflate", "x-gzip"] {
        let r = send(Method::POST, "/v1/resource", json, coding, widget("a").to_string().into_bytes()).await;
        let details = r.assert_error(415, "UNSUPPORTED_MEDIA_TYPE");
        assert!(details["content_encoding"].is_string(), "{coding}: {details}");
        assert_eq!(r.headers["accept-encoding"], "identity", "{coding}");
    }
    // A 10 KB coding is quoted short, not copied into the message and the details both.
    let long = format!("x-{}", "a".repeat(10 * 1024));
    let r = send(Method::POST, "/v1/resource", json, &long, widget("a").to_string().into_bytes()).await;
    let details = r.assert_error(415, "UNSUPPORTED_MEDIA_TYPE");
    assert!(r.text.len() < 1024, "{} bytes: {}", r.text.len(), r.text);
    assert!(details["content_encoding"].as_str().unwrap().ends_with("..."), "{details}");
    assert_eq!(rows(&s), before, "nothing written");
    let form = "application/x-www-form-urlencoded";
    let token = send(Method::POST, "/oauth/token", form, "gzip", b"grant_type=client_credentials".to_vec()).await;
    token.assert_error(415, "UNSUPPORTED_MEDIA_TYPE");
    let plain = send(Method::POST, "/v1/resource", json, "identity", widget("a").to_string().into_bytes()).await;
    assert_eq!(plain.status, 201, "{}", plain.text);
}
