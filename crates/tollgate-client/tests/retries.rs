//! Retries against a local fault-injecting HTTP server: 429 with `Retry-After`, 503, dropped
//! connections; what is retried, how long it waits, and the headers every attempt carries.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tollgate_client::{Client, ErrorKind, Method, NewResource, RawRequest, RetryPolicy};

/// What the fault server does with each successive request.
#[derive(Clone)]
enum Fault {
    /// Answers with this status and extra header lines.
    Status(u16, &'static str),
    /// Reads the request, then closes the connection without answering.
    Drop,
}

/// A request as the fault server saw it.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    idempotency_key: Option<String>,
    user_agent: Option<String>,
    api_key: Option<String>,
}

const RESOURCE: &str = r#"{"id":"res_01JD3Z9T6W4X8Y2K5M7N9P1Q3R","name":"n","type":"widget","status":"active","attributes":{},"data":null,"created_at":"2026-11-24T00:00:00Z","updated_at":"2026-11-24T00:00:00Z","version":1}"#;

/// Starts a server that plays `script` in order, then answers 200 with a resource.
async fn fault_server(script: Vec<Fault>) -> (String, Arc<Mutex<Vec<Seen>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        let mut script = script.into_iter();
        loop {
            let (mut sock, _) = listener.accept().await.unwrap();
            let Some(request) = read_request(&mut sock).await else { continue };
            log.lock().unwrap().push(request);
            let reply = match script.next() {
                Some(Fault::Drop) => continue, // the socket closes unanswered
                Some(Fault::Status(status, extra)) => {
                    let body = format!(r#"{{"error":{{"code":"FAULT_{status}","message":"injected","details":{{}},"request_id":"req_fault"}}}}"#);
                    format!("HTTP/1.1 {status} X\r\ncontent-type: application/json\r\n{extra}content-length: {}\r\nconnection: close\r\n\r\n{body}", body.len())
                }
                None => format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{RESOURCE}",
                    RESOURCE.len()
                ),
            };
            let _ = sock.write_all(reply.as_bytes()).await;
        }
    });
    (url, seen)
}

