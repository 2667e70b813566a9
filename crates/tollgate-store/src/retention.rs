//! Retention: what may be deleted, and deleting it in small batches. Each batch is one short
//! write transaction, so the pruner never holds the write lock long enough to stall requests.
//!
//! The rules, once for both backends:
//! - an event goes once it is older than the event retention and no delivery of it is kept;
//! - a delivery (and its attempts) goes once it is older than the delivery retention and
//!   finished (succeeded or failed); a pending delivery is never deleted, nor its event;
//! - an idempotency record goes after its 24-hour window; a denylisted token id once the token
//!   would have expired anyway; a credential's hourly request count after 30 days;
//! - the newest event is always kept, since SQLite numbers the next one after it.

use async_trait::async_trait;
use time::{Duration, OffsetDateTime};
use tollgate_core::time_fmt::to_unix_micros;

use crate::conn::{Arg, Conn, Sql};
use crate::db::{Backend, Db};
use crate::StoreError;

/// How long rows are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Events.
    pub events: Duration,
    /// Finished webhook deliveries and their attempts.
    pub deliveries: Duration,
}

impl Default for Retention {
    fn default() -> Self {
        Self { events: Duration::days(30), deliveries: Duration::days(30) }
    }
}

/// Rows deleted (or, for a dry run, that would be), by table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pruned {
    /// `events`.
    pub events: u64,
    /// `webhook_deliveries`.
    pub deliveries: u64,
    /// `webhook_attempts`.
    pub attempts: u64,
    /// `idempotency_keys`.
    pub idempotency_keys: u64,
    /// `revoked_tokens`.
    pub revoked_tokens: u64,
    /// `credential_usage_hours`.
    pub usage_hours: u64,
}

impl Pruned {
    /// Each table with its count, in a fixed order (for metrics and the CLI).
    pub fn by_table(&self) -> [(&'static str, u64); 6] {
        [
            ("events", self.events),
            ("webhook_deliveries", self.deliveries),
            ("webhook_attempts", self.attempts),
            ("idempotency_keys", self.idempotency_keys),
            ("revoked_tokens", self.revoked_tokens),
            ("credential_usage_hours", self.usage_hours),
        ]
    }

    /// Adds `other`'s counts.
    pub fn add(&mut self, other: Pruned) {
        self.events += other.events;
        self.deliveries += other.deliveries;
        self.attempts += other.attempts;
        self.idempotency_keys += other.idempotency_keys;
        self.revoked_tokens += other.revoked_tokens;
        self.usage_hours += other.usage_hours;
    }
}

/// One batch of the event log pruned: the counts, and where the next batch starts (`None`
/// when nothing past retention is left after this one).
#[derive(Debug, Clone, Copy, Default)]
pub struct EventBatch {
    /// Rows deleted.
    pub pruned: Pruned,
    /// The `seq` to continue after.
    pub next: Option<i64>,
}

/// Deleting what is past retention.
#[async_trait]
pub trait RetentionStore: Send + Sync {
    /// Prunes events, deliveries and attempts among the up to `batch` oldest events after `after`.
    async fn prune_event_batch(
        &self,
        retention: Retention,
        now: OffsetDateTime,
        after: i64,
        batch: u32,
    ) -> Result<EventBatch, StoreError>;
    /// Deletes up to `batch` expired idempotency records, denylisted token ids and hourly
    /// request counts.
    async fn prune_expired_batch(&self, now: OffsetDateTime, batch: u32) -> Result<Pruned, StoreError>;
    /// What a full pass at `now` would delete, without deleting anything.
    async fn prunable(&self, retention: Retention, now: OffsetDateTime) -> Result<Pruned, StoreError>;
    /// The number of rows of each table that grows: `(table, rows)`.
    async fn table_rows(&self) -> Result<Vec<(&'static str, i64)>, StoreError>;
    /// PostgreSQL: analyses the tables whose planner statistics are stale (see the
    /// `statistics` module) and returns their names; SQLite: nothing.
    async fn refresh_statistics(&self) -> Result<Vec<String>, StoreError>;
}

/// The tables [`RetentionStore::table_rows`] counts.
pub const GROWING_TABLES: [&str; 6] = [
    "events",
    "webhook_deliveries",
    "webhook_attempts",
    "idempotency_keys",
    "revoked_tokens",
    "credential_usage_hours",
];

const WINDOW: Sql = Sql::same("SELECT seq, created_at FROM events WHERE seq > $1 ORDER BY seq LIMIT $2");
const DELETE_ATTEMPTS: Sql = Sql::same(
    "DELETE FROM webhook_attempts WHERE (endpoint_id, delivery_id) IN
     (SELECT d.endpoint_id, d.id FROM webhook_deliveries d JOIN events e ON e.id = d.event_id
      WHERE e.seq > $1 AND e.seq <= $2 AND d.status <> 'pending' AND d.created_at < $3)",
);
const DELETE_DELIVERIES: Sql = Sql::same(
    "DELETE FROM webhook_deliveries WHERE event_id IN (SELECT id FROM events WHERE seq > $1 AND seq <= $2)
     AND status <> 'pending' AND created_at < $3",
);
const DELETE_EVENTS: Sql = Sql::same(
    "DELETE FROM events WHERE seq > $1 AND seq <= $2 AND created_at < $3 AND seq < (SELECT MAX(seq) FROM events)
     AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = events.id)",
);
const DELETE_IDEMPOTENCY: Sql = Sql::same(
    "DELETE FROM idempotency_keys WHERE (scope, key) IN
     (SELECT scope, key FROM idempotency_keys WHERE created_at < $1 LIMIT $2)",
);
const DELETE_REVOKED: Sql = Sql::same(
    "DELETE FROM revoked_tokens WHERE jti IN (SELECT jti FROM revoked_tokens WHERE expires_at < $1 LIMIT $2)",
);
const COUNT_EVENTS: Sql = Sql::same(
    "SELECT COUNT(*) FROM events e WHERE e.created_at < $1 AND e.seq < (SELECT MAX(seq) FROM events)
     AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = e.id AND (d.status = 'pending' OR d.created_at >= $2))",
);
const COUNT_DELIVERIES: Sql =
    Sql::same("SELECT COUNT(*) FROM webhook_deliveries WHERE status <> 'pending' AND created_at < $1");
