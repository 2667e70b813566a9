//! The live event stream's fan-out on one node: one task (the tail) reads new events from the
//! store in commit order and broadcasts them; every open stream subscribes and filters. One
//! query per wake-up serves every stream, however many are open.
//!
//! The tail wakes when a write of this process commits, when another node announces events
//! (PostgreSQL `LISTEN/NOTIFY`), and once a second in case a notification was lost. It hands out
//! settled events only (see `tollgate_store::event_log`), and records how far it has published
//! under the same lock it publishes under, so a stream that subscribes learns exactly which
//! events it will receive live: everything after [`Subscription::position`]. What came before
//! it replays from the store, and the seam has neither a gap nor a duplicate.
//!
//! With no stream open the tail reads nothing (nobody would receive it), and the first stream to
//! subscribe moves the position to the newest settled event first, so that it is not handed
//! every event written meanwhile at once (more than [`BUFFER`] would disconnect it).
//!
//! Each event's SSE frame is rendered once, when it is published, and shared by every stream
//! that sends it; events that follow each other go out as one chunk (see [`frames`]).
//!
//! The broadcast buffer is shared and bounded: a stream that falls further behind than
//! [`BUFFER`] events is disconnected (and can resume with `Last-Event-ID`), so a slow consumer
//! costs no memory of its own.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{broadcast, watch};
use tollgate_store::Store;

pub mod frames;
pub use frames::{Frames, Published};

/// Events a stream may fall behind by before it is disconnected.
pub const BUFFER: usize = 1024;
/// Events read per query.
const PAGE: u32 = 512;
/// How often the tail looks without being told to.
const POLL: Duration = Duration::from_secs(1);
/// The least time between two reads of the log: a busy writer's commits are then published in
/// bursts, and every stream wakes once per burst rather than once per commit.
const COALESCE: Duration = Duration::from_millis(5);
/// How much each open stream lengthens that time. A burst costs every stream a wake-up and a
/// write whatever it holds, about 10 µs on one core; at 25 µs per stream the bursts take at most
/// about 40% of a core, however many streams are open (1,000 streams: a burst every 25 ms).
const COALESCE_PER_STREAM: Duration = Duration::from_micros(25);
/// The longest time between two reads of the log, so that an event reaches a stream well within
/// 100 ms of its commit.
const COALESCE_MAX: Duration = Duration::from_millis(40);

/// Settings of the live stream.
#[derive(Debug, Clone, Copy)]
pub struct HubSettings {
    /// Streams one credential may hold open on this node.
    pub max_streams_per_credential: usize,
    /// How long events are kept: a `Last-Event-ID` older than this is gone.
    pub event_retention: time::Duration,
}

impl Default for HubSettings {
    fn default() -> Self {
        Self { max_streams_per_credential: 10, event_retention: time::Duration::days(30) }
    }
}

/// The fan-out. Cloning shares it.
#[derive(Clone)]
pub struct EventHub {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn Store>,
    settings: HubSettings,
    sender: broadcast::Sender<Arc<Published>>,
    /// The last `seq` published; taken with the lock that publishing holds.
    position: Mutex<i64>,
    open: Mutex<HashMap<String, usize>>,
    closing: watch::Sender<bool>,
}

/// A new stream's view of the hub: events after `position` arrive on `events`.
pub struct Subscription {
    /// Every event with a larger `seq` comes through `events`; none at or below it does.
    pub position: i64,
    /// The live events (of every project: filter them).
    pub events: broadcast::Receiver<Arc<Published>>,
    /// Turns true when the server shuts down.
    pub closing: watch::Receiver<bool>,
}

/// One open stream of a credential, counted until dropped.
pub struct StreamPermit {
    inner: Arc<Inner>,
    key: String,
}

impl Drop for StreamPermit {
    fn drop(&mut self) {
        let mut open = self.inner.open.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = open.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.key);
            }
        }
    }
}

impl EventHub {
    /// A hub over `store`, starting after the newest settled event. Run [`EventHub::run`].
    pub async fn start(store: Arc<dyn Store>, settings: HubSettings) -> Result<Self, tollgate_store::StoreError> {
        let position = store.settled_position().await?;
        let (sender, _) = broadcast::channel(BUFFER);
        let inner = Inner {
            store,
            settings,
            sender,
            position: Mutex::new(position),
            open: Mutex::default(),
            closing: watch::Sender::new(false),
        };
        Ok(Self { inner: Arc::new(inner) })
    }

    /// The settings.
    pub fn settings(&self) -> HubSettings {
        self.inner.settings
    }

