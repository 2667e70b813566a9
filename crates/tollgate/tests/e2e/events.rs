//! The events API and the live stream: listing, resume with `Last-Event-ID` without a gap or a
//! duplicate while writes race the reconnects, across `kill -9`, 410 past retention, the limit
//! of streams per credential, revocation, shutdown and `tollgate prune`.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Value};
use tollgate_testkit::TestServer;

use crate::{key_with, server, server_with, widget};

/// A Server-Sent Events reader over one response.
pub struct Sse {
    response: reqwest::Response,
    buf: String,
}

/// One SSE event: id, type, data.
pub type Event = (String, String, Value);

impl Sse {
    /// Opens the stream with `key`, resuming after `last` if given.
    pub async fn open(s: &TestServer, key: &str, last: Option<&str>, query: &str) -> Result<Self, reqwest::Response> {
        let mut req = s.http.get(s.url(&format!("/v1/events/stream{query}"))).header("x-api-key", key);
        if let Some(id) = last {
            req = req.header("last-event-id", id);
        }
        let response = req.timeout(Duration::from_secs(3600)).send().await.unwrap();
        if response.status() != 200 {
            return Err(response);
        }
        assert_eq!(response.headers()["content-type"], "text/event-stream");
        Ok(Self { response, buf: String::new() })
    }

    /// The next event within `wait`; `None` on timeout or when the stream ends.
    pub async fn next(&mut self, wait: Duration) -> Option<Event> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            if let Some(end) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..end + 2).collect();
                let (mut id, mut kind, mut data) = (String::new(), String::new(), String::new());
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("id: ") {
                        id = v.to_owned();
                    } else if let Some(v) = line.strip_prefix("event: ") {
                        kind = v.to_owned();
                    } else if let Some(v) = line.strip_prefix("data: ") {
                        data.push_str(v);
                    }
                }
                if id.is_empty() {
                    continue; // a keep-alive comment
                }
                return Some((id, kind, serde_json::from_str(&data).unwrap()));
            }
            let chunk = tokio::time::timeout_at(deadline, self.response.chunk()).await.ok()?.ok()??;
            self.buf.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    }

    /// Whether the server ends the stream within `wait`.
    pub async fn ends_within(&mut self, wait: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            match tokio::time::timeout_at(deadline, self.response.chunk()).await {
                Err(_) => return false,
                Ok(Ok(Some(_))) => continue,
                Ok(_) => return true,
            }
        }
    }
}

/// Every event id of the project, in log order.
pub async fn all_event_ids(s: &TestServer) -> Vec<String> {
    let mut ids = Vec::new();
    let mut path = "/v1/events?order=oldest&limit=100".to_owned();
    loop {
        let r = s.call(Method::GET, &path, Some(&s.admin_key), None).await;
        assert_eq!(r.status, 200, "{}", r.text);
        ids.extend(r.body["items"].as_array().unwrap().iter().map(|e| e["id"].as_str().unwrap().to_owned()));
        match r.body["next_cursor"].as_str() {
            Some(c) => path = format!("/v1/events?order=oldest&limit=100&cursor={c}"),
            None => return ids,
        }
    }
}

async fn create(s: &TestServer, name: &str) -> Value {
    let r = s.call(Method::POST, "/v1/resource", Some(&s.admin_key), Some(&widget(name))).await;
    assert_eq!(r.status, 201, "{}", r.text);
    r.body
}