const COUNT_ATTEMPTS: Sql = Sql::same(
    "SELECT COUNT(*) FROM webhook_attempts a JOIN webhook_deliveries d ON d.endpoint_id = a.endpoint_id
     AND d.id = a.delivery_id WHERE d.status <> 'pending' AND d.created_at < $1",
);
const COUNT_IDEMPOTENCY: Sql = Sql::same("SELECT COUNT(*) FROM idempotency_keys WHERE created_at < $1");
const COUNT_REVOKED: Sql = Sql::same("SELECT COUNT(*) FROM revoked_tokens WHERE expires_at < $1");

#[async_trait]
impl<B: Backend> RetentionStore for Db<B> {
    async fn prune_event_batch(
        &self,
        retention: Retention,
        now: OffsetDateTime,
        after: i64,
        batch: u32,
    ) -> Result<EventBatch, StoreError> {
        self.write("prune_event_batch", move |tx| Box::pin(prune_events(tx, retention, now, after, batch))).await
    }

    async fn prune_expired_batch(&self, now: OffsetDateTime, batch: u32) -> Result<Pruned, StoreError> {
        self.write("prune_expired_batch", move |tx| {
            Box::pin(async move {
                let limit = Arg::Int(i64::from(batch));
                let stale = to_unix_micros(now - crate::idempotency::RETENTION);
                let idempotency_keys = tx.execute(&DELETE_IDEMPOTENCY, &[Arg::Int(stale), limit]).await?;
                let revoked_tokens = tx.execute(&DELETE_REVOKED, &[Arg::Int(to_unix_micros(now)), limit]).await?;
                let old_hours = Arg::Int(to_unix_micros(now - crate::usage::USAGE_RETENTION));
                let usage_hours = tx.execute(&crate::usage::DELETE_OLD, &[old_hours, limit]).await?;
                Ok(Pruned { idempotency_keys, revoked_tokens, usage_hours, ..Pruned::default() })
            })
        })
        .await
    }

