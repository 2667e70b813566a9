//! The events API and the live stream against a real server: listing with filters and every
//! page, the stream's live events, resuming across a server restart (`kill -9`) without a gap
//! or a duplicate, `410 GONE` ending the stream, and a 429's `Retry-After` honoured.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use tokio::net::{TcpListener, TcpStream};
use tollgate_client::{Client, ErrorKind, EventOrder, EventParams, NewResource, StreamParams};
use tollgate_testkit::TestServer;

/// An event id minted in 1970: older than any retention.
const ANCIENT_EVENT: &str = "evt_000000YGJ00000000000000007";

async fn create(c: &Client, name: &str, kind: &str) -> String {
    c.create(&NewResource::new(name, kind)).await.unwrap().id
}

/// Every event id of the project, in commit order.
async fn all_ids(c: &Client) -> Vec<String> {
    let events: Vec<_> = c.events().list_all(EventParams::new().order(EventOrder::Oldest)).try_collect().await.unwrap();
    events.into_iter().map(|e| e.id).collect()
}

/// A TCP port that forwards to whatever address `target` holds when a connection arrives: the
/// client keeps one endpoint while the server behind it restarts on a new port.
async fn forwarder(target: Arc<Mutex<String>>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            let to = target.lock().unwrap().clone();
            tokio::spawn(async move {
                if let Ok(mut outbound) = TcpStream::connect(to).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    });
    format!("http://{addr}")
}

fn host_port(s: &TestServer) -> String {
    s.base_url.trim_start_matches("http://").to_owned()
}

