//! The event log: the events the outbox records, read back in commit order for `GET /v1/events`
//! and the live stream.
//!
//! Order is `seq`, set when the event is written (`outbox::record`). On SQLite the one writer
//! numbers events inside its transactions, so every reader sees a prefix of `seq`. On PostgreSQL
//! transactions commit in another order than they write, so a reader could see a later event
//! before an earlier transaction commits. There `seq` is the writing transaction's id times 65536
//! plus the event's place in it, and a reader hands out only events below its snapshot's `xmin`
//! times 65536: every transaction older than `xmin` has ended, so nothing can still appear below
//! that line, and a reader that resumes after the last `seq` it saw misses nothing and sees
//! nothing twice. Such events are *settled*; newer ones wait until the transactions before them
//! end (milliseconds). The order is that of the transactions' ids, which for two changes of one
//! resource is the order they commit in: the second takes its id only once the first's row lock
//! is released, since its first statement locks the row. A transaction records at most 65536
//! events.

use async_trait::async_trait;
use tokio::sync::watch;
use tollgate_core::event_log::{encode_cursor, EventOrder, EventQuery, LoggedEvent};
use tollgate_core::time_fmt::to_unix_micros;
use tollgate_core::webhook::TEST_EVENT;
use tollgate_core::{Page, ProjectId};

use crate::conn::{Arg, Builder, Conn, Sql};
use crate::db::{Backend, Db};
use crate::rows::{event_log_columns, Settling};
use crate::StoreError;

/// The event log, read in commit order.
#[async_trait]
pub trait EventStore: Send + Sync {
    /// A page of the project's events, filtered, in the query's order.
    async fn list_events(&self, project: ProjectId, query: EventQuery) -> Result<Page<LoggedEvent>, StoreError>;
    /// One event of the project.
    async fn get_event(&self, project: ProjectId, id: String) -> Result<LoggedEvent, StoreError>;
    /// The `seq` of the project's event `id`, if it is still kept.
    async fn event_seq(&self, project: ProjectId, id: String) -> Result<Option<i64>, StoreError>;
    /// Up to `limit` events of every project after `after`, in `seq` order, settled only (see
    /// the module): resuming after the last one returned never skips an event.
    async fn settled_events(&self, after: i64, limit: u32) -> Result<Settled, StoreError>;
    /// The newest settled `seq` (0 when there is none): a starting point that skips nothing.
    async fn settled_position(&self) -> Result<i64, StoreError>;
    /// Up to `limit` `seq`s of events after `after` that have committed, in order: with
    /// [`EventStore::settled_position`], the events that are already past (on PostgreSQL commits
    /// do not come in `seq` order, so some beyond the settled position may be; on SQLite none).
    async fn committed_after(&self, after: i64, limit: u32) -> Result<Vec<i64>, StoreError>;
    /// Up to `limit` of the project's events with `after < seq <= until`, in `seq` order; `until`
    /// must be settled.
    async fn project_events(
        &self,
        project: ProjectId,
        after: i64,
        until: i64,
        limit: u32,
    ) -> Result<Vec<LoggedEvent>, StoreError>;
    /// Changes each time a write of this process commits.
    fn local_commits(&self) -> watch::Receiver<u64>;
    /// Tells other nodes that events were written (PostgreSQL `NOTIFY`; nothing on SQLite).
    async fn announce_events(&self) -> Result<(), StoreError>;
    /// Changes each time another node announces events (PostgreSQL `LISTEN`); `None` when this
    /// backend has no other nodes.
    fn remote_commits(&self) -> Option<watch::Receiver<u64>>;
}

/// What [`EventStore::settled_events`] read.
#[derive(Debug, Clone, Default)]
pub struct Settled {
    /// Settled events, in `seq` order.
    pub events: Vec<LoggedEvent>,
    /// Whether committed events follow that are not settled yet (a transaction that took a
    /// smaller number is still running); look again shortly.
    pub pending: bool,
}

/// The channel nodes announce new events on.
pub const CHANNEL: &str = "tollgate_events";

/// The log holds the project's changes: a `webhook.test` event (`$3`), which shares the outbox to
/// reach its one endpoint, is left out of its reads (the list's too, and the stream's filter).
const GET: Sql = Sql::same(concat!(
    "SELECT ",
    event_log_columns!(),
    " FROM events WHERE id = $1 AND project_id = $2 AND type <> $3"
));
const SEQ_OF: Sql = Sql::same("SELECT seq FROM events WHERE id = $1 AND project_id = $2");
/// The `settled` flag is the last column.
const AFTER: Sql = Sql::each(
    concat!("SELECT ", event_log_columns!(), ", 1 FROM events WHERE seq > $1 ORDER BY seq LIMIT $2"),
    concat!(
        "SELECT ",
        event_log_columns!(),
        ", CASE WHEN seq < pg_snapshot_xmin(pg_current_snapshot())::text::bigint * 65536 THEN 1 ELSE 0 END::bigint
         FROM events WHERE seq > $1 ORDER BY seq LIMIT $2"
    ),
);
const SETTLED_POSITION: Sql = Sql::each(
    "SELECT COALESCE((SELECT seq FROM events ORDER BY seq DESC LIMIT 1), 0)",
    "SELECT COALESCE((SELECT seq FROM events WHERE seq < pg_snapshot_xmin(pg_current_snapshot())::text::bigint * 65536
     ORDER BY seq DESC LIMIT 1), 0)",
);
const COMMITTED_AFTER: Sql = Sql::same("SELECT seq FROM events WHERE seq > $1 ORDER BY seq LIMIT $2");
const PROJECT_RANGE: Sql = Sql::same(concat!(
    "SELECT ",
    event_log_columns!(),
    " FROM events WHERE project_id = $1 AND seq > $2 AND seq <= $3 ORDER BY seq LIMIT $4"
));
const ANNOUNCE: Sql = Sql::each("", "SELECT pg_notify('tollgate_events', '')");