#[tokio::test]
async fn events_list_get_and_filters() {
    let s = server().await;
    let a = create(&s, "a").await;
    create(&s, "b").await;
    let path = format!("/v1/resource/{}", a["id"].as_str().unwrap());
    assert_eq!(s.call(Method::DELETE, &path, Some(&s.admin_key), None).await.status, 204);
    let r = s.call(Method::GET, "/v1/events?limit=2", Some(&s.admin_key), None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let items = r.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["type"], "resource.deleted", "newest first");
    assert!(r.body["has_next"].as_bool().unwrap());
    let id = items[1]["id"].as_str().unwrap();
    let one = s.call(Method::GET, &format!("/v1/events/{id}"), Some(&s.admin_key), None).await;
    assert_eq!(one.body, items[1]);
    let q = format!("/v1/events?resource_id={}&order=oldest", a["id"].as_str().unwrap());
    let types: Vec<Value> = s.call(Method::GET, &q, Some(&s.admin_key), None).await.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].clone())
        .collect();
    assert_eq!(types, ["resource.created", "resource.deleted"]);
    s.call(Method::GET, "/v1/events?sort=x", Some(&s.admin_key), None).await.assert_error(400, "VALIDATION_FAILED");
    s.call(Method::GET, "/v1/events/evt_nope", Some(&s.admin_key), None).await.assert_error(404, "NOT_FOUND");
    let write_only = key_with(&s, &["resource:write"]).await;
    s.call(Method::GET, "/v1/events", Some(&write_only), None).await.assert_error(403, "PERMISSION_DENIED");
}

#[tokio::test]
async fn stream_resumes_without_gap_or_duplicate_while_writes_race() {
    let s = server().await;
    const WRITES: usize = 1200;
    // The first stream is open (its answer comes after it subscribed) before any write: one
    // opened after the first writes would start after them, as a stream without Last-Event-ID
    // does, and the loop below would wait for events it was never meant to get.
    let mut first = Some(Sse::open(&s, &s.admin_key, None, "").await.unwrap());
    let writer = {
        let (http, url, key) = (s.http.clone(), s.url("/v1/resource"), s.admin_key.clone());
        tokio::spawn(async move {
            let mut tasks = Vec::new();
            for w in 0..4 {
                let (http, url, key) = (http.clone(), url.clone(), key.clone());
                tasks.push(tokio::spawn(async move {
                    for i in 0..WRITES / 4 {
                        let body = widget(&format!("w{w}-{i}"));
                        let r = http.post(&url).header("x-api-key", &key).json(&body).send().await.unwrap();
                        assert_eq!(r.status(), 201);
                    }
                }));
            }
            for t in tasks {
                t.await.unwrap();
            }
        })
    };
    let mut seen: Vec<String> = Vec::new();
    let mut last: Option<String> = None;
    // A stream that skipped an event would leave the loop below waiting for ever: past the
    // deadline it fails, naming what it missed (each pass takes seconds; the whole, about 5).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    // Read a few events at a time, disconnect, reconnect with the last id, while writes go on.
    while seen.len() < WRITES {
        if tokio::time::Instant::now() > deadline {
            let all = all_event_ids(&s).await;
            let missing: Vec<(usize, &String)> = all.iter().enumerate().filter(|(_, id)| !seen.contains(id)).collect();
            panic!(
                "after 120 s: {} of {} events seen, the last {last:?}; missing (position, id): {:?}",
                seen.len(),
                all.len(),
                &missing[..missing.len().min(10)]
            );
        }
        let mut stream = match first.take() {
            Some(stream) => stream,
            None => {
                let opened = Sse::open(&s, &s.admin_key, last.as_deref(), "");
                tokio::time::timeout(Duration::from_secs(30), opened)
                    .await
                    .expect("a stream opens within 30 s")
                    .unwrap()
            }
        };
        for _ in 0..37 {
            match stream.next(Duration::from_secs(10)).await {
                Some((id, kind, data)) => {
                    assert_eq!(kind, "resource.created");
                    assert_eq!(data["id"], id.as_str());
                    last = Some(id.clone());
                    seen.push(id);
                }
                None => break,
            }
            if seen.len() == WRITES {
                break;
            }
        }
        if last.is_none() {
            continue;
        }
    }
    writer.await.unwrap();
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "an event was sent twice");
    let all = all_event_ids(&s).await;
    assert_eq!(seen, all, "every event exactly once, in log order");
}

