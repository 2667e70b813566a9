//! The NATS JetStream sink: every outbox event is published on
//! `tollgate.<project name>.<event type>` with the event id as `Nats-Msg-Id`, so JetStream drops
//! the duplicates an at-least-once publisher can produce (a crash between the publish and
//! marking it published). Events wait in the outbox while NATS is down.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{self, message::PublishMessage};
use tokio::sync::watch;
use tollgate_core::redact::MaskedUrl;
use tollgate_core::ProjectName;
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
        // A name that is not a valid one (from before names were checked) would change the
        // subject's meaning (`.`, `*`, `>`): the project id is used instead.
        let name = names.get(&project).filter(|n| ProjectName::parse(n).is_ok()).cloned().unwrap_or(project);
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
            let (servers, credentials) = without_credentials(url);
            // The client logs server addresses (with their password) at debug level: it gets the
            // credentials as options instead, and URLs that hold none.
            let options = match credentials {
                Some((user, Some(password))) => async_nats::ConnectOptions::with_user_and_password(user, password),
                Some((token, None)) => async_nats::ConnectOptions::with_token(token),
                None => async_nats::ConnectOptions::new(),
            };
            options
                .connection_timeout(Duration::from_secs(2))
                .connect(servers.as_str())
                .await
                // The URL may carry a user and password or a token: only its masked form is shown.
                .map_err(|e| format!("connecting to {}: {e}", MaskedUrl(url)))
        })
        .await
        .cloned()
}

/// The server list without user information, and the first user (and password) it held.
fn without_credentials(urls: &str) -> (String, Option<(String, Option<String>)>) {
    let mut credentials = None;
    let servers: Vec<String> = urls
        .split(',')
        .map(|one| match url::Url::parse(one.trim()) {
            Ok(mut u) if !u.username().is_empty() => {
                credentials.get_or_insert_with(|| (u.username().to_owned(), u.password().map(str::to_owned)));
                let _ = u.set_username("");
                let _ = u.set_password(None);
                u.to_string()
            }
            _ => one.trim().to_owned(),
        })
        .collect();
    (servers.join(","), credentials)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_leave_the_urls_the_client_sees() {
        let (servers, creds) = without_credentials("nats://app:pw@h1:4222,nats://app:pw@h2:4222");
        assert_eq!(servers, "nats://h1:4222,nats://h2:4222");
        assert_eq!(creds, Some(("app".into(), Some("pw".into()))));
        let (servers, creds) = without_credentials("nats://t0ken@h:4222");
        assert_eq!((servers.as_str(), creds), ("nats://h:4222", Some(("t0ken".into(), None))));
        assert_eq!(without_credentials("nats://h:4222"), ("nats://h:4222".into(), None));
    }
}