#[async_trait]
impl<B: Backend> EventStore for Db<B> {
    async fn list_events(&self, project: ProjectId, query: EventQuery) -> Result<Page<LoggedEvent>, StoreError> {
        self.read("list_events", move |c| Box::pin(list(c, project, query))).await
    }

    async fn get_event(&self, project: ProjectId, id: String) -> Result<LoggedEvent, StoreError> {
        self.read("get_event", move |c| {
            Box::pin(async move {
                c.fetch_one(&GET, &[Arg::Text(&id), Arg::Text(&project.to_string()), Arg::Text(TEST_EVENT)]).await
            })
        })
        .await
    }

    async fn event_seq(&self, project: ProjectId, id: String) -> Result<Option<i64>, StoreError> {
        self.read("event_seq", move |c| {
            Box::pin(async move { c.fetch_optional(&SEQ_OF, &[Arg::Text(&id), Arg::Text(&project.to_string())]).await })
        })
        .await
    }

    async fn settled_events(&self, after: i64, limit: u32) -> Result<Settled, StoreError> {
        let rows: Vec<Settling> = self
            .read("settled_events", move |c| {
                Box::pin(async move { c.fetch_all(&AFTER, &[Arg::Int(after), Arg::Int(i64::from(limit))]).await })
            })
            .await?;
        // Everything at or below the newest settled event is final; what follows waits.
        let settled = rows.iter().rposition(|r| r.settled).map_or(0, |i| i + 1);
        let pending = settled < rows.len();
        Ok(Settled { events: rows.into_iter().take(settled).map(|r| r.event).collect(), pending })
    }

    async fn settled_position(&self) -> Result<i64, StoreError> {
        self.read("settled_position", |c| Box::pin(async move { c.fetch_one(&SETTLED_POSITION, &[]).await })).await
    }

    async fn committed_after(&self, after: i64, limit: u32) -> Result<Vec<i64>, StoreError> {
        self.read("committed_after", move |c| {
            Box::pin(async move { c.fetch_all(&COMMITTED_AFTER, &[Arg::Int(after), Arg::Int(i64::from(limit))]).await })
        })
        .await
    }

    async fn project_events(
        &self,
        project: ProjectId,
        after: i64,
        until: i64,
        limit: u32,
    ) -> Result<Vec<LoggedEvent>, StoreError> {
        self.read("project_events", move |c| {
            Box::pin(async move {
                let args =
                    [Arg::Text(&project.to_string()), Arg::Int(after), Arg::Int(until), Arg::Int(i64::from(limit))];
                c.fetch_all(&PROJECT_RANGE, &args).await
            })
        })
        .await
    }

    fn local_commits(&self) -> watch::Receiver<u64> {
        self.committed.subscribe()
    }

    async fn announce_events(&self) -> Result<(), StoreError> {
        self.read("announce_events", |c| Box::pin(async move { c.execute(&ANNOUNCE, &[]).await.map(drop) })).await
    }

    fn remote_commits(&self) -> Option<watch::Receiver<u64>> {
        self.backend.listen(CHANNEL)
    }
}

async fn list(c: &mut impl Conn, project: ProjectId, q: EventQuery) -> Result<Page<LoggedEvent>, StoreError> {
    let project = project.to_string();
    let f = &q.filter;
    let (after, before) = (f.after.map(to_unix_micros), f.before.map(to_unix_micros));
    let mut b = Builder::default();
    b.push(concat!("SELECT ", event_log_columns!(), " FROM events WHERE project_id = ")).arg(Arg::Text(&project));
    if f.types.is_empty() {
        b.push(" AND type <> ").arg(Arg::Text(TEST_EVENT));
    } else {
        b.push(" AND type IN (");
        for (i, t) in f.types.iter().enumerate() {
            b.push(if i == 0 { "" } else { ", " }).arg(Arg::Text(t));
        }
        b.push(")");
    }
    if let Some(id) = &f.resource_id {
        b.push(" AND resource_id = ").arg(Arg::Text(id));
    }
    if let Some(kind) = &f.resource_type {
        b.push(" AND resource_type = ").arg(Arg::Text(kind));
    }
    if let Some(t) = after {
        b.push(" AND created_at >= ").arg(Arg::Int(t));
    }
    if let Some(t) = before {
        b.push(" AND created_at < ").arg(Arg::Int(t));
    }
    let (cmp, order) = match q.order {
        EventOrder::NewestFirst => (" AND seq < ", " ORDER BY seq DESC LIMIT "),
        EventOrder::OldestFirst => (" AND seq > ", " ORDER BY seq LIMIT "),
    };
    if let Some(seq) = q.after_seq {
        b.push(cmp).arg(Arg::Int(seq));
    }
    b.push(order).arg(Arg::Int(i64::from(q.limit) + 1));
    let mut items: Vec<LoggedEvent> = c.fetch_all_text(&b.text, &b.args).await?;
    let has_next = items.len() > q.limit as usize;
    items.truncate(q.limit as usize);
    let next_cursor = has_next.then(|| items.last().map(|e| encode_cursor(e.seq))).flatten();
    Ok(Page { items, has_next, next_cursor, total: None })
}