#[tokio::test]
async fn stream_resumes_after_kill_9_and_restart() {
    let mut s = server().await;
    for i in 0..5 {
        create(&s, &format!("before-{i}")).await;
    }
    let first = all_event_ids(&s).await[0].clone();
    let mut stream = Sse::open(&s, &s.admin_key, Some(&first), "").await.unwrap();
    let mut seen = vec![first];
    for _ in 0..4 {
        seen.push(stream.next(Duration::from_secs(5)).await.unwrap().0);
    }
    s.kill9();
    assert!(stream.ends_within(Duration::from_secs(5)).await);
    s.restart().await;
    for i in 0..5 {
        create(&s, &format!("after-{i}")).await;
    }
    let mut stream = Sse::open(&s, &s.admin_key, seen.last().map(String::as_str), "").await.unwrap();
    for _ in 0..5 {
        seen.push(stream.next(Duration::from_secs(5)).await.unwrap().0);
    }
    assert!(stream.next(Duration::from_millis(300)).await.is_none(), "nothing more, nothing twice");
    assert_eq!(seen, all_event_ids(&s).await);
}

#[tokio::test]
async fn events_written_while_no_stream_is_open_replay_and_live_ones_follow() {
    let s = server().await;
    for i in 0..5 {
        create(&s, &format!("unheard-{i}")).await;
    }
    // Opened at once, before the hub's tail has passed over them (it reads a few milliseconds
    // after a commit): a new stream starts at the present even while the tail is behind it.
    let mut fresh = Sse::open(&s, &s.admin_key, None, "").await.unwrap();
    let first = all_event_ids(&s).await[0].clone();
    let mut resumed = Sse::open(&s, &s.admin_key, Some(&first), "").await.unwrap();
    let mut seen = vec![first];
    for _ in 0..4 {
        seen.push(resumed.next(Duration::from_secs(5)).await.unwrap().0);
    }
    for i in 0..5 {
        create(&s, &format!("heard-{i}")).await;
    }
    let mut live = Vec::new();
    for _ in 0..5 {
        let id = resumed.next(Duration::from_secs(5)).await.unwrap().0;
        assert_eq!(fresh.next(Duration::from_secs(5)).await.unwrap().0, id, "a new stream starts at the present");
        live.push(id);
    }
    seen.extend(live);
    assert!(resumed.next(Duration::from_millis(300)).await.is_none(), "nothing more, nothing twice");
    assert!(fresh.next(Duration::from_millis(1)).await.is_none());
    assert_eq!(seen, all_event_ids(&s).await);
}

/// How many times the server has read the log's settled position.
async fn settled_reads(s: &TestServer) -> f64 {
    let text = s.call(Method::GET, "/metrics", Some(&s.admin_key), None).await.text;
    crate::metrics::parse(&text)
        .get("tollgate_db_query_duration_seconds_count{operation=\"settled_position\"}")
        .copied()
        .unwrap_or(0.0)
}

#[tokio::test]
async fn an_idle_hub_reads_nothing_and_its_first_stream_is_not_flooded() {
    let s = server().await;
    // With no stream open, 1,500 events in 15 commits cost the log no read at all...
    let before = settled_reads(&s).await;
    for b in 0..15 {
        let ops: Vec<Value> = (0..100).map(|i| json!({"op": "create", "body": widget(&format!("b{b}-{i}"))})).collect();
        let r = s.call(Method::POST, "/v1/batch", Some(&s.admin_key), Some(&json!({ "operations": ops }))).await;
        assert_eq!(r.status, 200, "{}", r.text);
        tokio::time::sleep(Duration::from_millis(20)).await; // past the tail's coalescing wait
    }
    assert_eq!(settled_reads(&s).await, before, "no stream open, no read of the log");
    // ...and the first stream starts at the present: not handed those 1,500 at once (more than
    // the shared buffer holds, which would end it), it stays open and gets the next event.
    let mut stream = Sse::open(&s, &s.admin_key, None, "").await.unwrap();
    assert_eq!(settled_reads(&s).await, before + 2.0, "the subscription's read and the start's");
    let next = create(&s, "after").await;
    let (_, kind, data) = stream.next(Duration::from_secs(5)).await.unwrap();
    assert_eq!((kind.as_str(), &data["data"]["id"]), ("resource.created", &next["id"]));
    assert!(stream.next(Duration::from_millis(300)).await.is_none(), "nothing more");
    // A stream resuming from the first of them replays all 1,501 in order.
    let all = all_event_ids(&s).await;
    let mut resumed = Sse::open(&s, &s.admin_key, Some(&all[0]), "").await.unwrap();
    for id in &all[1..] {
        assert_eq!(&resumed.next(Duration::from_secs(5)).await.unwrap().0, id);
    }
}