    /// The store events are read from.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.inner.store
    }

    /// Counts a stream of credential `key`; `None` when it already holds the most allowed.
    pub fn try_open(&self, key: &str) -> Option<StreamPermit> {
        let mut open = self.inner.open.lock().unwrap_or_else(|p| p.into_inner());
        let n = open.entry(key.to_owned()).or_insert(0);
        if *n >= self.inner.settings.max_streams_per_credential {
            return None;
        }
        *n += 1;
        Some(StreamPermit { inner: self.inner.clone(), key: key.to_owned() })
    }

    /// Streams open on this node.
    pub fn open_streams(&self) -> usize {
        self.inner.open.lock().unwrap_or_else(|p| p.into_inner()).values().sum()
    }

    /// Subscribes to live events. The first stream of an idle hub reads the newest settled
    /// position first: the tail has not followed the log while no stream was open.
    pub async fn subscribe(&self) -> Result<Subscription, tollgate_store::StoreError> {
        let settled = match self.inner.sender.receiver_count() {
            0 => Some(self.inner.store.settled_position().await?),
            _ => None,
        };
        let mut position = self.inner.position.lock().unwrap_or_else(|p| p.into_inner());
        // Under the lock the tail publishes under: with no receiver, no stream has been told a
        // position that this move skips past, and none is waiting for what it skips.
        if let Some(settled) = settled.filter(|_| self.inner.sender.receiver_count() == 0) {
            *position = settled.max(*position);
        }
        Ok(Subscription {
            position: *position,
            events: self.inner.sender.subscribe(),
            closing: self.inner.closing.subscribe(),
        })
    }

    /// Ends every open stream (the server is shutting down).
    pub fn close_streams(&self) {
        self.inner.closing.send_replace(true);
    }

    /// The tail: publishes new events until `stop` turns true (or every stream is closed).
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let store = self.inner.store.clone();
        let mut local = store.local_commits();
        let mut remote = store.remote_commits();
        let shared = remote.is_some();
        let mut last_read = tokio::time::Instant::now();
        loop {
            tokio::select! {
                changed = local.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    if shared {
                        // Other nodes look as soon as they hear; a lost notice costs at most POLL.
                        if let Err(e) = store.announce_events().await {
                            tracing::warn!(error = %e, "could not announce events to other nodes");
                        }
                    }
                }
                () = changed(&mut remote) => {}
                () = tokio::time::sleep(POLL) => {}
                _ = stop.changed() => return,
            }
            if *stop.borrow() {
                return;
            }
            if self.inner.sender.receiver_count() == 0 {
                continue; // nobody to publish to: see `subscribe`
            }
            tokio::time::sleep_until(last_read + coalesce(self.inner.sender.receiver_count())).await;
            last_read = tokio::time::Instant::now();
            self.publish_new().await;
        }
    }

    /// Publishes every settled event after the position; waits briefly for unsettled ones,
    /// which belong to transactions that are about to end.
    async fn publish_new(&self) {
        if self.inner.sender.receiver_count() == 0 {
            return;
        }
        let mut waits = 0_u32;
        loop {
            let after = *self.inner.position.lock().unwrap_or_else(|p| p.into_inner());
            let read = match self.inner.store.settled_events(after, PAGE).await {
                Ok(read) => read,
                Err(e) => {
                    tracing::warn!(error = %e, "could not read new events for the live stream");
                    return;
                }
            };
            let full = read.events.len() == PAGE as usize;
            if !read.events.is_empty() {
                let published = Published::batch(read.events);
                let mut position = self.inner.position.lock().unwrap_or_else(|p| p.into_inner());
                for p in published {
                    *position = p.event.seq;
                    // No receiver is not an error: nobody is listening right now.
                    let _ = self.inner.sender.send(p);
                }
            }
            if full {
                continue;
            }
            if !read.pending || waits >= 200 {
                return;
            }
            waits += 1;
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

/// The least time between two reads of the log with `streams` streams open.
fn coalesce(streams: usize) -> Duration {
    COALESCE_PER_STREAM.saturating_mul(u32::try_from(streams).unwrap_or(u32::MAX)).clamp(COALESCE, COALESCE_MAX)
}

/// Resolves when `signal` changes; never when there is none (or it has gone).
async fn changed(signal: &mut Option<watch::Receiver<u64>>) {
    match signal {
        Some(rx) => {
            if rx.changed().await.is_err() {
                *signal = None;
                std::future::pending::<()>().await;
            }
        }
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wait_between_reads_grows_with_the_streams_and_stays_under_100_ms() {
        assert_eq!(coalesce(0), COALESCE);
        assert_eq!(coalesce(100), COALESCE);
        assert_eq!(coalesce(1000), Duration::from_millis(25));
        assert_eq!(coalesce(1_000_000), COALESCE_MAX);
        assert!(COALESCE_MAX < Duration::from_millis(100) / 2);
    }
}