#[tokio::test]
async fn list_get_filters_and_every_page() {
    let s = common::server().await;
    let c = common::admin(&s);
    let machine = create(&c, "m", "machine").await;
    create(&c, "r", "rack").await;
    c.delete(&machine, None).await.unwrap();

    let page = c.events().list(&EventParams::new().limit(2)).await.unwrap();
    assert_eq!(page.items.len(), 2);
    assert!(page.has_next && page.next_cursor.is_some());
    assert_eq!(page.items[0].r#type, "resource.deleted", "newest first");
    assert_eq!(c.events().get(&page.items[1].id).await.unwrap(), page.items[1]);

    let about = EventParams::new().resource_id(&machine).order(EventOrder::Oldest);
    let types: Vec<String> = c.events().list(&about).await.unwrap().items.into_iter().map(|e| e.r#type).collect();
    assert_eq!(types, ["resource.created", "resource.deleted"]);
    let racks = c.events().list(&EventParams::new().resource_type("rack").r#type("resource.created")).await.unwrap();
    assert_eq!(racks.items.len(), 1);
    assert_eq!(racks.items[0].data["type"], "rack");

    let every: Vec<_> = c.events().list_all(EventParams::new().limit(1)).try_collect().await.unwrap();
    assert_eq!(every.len(), 3, "three pages of one");
    let missing = c.events().get("evt_01JD3Z9T6W4X8Y2K5M7N9P1Q3R").await.unwrap_err();
    assert_eq!(missing.kind(), ErrorKind::NotFound);
    let bad = c.events().list(&EventParams::new().after("yesterday")).await.unwrap_err();
    assert_eq!(bad.kind(), ErrorKind::Validation);
}

#[tokio::test]
async fn stream_yields_live_events_and_resumes_after_a_given_id() {
    let s = common::server().await;
    let c = common::admin(&s);
    let mut live = c.events().stream(StreamParams::new().r#type("resource.created"));
    // The stream connects lazily, on the first poll: poll it while the writes happen.
    let reader = tokio::spawn(async move {
        let mut got = Vec::new();
        while got.len() < 3 {
            got.push(live.try_next().await.unwrap().unwrap());
        }
        got
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    for i in 0..3 {
        create(&c, &format!("live-{i}"), "machine").await;
    }
    let got = tokio::time::timeout(Duration::from_secs(10), reader).await.unwrap().unwrap();
    let ids: Vec<String> = got.iter().map(|e| e.id.clone()).collect();
    assert_eq!(ids, all_ids(&c).await);
    assert_eq!(got[0].data["name"], "live-0");

    let mut resumed = c.events().stream(StreamParams::new().last_event_id(&ids[0]));
    for id in &ids[1..] {
        let e = tokio::time::timeout(Duration::from_secs(5), resumed.try_next()).await.unwrap().unwrap().unwrap();
        assert_eq!(&e.id, id);
    }
}

#[tokio::test]
async fn stream_survives_a_server_restart_without_gap_or_duplicate() {
    let mut s = common::server().await;
    let target = Arc::new(Mutex::new(host_port(&s)));
    let endpoint = forwarder(target.clone()).await;
    let c = common::admin(&s);
    let via_forwarder = Client::builder().endpoint(&endpoint).api_key(&s.admin_key).build().unwrap();
    for i in 0..4 {
        create(&c, &format!("before-{i}"), "machine").await;
    }
    let first = all_ids(&c).await[0].clone();
    let mut stream = via_forwarder.events().stream(StreamParams::new().last_event_id(&first));
    let mut seen = vec![first];
    for _ in 0..3 {
        seen.push(stream.try_next().await.unwrap().unwrap().id);
    }

    s.kill9();
    s.restart().await;
    *target.lock().unwrap() = host_port(&s);
    // Written while the stream is away: replayed on reconnect; then live ones.
    let c = common::admin(&s);
    for i in 0..3 {
        create(&c, &format!("after-{i}"), "machine").await;
    }
    let reader = tokio::spawn(async move {
        for _ in 0..6 {
            seen.push(stream.try_next().await.unwrap().unwrap().id);
        }
        let extra = tokio::time::timeout(Duration::from_millis(500), stream.next()).await;
        assert!(extra.is_err(), "nothing more, nothing twice: {extra:?}");
        seen
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    for i in 0..3 {
        create(&c, &format!("live-{i}"), "machine").await;
    }
    let seen = tokio::time::timeout(Duration::from_secs(30), reader).await.unwrap().unwrap();
    assert_eq!(seen, all_ids(&c).await, "every event once, in commit order");
}

#[tokio::test]
async fn gone_ends_the_stream_with_a_typed_error() {
    let s = common::server_with(&[("TOLLGATE_EVENT_RETENTION", "1h")]).await;
    let c = common::admin(&s);
    let mut stream = c.events().stream(StreamParams::new().last_event_id(ANCIENT_EVENT));
    let started = Instant::now();
    let err = stream.try_next().await.unwrap_err();
    assert_eq!((err.kind(), err.code()), (ErrorKind::Gone, Some("GONE")));
    assert!(started.elapsed() < Duration::from_secs(2), "no reconnect: {:?}", started.elapsed());
    assert!(stream.next().await.is_none(), "the stream ends after 410");
}

#[tokio::test]
async fn too_many_streams_waits_for_retry_after() {
    let s = common::server_with(&[("TOLLGATE_EVENT_STREAMS_PER_CREDENTIAL", "1")]).await;
    let c = common::admin(&s);
    let holder = s.http.get(s.url("/v1/events/stream")).header("x-api-key", &s.admin_key).send().await.unwrap();
    assert_eq!(holder.status(), 200);

    let once = c.events().stream(StreamParams::new().max_reconnects(0)).try_next().await.unwrap_err();
    assert_eq!(once.kind(), ErrorKind::RateLimit);
    assert_eq!(once.retry_after(), Some(Duration::from_secs(5)));

    let mut waiting = c.events().stream(StreamParams::new());
    let started = Instant::now();
    let reader = tokio::spawn(async move { waiting.try_next().await.map(|e| e.map(|e| e.id)) });
    tokio::time::sleep(Duration::from_millis(500)).await;
    drop(holder);
    // Created after the retry could have connected: the stream sees it live.
    tokio::time::sleep(Duration::from_secs(6)).await;
    let id = create(&c, "after-the-wait", "machine").await;
    let got = tokio::time::timeout(Duration::from_secs(10), reader).await.unwrap().unwrap().unwrap().unwrap();
    assert!(started.elapsed() >= Duration::from_secs(5), "Retry-After honoured: {:?}", started.elapsed());
    assert_eq!(c.events().get(&got).await.unwrap().data["id"], id.as_str());
}
