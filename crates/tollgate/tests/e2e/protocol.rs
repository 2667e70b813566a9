//! Errors before routing: a URI or header section over the limits is answered in the envelope
//! with its request id, as is a body that ends before its `Content-Length`. What hyper answers
//! itself, before any of Tollgate's code runs, is pinned down here as documented: a bare status
//! with `Connection: close`, and the connection closed.

use std::time::Duration;

use reqwest::Method;

use crate::server;
use crate::wire::{connect, is_closed, read_response, send};

#[tokio::test]
async fn oversized_heads_get_the_envelope() {
    let s = server().await;
    let long_path = format!("/v1/resource/{}", "a".repeat(9 * 1024));
    s.call(Method::GET, &long_path, Some(&s.admin_key), None).await.assert_error(414, "URI_TOO_LONG");
    let long_query = format!("/v1/resource?type={}", "a".repeat(9 * 1024));
    s.call(Method::GET, &long_query, Some(&s.admin_key), None).await.assert_error(414, "URI_TOO_LONG");
    let big = "b".repeat(40 * 1024);
    let r = s.http.get(s.url("/health")).header("x-padding", big).send().await.unwrap();
    tollgate_testkit::Response::read(r).await.assert_error(431, "HEADERS_TOO_LARGE");
    // Just under the limits is served.
    let r = s.call(Method::GET, &format!("/v1/resource?type={}", "a".repeat(60)), Some(&s.admin_key), None).await;
    assert_eq!(r.status, 200, "{}", r.text);
}

#[tokio::test]
async fn a_body_shorter_than_its_content_length_gets_the_envelope() {
    let s = server().await;
    let mut c = connect(&s, Duration::from_secs(5));
    let head = format!(
        "POST /v1/resource HTTP/1.1\r\nHost: x\r\nX-API-Key: {}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"na",
        s.admin_key
    );
    send(&mut c, head.as_bytes());
    c.shutdown(std::net::Shutdown::Write).unwrap();
    read_response(&mut c).expect("an answer").assert_envelope(400, "MALFORMED_JSON");
    assert_eq!(s.count_rows("resources"), 0);
}

#[tokio::test]
async fn what_hyper_answers_itself_is_bare_and_closes() {
    let s = server().await;
    let many_headers: String = (0..101).map(|i| format!("X-H{i}: 1\r\n")).collect();
    // An unsupported version is answered before hyper sees it, in the envelope.
    for request in ["GET /health HTTP/1.2\r\nHost: x\r\n\r\n", "GET /health HTTP/2.0\r\nHost: x\r\n\r\n"] {
        let mut c = connect(&s, Duration::from_secs(5));
        send(&mut c, request.as_bytes());
        let r = read_response(&mut c).expect("an answer");
        assert_eq!(r.header("connection"), Some("close"));
        assert!(r.header("x-request-id").is_some_and(|id| id.starts_with("req_")));
        r.assert_envelope(400, "VALIDATION_FAILED");
        assert!(is_closed(&mut c, Duration::from_secs(3)), "the connection stayed open");
    }
    let cases = [
        ("a URI over 64 KiB", format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(70 * 1024)), 414),
        ("more than 100 headers", format!("GET /health HTTP/1.1\r\nHost: x\r\n{many_headers}\r\n"), 431),
    ];
    for (what, request, status) in cases {
        let mut c = connect(&s, Duration::from_secs(5));
        send(&mut c, request.as_bytes());
        let r = read_response(&mut c).unwrap_or_else(|| panic!("{what}: no answer"));
        assert_eq!(r.status, status, "{what}: {r:?}");
        assert_eq!(r.header("connection"), Some("close"), "{what}");
        assert!(r.header("x-request-id").is_none(), "{what}: expected hyper's own answer");
        assert!(is_closed(&mut c, Duration::from_secs(3)), "{what}: the connection stayed open");
    }
    // A body longer than its Content-Length: the request is answered in the envelope, and the
    // bytes after it, read as the next request, get hyper's bare 400.
    let mut c = connect(&s, Duration::from_secs(5));
    let body = r#"{"name":"a","type":"t"}"#;
    let request = format!(
        "POST /v1/resource HTTP/1.1\r\nHost: x\r\nX-API-Key: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}garbage\r\n\r\n",
        s.admin_key,
        body.len()
    );
    send(&mut c, request.as_bytes());
    assert_eq!(read_response(&mut c).expect("the first answer").status, 201);
    let next = read_response(&mut c).expect("an answer to the extra bytes");
    assert_eq!(next.status, 400);
    assert!(is_closed(&mut c, Duration::from_secs(3)));
}