async fn read_request(sock: &mut tokio::net::TcpStream) -> Option<Seen> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let n = sock.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let header = |name: &str| {
        head.lines().find_map(|l| {
            l.split_once(':').filter(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.trim().to_owned())
        })
    };
    let length: usize = header("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
    while buf.len() < head_end + length {
        let n = sock.read(&mut chunk).await.ok()?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Some(Seen {
        method: head.split(' ').next().unwrap_or_default().to_owned(),
        idempotency_key: header("idempotency-key"),
        user_agent: header("user-agent"),
        api_key: header("x-api-key"),
    })
}

fn client(url: &str, retries: u32) -> Client {
    let policy = RetryPolicy {
        max_retries: retries,
        backoff_base: Duration::from_millis(10),
        backoff_cap: Duration::from_millis(50),
        ..RetryPolicy::default()
    };
    Client::builder().endpoint(url).api_key("tgk_fault").retry_policy(policy).build().unwrap()
}

#[tokio::test]
async fn a_429_is_retried_no_sooner_than_retry_after() {
    let (url, seen) = fault_server(vec![Fault::Status(429, "retry-after: 1\r\n")]).await;
    let started = Instant::now();
    client(&url, 3).get("res_01JD3Z9T6W4X8Y2K5M7N9P1Q3R").await.unwrap();
    assert!(started.elapsed() >= Duration::from_secs(1), "retried after {:?}", started.elapsed());
    assert_eq!(seen.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn server_errors_and_dropped_connections_are_retried_with_one_idempotency_key() {
    let (url, seen) = fault_server(vec![Fault::Status(503, ""), Fault::Drop, Fault::Status(503, "")]).await;
    let created = client(&url, 3).create(&NewResource::new("n", "widget")).await.unwrap();
    assert_eq!(created.version, 1);
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 4, "three failures, then success");
    let key = seen[0].idempotency_key.clone().expect("an Idempotency-Key on the POST");
    assert!(seen.iter().all(|s| s.method == "POST" && s.idempotency_key.as_ref() == Some(&key)), "{seen:?}");
    let ua = format!("tollgate-rust/{}", tollgate_client::VERSION);
    assert!(seen
        .iter()
        .all(|s| s.user_agent.as_deref() == Some(ua.as_str()) && s.api_key.as_deref() == Some("tgk_fault")));
}

#[tokio::test]
async fn retries_give_up_when_spent_and_keep_the_last_error() {
    let (url, seen) = fault_server(vec![Fault::Status(503, ""); 5]).await;
    let e = client(&url, 2).get("res_01JD3Z9T6W4X8Y2K5M7N9P1Q3R").await.unwrap_err();
    assert_eq!((e.kind(), e.status(), e.request_id()), (ErrorKind::Server, Some(503), Some("req_fault")));
    assert_eq!(seen.lock().unwrap().len(), 3, "one attempt and two retries");
}

#[tokio::test]
async fn client_errors_and_long_retry_afters_are_not_retried() {
    let (url, seen) = fault_server(vec![Fault::Status(400, ""), Fault::Status(429, "retry-after: 3600\r\n")]).await;
    let c = client(&url, 3);
    assert_eq!(c.get("res_1").await.unwrap_err().kind(), ErrorKind::Validation);
    let limited = c.get("res_1").await.unwrap_err();
    assert_eq!((limited.kind(), limited.retry_after()), (ErrorKind::RateLimit, Some(Duration::from_secs(3600))));
    assert_eq!(seen.lock().unwrap().len(), 2, "neither was retried");
}

#[tokio::test]
async fn a_dropped_connection_with_retries_off_is_a_connection_error() {
    let (url, _) = fault_server(vec![Fault::Drop]).await;
    let e = client(&url, 0).get("res_1").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Connection);
}

#[tokio::test]
async fn two_503s_then_success_takes_three_attempts() {
    let (url, seen) = fault_server(vec![Fault::Status(503, ""), Fault::Status(503, "")]).await;
    let fetched = client(&url, 3).get("res_01JD3Z9T6W4X8Y2K5M7N9P1Q3R").await.unwrap();
    assert_eq!(fetched.id, "res_01JD3Z9T6W4X8Y2K5M7N9P1Q3R");
    assert_eq!(seen.lock().unwrap().len(), 3);
}

#[tokio::test]
async fn a_post_whose_connection_dropped_is_resent_with_the_same_key() {
    let (url, seen) = fault_server(vec![Fault::Drop]).await;
    client(&url, 1).create(&NewResource::new("n", "widget")).await.unwrap();
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert!(seen[0].idempotency_key.is_some() && seen[0].idempotency_key == seen[1].idempotency_key, "{seen:?}");
}

#[tokio::test]
async fn a_post_without_a_retry_budget_fails_at_once() {
    let (url, seen) = fault_server(vec![Fault::Status(503, "")]).await;
    let e = client(&url, 0).create(&NewResource::new("n", "widget")).await.unwrap_err();
    assert_eq!((e.kind(), e.status()), (ErrorKind::Server, Some(503)));
    assert_eq!(seen.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_raw_post_is_retried_only_with_an_idempotency_key() {
    let (url, seen) = fault_server(vec![Fault::Status(503, ""), Fault::Status(503, "")]).await;
    let c = client(&url, 3);
    let without = c.request(RawRequest::new(Method::POST, "/v1/anything").json(json!({"a": 1}))).await.unwrap_err();
    assert_eq!(without.status(), Some(503));
    assert_eq!(seen.lock().unwrap().len(), 1, "a POST without a key may not be sent twice");
    let with = RawRequest::new(Method::POST, "/v1/anything").header("Idempotency-Key", "k-1").json(json!({"a": 1}));
    let answer = c.request(with).await.unwrap();
    assert_eq!(answer["version"], 1);
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 3, "the keyed POST was retried once after its 503");
    assert!(seen[1..].iter().all(|s| s.idempotency_key.as_deref() == Some("k-1")), "{seen:?}");
}

#[tokio::test]
async fn each_retry_is_a_warning_with_its_reason_and_wait_and_no_secret() {
    let (url, _) = fault_server(vec![Fault::Status(503, "x-request-id: req_fault\r\n")]).await;
    let (fetched, logs) = common::capture_logs(client(&url, 3).get("res_01JD3Z9T6W4X8Y2K5M7N9P1Q3R")).await;
    fetched.unwrap();
    let warn = logs.lines().find(|l| l.contains("WARN")).unwrap_or_else(|| panic!("no warning in:\n{logs}"));
    assert!(warn.contains("retrying GET /v1/resource/res_01JD3Z9T6W4X8Y2K5M7N9P1Q3R in"), "{warn}");
    assert!(warn.contains("503 FAULT_503") && warn.contains("wait_ms=") && warn.contains("retry=1"), "{warn}");
    let debug: Vec<_> = logs.lines().filter(|l| l.contains("DEBUG") && l.contains("tollgate_client")).collect();
    assert_eq!(debug.len(), 2, "one per response:\n{logs}");
    assert!(
        debug[0].contains("GET /v1/resource/res_01JD3Z9T6W4X8Y2K5M7N9P1Q3R -> 503 (request_id=req_fault"),
        "{}",
        debug[0]
    );
    assert!(debug[1].contains("-> 200") && debug[1].contains("duration_ms="), "{}", debug[1]);
    assert!(!logs.contains("tgk_fault"), "the API key was logged:\n{logs}");
}
