//! The live stream under load: 10,000 events read across hundreds of reconnects while writes
//! race them (every event exactly once, in commit order), and 1,000 streams that are opened and
//! never read, which must neither grow the server's memory without bound nor hold their
//! connections once they fall too far behind, and can still resume.

use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};
use tollgate_testkit::TestServer;

use crate::events::{all_event_ids, Sse};
use crate::{server_with, widget};

/// A key with every resource scope and no rate limit, for writing and reading in bulk.
fn bulk_key(s: &TestServer) -> String {
    let out = s.cli(
        &["keys", "create", "--name", "bulk", "--scopes", "resource:read,resource:write", "--limit", "unlimited"],
        None,
        &[],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// Creates `batches` batches of 100 resources from `writers` concurrent writers.
fn spawn_writers(s: &TestServer, key: &str, writers: usize, batches: usize) -> tokio::task::JoinHandle<()> {
    let (http, url, key) = (s.http.clone(), s.url("/v1/batch"), key.to_owned());
    tokio::spawn(async move {
        let mut tasks = Vec::new();
        for w in 0..writers {
            let (http, url, key) = (http.clone(), url.clone(), key.clone());
            tasks.push(tokio::spawn(async move {
                for b in 0..batches {
                    let operations: Vec<Value> =
                        (0..100).map(|i| json!({"op": "create", "body": widget(&format!("w{w}-{b}-{i}"))})).collect();
                    let r = http.post(&url).header("x-api-key", &key).json(&json!({ "operations": operations }));
                    let r = r.send().await.unwrap();
                    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
    })
}

/// The server's resident memory in KiB.
fn rss_kib(s: &TestServer) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", s.pid())).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// The `tollgate_event_streams` gauge: streams open on the node.
async fn open_streams(s: &TestServer) -> i64 {
    let r = s.http.get(s.url("/metrics")).header("x-api-key", &s.admin_key).send().await.unwrap();
    let text = r.text().await.unwrap();
    let line = text.lines().find(|l| l.starts_with("tollgate_event_streams ")).expect("the gauge is exported");
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[tokio::test]
async fn ten_thousand_events_resumed_across_reconnects_exactly_once_in_order() {
    let s = server_with(&[]).await;
    let key = bulk_key(&s);
    const EVENTS: usize = 10_000;
    // Subscribed before the first write: a first stream opened after it would start after it.
    let mut first = Some(Sse::open(&s, &key, None, "").await.unwrap());
    let writer = spawn_writers(&s, &key, 4, EVENTS / 400);
    let mut seen: Vec<String> = Vec::with_capacity(EVENTS);
    let mut last: Option<String> = None;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(300);
    // Reconnect after varied numbers of events, so that the seams fall in replays and in live
    // parts alike, while the writers go on.
    let chunks = [1usize, 37, 100, 3, 250];
    let mut reconnects = 0;
    while seen.len() < EVENTS {
        assert!(tokio::time::Instant::now() < deadline, "{} of {EVENTS} events after 300 s", seen.len());
        let mut stream = match first.take() {
            Some(stream) => stream,
            None => Sse::open(&s, &key, last.as_deref(), "").await.unwrap(),
        };
        reconnects += 1;
        for _ in 0..chunks[reconnects % chunks.len()] {
            let Some((id, kind, data)) = stream.next(Duration::from_secs(15)).await else {
                break;
            };
            assert_eq!(kind, "resource.created");
            assert_eq!(data["id"], id.as_str());
            last = Some(id.clone());
            seen.push(id);
            if seen.len() == EVENTS {
                break;
            }
        }
    }
    writer.await.unwrap();
    assert!(reconnects > 100, "{reconnects} reconnects");
    let all = all_event_ids(&s).await;
    assert_eq!(all.len(), EVENTS);
    assert!(seen == all, "every event exactly once, in commit order ({} seen, {} logged)", seen.len(), all.len());
}

#[tokio::test]
async fn a_thousand_unread_streams_stay_bounded_and_are_let_go_once_behind() {
    const STREAMS: usize = 1000;
    let s = server_with(&[("TOLLGATE_EVENT_STREAMS_PER_CREDENTIAL", "1000")]).await;
    let key = bulk_key(&s);
    // One event first, so that a stream can resume from the very beginning afterwards.
    let first = s.call(Method::POST, "/v1/resource", Some(&key), Some(&widget("first"))).await;
    assert_eq!(first.status, 201);
    let first_event = all_event_ids(&s).await[0].clone();
    let mut unread = Vec::with_capacity(STREAMS);
    for _ in 0..STREAMS {
        unread.push(Sse::open(&s, &key, None, "").await.unwrap());
    }
    assert_eq!(open_streams(&s).await, STREAMS as i64);
    let before = rss_kib(&s);
    // Far more events than the shared buffer holds, none of them read by the 1,000 clients; more
    // follow until every stream has fallen behind (a stream whose socket buffers still take
    // events is not behind yet).
    spawn_writers(&s, &key, 2, 30).await.unwrap();
    let mut written = 6000;
    let mut peak = rss_kib(&s);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while open_streams(&s).await > 0 {
        assert!(tokio::time::Instant::now() < deadline, "{} streams still open", open_streams(&s).await);
        spawn_writers(&s, &key, 1, 2).await.unwrap();
        written += 200;
        peak = peak.max(rss_kib(&s));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let grown = peak.saturating_sub(before) / 1024;
    eprintln!(
        "rss with {STREAMS} streams: {} MiB before the writes, at most +{grown} MiB over {written} events",
        before / 1024
    );
    assert!(grown < 128, "1,000 unread streams grew the server by {grown} MiB");
    // Every one of them was let go: its client sees the end of the stream.
    for stream in &mut unread[..10] {
        assert!(stream.ends_within(Duration::from_secs(5)).await);
    }
    drop(unread);
    // ...and can resume where it stopped (here: from the first event), missing nothing.
    let mut resumed = Sse::open(&s, &key, Some(&first_event), "").await.unwrap();
    let all = all_event_ids(&s).await;
    for expected in &all[1..] {
        let (id, _, _) = resumed.next(Duration::from_secs(10)).await.expect("the resumed stream goes on");
        assert_eq!(&id, expected);
    }
}