    async fn prunable(&self, retention: Retention, now: OffsetDateTime) -> Result<Pruned, StoreError> {
        self.read("prunable", move |c| {
            Box::pin(async move {
                let (events, deliveries) = cutoffs(retention, now);
                let count = |n: i64| u64::try_from(n).unwrap_or(0);
                let e: i64 = c.fetch_one(&COUNT_EVENTS, &[Arg::Int(events), Arg::Int(deliveries)]).await?;
                let d: i64 = c.fetch_one(&COUNT_DELIVERIES, &[Arg::Int(deliveries)]).await?;
                let a: i64 = c.fetch_one(&COUNT_ATTEMPTS, &[Arg::Int(deliveries)]).await?;
                let stale = to_unix_micros(now - crate::idempotency::RETENTION);
                let i: i64 = c.fetch_one(&COUNT_IDEMPOTENCY, &[Arg::Int(stale)]).await?;
                let r: i64 = c.fetch_one(&COUNT_REVOKED, &[Arg::Int(to_unix_micros(now))]).await?;
                let old_hours = to_unix_micros(now - crate::usage::USAGE_RETENTION);
                let u: i64 = c.fetch_one(&crate::usage::COUNT_OLD, &[Arg::Int(old_hours)]).await?;
                Ok(Pruned {
                    events: count(e),
                    deliveries: count(d),
                    attempts: count(a),
                    idempotency_keys: count(i),
                    revoked_tokens: count(r),
                    usage_hours: count(u),
                })
            })
        })
        .await
    }

    async fn table_rows(&self) -> Result<Vec<(&'static str, i64)>, StoreError> {
        self.read("table_rows", |c| {
            Box::pin(async move {
                let mut rows = Vec::with_capacity(GROWING_TABLES.len());
                for table in GROWING_TABLES {
                    let n: i64 = c.fetch_one_text(&format!("SELECT COUNT(*) FROM {table}"), &[]).await?;
                    rows.push((table, n));
                }
                Ok(rows)
            })
        })
        .await
    }

    async fn refresh_statistics(&self) -> Result<Vec<String>, StoreError> {
        if B::DIALECT == crate::conn::Dialect::Sqlite {
            return Ok(Vec::new());
        }
        self.write("refresh_statistics", |tx| Box::pin(crate::statistics::refresh(tx))).await
    }
}

/// The event and delivery cutoffs at `now`, in stored micros.
fn cutoffs(retention: Retention, now: OffsetDateTime) -> (i64, i64) {
    (to_unix_micros(now - retention.events), to_unix_micros(now - retention.deliveries))
}

async fn prune_events(
    tx: &mut impl Conn,
    retention: Retention,
    now: OffsetDateTime,
    after: i64,
    batch: u32,
) -> Result<EventBatch, StoreError> {
    let (events, deliveries) = cutoffs(retention, now);
    // Events are looked at while either of their rows may go; a window of the oldest, stopping
    // at the first one too young, so a pass never scans the recent log.
    let later = events.max(deliveries);
    let window: Vec<(i64, i64)> = tx.fetch_all(&WINDOW, &[Arg::Int(after), Arg::Int(i64::from(batch))]).await?;
    let old = window.iter().take_while(|(_, created)| *created < later).count();
    let Some(&(last, _)) = window[..old].last() else {
        return Ok(EventBatch::default());
    };
    let range = [Arg::Int(after), Arg::Int(last)];
    let attempts = tx.execute(&DELETE_ATTEMPTS, &[range[0], range[1], Arg::Int(deliveries)]).await?;
    let deleted = tx.execute(&DELETE_DELIVERIES, &[range[0], range[1], Arg::Int(deliveries)]).await?;
    let gone = tx.execute(&DELETE_EVENTS, &[range[0], range[1], Arg::Int(events)]).await?;
    let more = old == window.len() && old == batch as usize;
    Ok(EventBatch {
        pruned: Pruned { events: gone, deliveries: deleted, attempts, ..Pruned::default() },
        next: more.then_some(last),
    })
}
