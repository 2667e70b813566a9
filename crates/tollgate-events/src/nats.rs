//! The NATS JetStream sink: every outbox event is published on
//! `tollgate.<project name>.<event type>` with the event id as `Nats-Msg-Id`, so JetStream drops
//! the duplicates an at-least-once publisher can produce (a crash between the publish and
//! marking it published). Events wait in the outbox while NATS is down.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{self, message::PublishMessage};
use tokio::sync::watch;
use tollgate_store::Store;

/// The stream that holds Tollgate's events.
pub const STREAM: &str = "TOLLGATE";
const BATCH: u32 = 256;

/// Publishes until `stop` turns true.
pub async fn run(store: Arc<dyn Store>, url: String, mut stop: watch::Receiver<bool>) {
    let mut names: HashMap<String, String> = HashMap::new();
    let mut backoff = Duration::from_millis(200);
    loop {
        if *stop.borrow() {
            return;
        }
        match publish_round(store.as_ref(), &url, &mut names).await {
            Ok(0) => backoff = Duration::from_millis(200),
            Ok(_) => continue,
            Err(e) => {
                tracing::warn!(error = %e, "could not publish events to NATS; they stay in the outbox");
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(backoff) => {}
            _ = stop.changed() => return,
        }
    }
}

async fn publish_round(store: &dyn Store, url: &str, names: &mut HashMap<String, String>) -> Result<usize, String> {
    let events = store.unpublished_events(BATCH).await.map_err(|e| e.to_string())?;
    if events.is_empty() {
        return Ok(0);
    }
    let client = connection(url).await?;
    let js = jetstream::new(client);
    js.get_or_create_stream(jetstream::stream::Config {
        name: STREAM.into(),
        subjects: vec!["tollgate.>".into()],
        duplicate_window: Duration::from_secs(24 * 3600),
        ..Default::default()
    })
    .await
    .map_err(|e| format!("creating the stream: {e}"))?;
    let mut published = Vec::with_capacity(events.len());
    for event in &events {
        let project = event.project_id.to_string();
        if !names.contains_key(&project) {
            for p in store.list_projects().await.map_err(|e| e.to_string())? {
                names.insert(p.id.to_string(), p.name);
            }
        }
        let name = names.get(&project).cloned().unwrap_or(project);
        let subject = format!("tollgate.{name}.{}", event.kind);
        let ack = js
            .send_publish(subject, PublishMessage::build().payload(event.payload.clone().into()).message_id(&event.id))
            .await
            .map_err(|e| format!("publishing {}: {e}", event.id))?;
        ack.await.map_err(|e| format!("no acknowledgement for {}: {e}", event.id))?;
        published.push(event.id.clone());
    }
    let n = published.len();
    store.mark_published(published).await.map_err(|e| e.to_string())?;
    Ok(n)
}

/// One client per URL for the life of the process (the client reconnects by itself).
async fn connection(url: &str) -> Result<async_nats::Client, String> {
    static CLIENT: tokio::sync::OnceCell<async_nats::Client> = tokio::sync::OnceCell::const_new();
    CLIENT
        .get_or_try_init(|| async {
            async_nats::ConnectOptions::new()
                .connection_timeout(Duration::from_secs(2))
                .connect(url)
                .await
                .map_err(|e| format!("connecting to {url}: {e}"))
        })
        .await
        .cloned()
}