#[tokio::test]
async fn live_events_arrive_quickly_and_filters_apply() {
    let s = server().await;
    let mut stream = Sse::open(&s, &s.admin_key, None, "?type=resource.deleted").await.unwrap();
    let a = create(&s, "a").await;
    let started = Instant::now();
    let path = format!("/v1/resource/{}", a["id"].as_str().unwrap());
    assert_eq!(s.call(Method::DELETE, &path, Some(&s.admin_key), None).await.status, 204);
    let (_, kind, data) = stream.next(Duration::from_secs(5)).await.unwrap();
    assert!(started.elapsed() < Duration::from_millis(500), "{:?}", started.elapsed());
    assert_eq!(kind, "resource.deleted");
    assert_eq!(data["data"]["id"], a["id"]);
}

#[tokio::test]
async fn gone_past_retention_and_not_found_for_unknown_ids() {
    let s = server_with(&[("TOLLGATE_EVENT_RETENTION", "1h")]).await;
    let old = format!("evt_{}", ulid::Ulid::from_parts(1_000_000, 7));
    let r = Sse::open(&s, &s.admin_key, Some(&old), "").await.err().unwrap();
    assert_eq!(r.status(), 410);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "GONE");
    let r = Sse::open(&s, &s.admin_key, None, &format!("?last_event_id={old}")).await.err().unwrap();
    assert_eq!(r.status(), 410);
    let unknown = format!("evt_{}", ulid::Ulid::new());
    assert_eq!(Sse::open(&s, &s.admin_key, Some(&unknown), "").await.err().unwrap().status(), 404);
    assert_eq!(Sse::open(&s, &s.admin_key, Some("nope"), "").await.err().unwrap().status(), 400);
    // An id has one spelling, upper case, as it is minted (a resource id's rule too): an existing
    // event's id in lower case is not an id, and a resource filter that is not an id is refused
    // rather than matching nothing.
    create(&s, "a").await;
    let known = all_event_ids(&s).await.pop().unwrap();
    let lower = known.to_lowercase();
    assert_eq!(Sse::open(&s, &s.admin_key, Some(&lower), "").await.err().unwrap().status(), 400);
    assert_eq!(
        Sse::open(&s, &s.admin_key, None, &format!("?last_event_id={lower}")).await.err().unwrap().status(),
        400
    );
    let k = Some(s.admin_key.as_str());
    assert_eq!(s.call(Method::GET, &format!("/v1/events/{known}"), k, None).await.status, 200);
    s.call(Method::GET, &format!("/v1/events/{lower}"), k, None).await.assert_error(404, "NOT_FOUND");
    for bad in ["xx", "res_nope", "res_8ZZZZZZZZZZZZZZZZZZZZZZZZZ"] {
        let r = s.call(Method::GET, &format!("/v1/events?resource_id={bad}"), k, None).await;
        assert!(r.assert_error(400, "VALIDATION_FAILED").get("resource_id").is_some(), "{bad}");
    }
}

#[tokio::test]
async fn the_header_wins_over_the_parameter_and_two_headers_are_refused() {
    let s = server().await;
    for name in ["a", "b", "c"] {
        create(&s, name).await;
    }
    let ids = all_event_ids(&s).await;
    // A browser's EventSource reconnects to the URL it was given, with the newer id in the header.
    let query = format!("?last_event_id={}", ids[0]);
    let mut stream = Sse::open(&s, &s.admin_key, Some(&ids[1]), &query).await.unwrap();
    let (id, _, _) = stream.next(Duration::from_secs(5)).await.unwrap();
    assert_eq!(id, ids[2], "resumed after the header's event, not the parameter's");
    let r = s
        .http
        .get(s.url("/v1/events/stream"))
        .header("x-api-key", &s.admin_key)
        .header("last-event-id", &ids[0])
        .header("last-event-id", &ids[1])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "VALIDATION_FAILED");
    assert_eq!(body["error"]["details"]["Last-Event-ID"], "is given more than once", "{body}");
}

#[tokio::test]
async fn stream_limit_per_credential_and_revocation_closes_streams() {
    let s = server_with(&[("TOLLGATE_EVENT_STREAMS_PER_CREDENTIAL", "2")]).await;
    let key = key_with(&s, &["resource:read"]).await;
    let mut one = Sse::open(&s, &key, None, "").await.unwrap();
    let mut two = Sse::open(&s, &key, None, "").await.unwrap();
    let third = Sse::open(&s, &key, None, "").await.err().unwrap();
    assert_eq!(third.status(), 429);
    assert!(third.headers().contains_key("retry-after"));
    // Another credential is counted apart.
    let _admin = Sse::open(&s, &s.admin_key, None, "").await.unwrap();
    let keys = s.call(Method::GET, "/v1/keys", Some(&s.admin_key), None).await;
    let id = keys.body["items"].as_array().unwrap().last().unwrap()["id"].as_str().unwrap().to_owned();
    assert_eq!(s.call(Method::DELETE, &format!("/v1/keys/{id}"), Some(&s.admin_key), None).await.status, 200);
    assert!(one.ends_within(Duration::from_secs(8)).await, "a revoked credential's stream is closed");
    assert!(two.ends_within(Duration::from_secs(2)).await);
}

#[tokio::test]
async fn shutdown_ends_open_streams() {
    let mut s = server().await;
    let mut stream = Sse::open(&s, &s.admin_key, None, "").await.unwrap();
    let started = Instant::now();
    assert!(s.signal_and_wait("TERM", Duration::from_secs(10)).is_some(), "the server stops within the drain");
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(stream.ends_within(Duration::from_secs(1)).await);
}

#[tokio::test]
async fn prune_dry_run_counts_and_prune_deletes_old_events() {
    let s = server_with(&[("TOLLGATE_EVENT_RETENTION", "1h")]).await;
    for i in 0..3 {
        create(&s, &format!("m{i}")).await;
    }
    let old = tollgate_core::time_fmt::to_unix_micros(time::OffsetDateTime::now_utc() - time::Duration::days(2));
    let backdate = format!("UPDATE events SET created_at = {old} WHERE seq < (SELECT MAX(seq) FROM events)");
    match s.database_url() {
        Some(url) => drop(tollgate_testkit::psql(url, &backdate)),
        None => drop(rusqlite::Connection::open(s.data_dir().join("tollgate.db")).unwrap().execute(&backdate, [])),
    }
    let env = [("TOLLGATE_EVENT_RETENTION", "1h")];
    let dry = s.cli(&["prune", "--dry-run"], None, &env);
    let out = String::from_utf8_lossy(&dry.stdout);
    assert!(dry.status.success(), "{out}");
    assert!(out.lines().any(|l| l.split_whitespace().collect::<Vec<_>>() == ["events", "2", "3"]), "{out}");
    let run = s.cli(&["prune"], None, &env);
    assert!(run.status.success());
    assert_eq!(s.count_rows("events"), 1);
}
