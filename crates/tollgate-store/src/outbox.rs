//! The outbox and webhooks: every change's event is written in the change's transaction with a
//! pending delivery per subscribed endpoint; dispatchers lease due deliveries (on PostgreSQL with
//! `FOR UPDATE SKIP LOCKED`, so with several nodes each attempt is made by one) and record what
//! each attempt did.

use std::collections::HashMap;

use async_trait::async_trait;
use time::{Duration, OffsetDateTime};
use tollgate_core::time_fmt::{now, to_unix_micros};
use tollgate_core::webhook::{Attempted, Delivery, DeliveryJob, Event, NextStep, WebhookEndpoint, TEST_EVENT};
use tollgate_core::ProjectId;

use crate::conn::{Arg, Column, Conn, Dialect, Many, Sql};
use crate::db::{Backend, Db};
use crate::events::new_event;
use crate::rows::{endpoint_columns, AttemptRow};
use crate::StoreError;

/// Webhook endpoints, their deliveries, and the events waiting for the message queue.
#[async_trait]
pub trait OutboxStore: Send + Sync {
    /// Registers a webhook endpoint.
    async fn create_webhook(&self, endpoint: WebhookEndpoint) -> Result<WebhookEndpoint, StoreError>;
    /// The project's endpoints.
    async fn list_webhooks(&self, project: ProjectId) -> Result<Vec<WebhookEndpoint>, StoreError>;
    /// One endpoint of the project.
    async fn get_webhook(&self, project: ProjectId, id: String) -> Result<WebhookEndpoint, StoreError>;
    /// Removes an endpoint and its deliveries.
    async fn delete_webhook(&self, project: ProjectId, id: String) -> Result<(), StoreError>;
    /// Records a `webhook.test` event delivered to that endpoint only.
    async fn send_test_event(&self, project: ProjectId, id: String) -> Result<Event, StoreError>;
    /// Leases up to `limit` due deliveries for `lease`, so that one node makes each attempt.
    async fn claim_deliveries(
        &self,
        now: OffsetDateTime,
        lease: Duration,
        limit: u32,
    ) -> Result<Vec<DeliveryJob>, StoreError>;
    /// Records attempts and what follows each, in one transaction. A delivery deleted meanwhile
    /// (its endpoint was removed) is skipped.
    async fn record_attempts(&self, attempts: Vec<Attempted>) -> Result<(), StoreError>;
    /// An endpoint's most recent deliveries with their attempts.
    async fn list_deliveries(
        &self,
        project: ProjectId,
        endpoint: String,
        limit: u32,
    ) -> Result<Vec<Delivery>, StoreError>;
    /// Makes a failed delivery pending again.
    async fn replay_delivery(&self, project: ProjectId, endpoint: String, delivery: String) -> Result<(), StoreError>;
    /// Events not yet on the message queue, oldest first.
    async fn unpublished_events(&self, limit: u32) -> Result<Vec<Event>, StoreError>;
    /// Marks events as on the message queue.
    async fn mark_published(&self, ids: Vec<String>) -> Result<(), StoreError>;
}

/// Events, in order. Each takes its place in the log, `seq` (see `event_log`): on SQLite the next
/// number, on PostgreSQL the transaction's id times 65536 plus the event's place in the
/// transaction (the statement's first place, plus the event's position in the statement).
const INSERT_EVENTS: Many = Many::each(
    "INSERT INTO events (id, project_id, type, payload, created_at, published_at, resource_id, resource_type, seq)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, (SELECT COALESCE(MAX(seq), 0) + 1 FROM events))",
    "INSERT INTO events (id, project_id, type, payload, created_at, published_at, resource_id, resource_type, seq)
     SELECT u.id, $2::text, u.type, u.payload, $5::bigint, $6::bigint, u.resource_id, u.resource_type, b.first + u.n - 1
     FROM unnest($1::text[], $3::text[], $4::text[], $7::text[], $8::text[])
         WITH ORDINALITY AS u(id, type, payload, resource_id, resource_type, n),
     (SELECT COALESCE((SELECT MAX(seq) + 1 FROM events WHERE seq >= t.x * 65536 AND seq < t.x * 65536 + 65536),
         t.x * 65536) AS first FROM (SELECT pg_current_xact_id()::text::bigint AS x) AS t) AS b
     ORDER BY u.n",
);
/// SQLite: the active endpoints of project `$1` subscribed to event type `$3`, or endpoint `$2`
/// alone. Read once per type, before the deliveries are written: an `INSERT ... SELECT` may write
/// many rows, so SQLite gives it a statement journal, and opening one makes FTS5 flush the
/// write's pending search terms to a segment of their own.
const SUBSCRIBED: Sql = Sql::same(
    "SELECT w.id FROM webhook_endpoints w WHERE w.project_id = $1 AND w.disabled_at IS NULL
     AND (w.id = $2 OR ($2 IS NULL AND w.event_types LIKE '% ' || $3 || ' %'))",
);
/// PostgreSQL: a pending delivery of each event (`$1`, of type `$2`) to every active endpoint of
/// project `$4` subscribed to its type, or to endpoint `$5` alone. It reads no row that the
/// change's other writes touch, so it is queued with them: one round trip for the lot.
const DELIVER_TO_SUBSCRIBED: Many = Many::each(
    "",
    "INSERT INTO webhook_deliveries (endpoint_id, id, event_id, status, attempts, next_attempt_at, created_at)
     SELECT w.id, 'dlv_' || substr(u.ev, 5) || substr(w.id, 5), u.ev, 'pending', 0, $3::bigint, $3::bigint
     FROM unnest($1::text[], $2::text[]) AS u(ev, type)
     JOIN webhook_endpoints w ON w.project_id = $4::text AND w.disabled_at IS NULL
     AND (w.id = $5::text OR ($5::text IS NULL AND w.event_types LIKE '% ' || u.type || ' %'))",
);
/// SQLite: a pending delivery of event `$2` at `$3` to endpoint `$1`. On both backends the
/// delivery id joins both ids' ULIDs.
const INSERT_DELIVERIES: Many = Many::each(
    "INSERT INTO webhook_deliveries (endpoint_id, id, event_id, status, attempts, next_attempt_at, created_at)
     VALUES ($1, 'dlv_' || substr($2, 5) || substr($1, 5), $2, 'pending', 0, $3, $3)",
    "",
);
const INSERT_ENDPOINT: Sql = Sql::same(concat!(
    "INSERT INTO webhook_endpoints (",
    endpoint_columns!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, NULL)"
));
const LIST_ENDPOINTS: Sql =
    Sql::same(concat!("SELECT ", endpoint_columns!(), " FROM webhook_endpoints WHERE project_id = $1 ORDER BY id"));
const GET_ENDPOINT: Sql =
    Sql::same(concat!("SELECT ", endpoint_columns!(), " FROM webhook_endpoints WHERE id = $1 AND project_id = $2"));
const DELETE_ATTEMPTS: Sql = Sql::same("DELETE FROM webhook_attempts WHERE endpoint_id = $1");
const DELETE_DELIVERIES: Sql = Sql::same("DELETE FROM webhook_deliveries WHERE endpoint_id = $1");
const DELETE_ENDPOINT: Sql = Sql::same("DELETE FROM webhook_endpoints WHERE id = $1");
macro_rules! due {
    () => {
        "SELECT d.id, d.endpoint_id, w.url, w.secret, d.attempts, e.id, e.project_id, e.type, e.payload
     FROM webhook_deliveries d JOIN webhook_endpoints w ON w.id = d.endpoint_id JOIN events e ON e.id = d.event_id
     WHERE d.status = 'pending' AND d.next_attempt_at <= $1 AND w.disabled_at IS NULL
     AND (d.locked_until IS NULL OR d.locked_until <= $1) ORDER BY d.next_attempt_at LIMIT $2"
    };
}
/// Due deliveries. On SQLite the writer thread makes this and the lease one atomic step; on
/// PostgreSQL, rows another node is leasing right now are skipped rather than waited for.
const LOCK_DUE: Sql = Sql::each(due!(), concat!(due!(), " FOR UPDATE OF d SKIP LOCKED"));
const LEASE: Sql = Sql::same("UPDATE webhook_deliveries SET locked_until = $1 WHERE endpoint_id = $2 AND id = $3");
const FINISH_ATTEMPT: Sql = Sql::same(
    "UPDATE webhook_deliveries SET status = $1, attempts = attempts + 1, next_attempt_at = $2, locked_until = NULL
     WHERE endpoint_id = $3 AND id = $4 RETURNING attempts",
);
const INSERT_ATTEMPT: Sql = Sql::same(
    "INSERT INTO webhook_attempts (endpoint_id, delivery_id, attempt, at, status_code, error, duration_ms)
     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
);
const DISABLE_ENDPOINT: Sql = Sql::same("UPDATE webhook_endpoints SET disabled_at = $1 WHERE id = $2");
const ENABLE_ENDPOINT: Sql = Sql::same("UPDATE webhook_endpoints SET disabled_at = NULL WHERE id = $1");
const LIST_DELIVERIES: Sql = Sql::same(
    "SELECT d.id, d.event_id, e.type, d.status, d.attempts, d.next_attempt_at, d.created_at
     FROM webhook_deliveries d JOIN events e ON e.id = d.event_id WHERE d.endpoint_id = $1 ORDER BY d.id DESC LIMIT $2",
);
const LIST_ATTEMPTS: Sql = Sql::same(
    "SELECT at, status_code, error, duration_ms FROM webhook_attempts WHERE endpoint_id = $1 AND delivery_id = $2
     ORDER BY attempt",
);
const REPLAY: Sql = Sql::same(
    "UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = $1, locked_until = NULL
     WHERE endpoint_id = $2 AND id = $3 AND status = 'failed'",
);
/// The status of delivery `$2` of endpoint `$1`, if it has one by that id.
const DELIVERY_STATUS: Sql = Sql::same("SELECT status FROM webhook_deliveries WHERE endpoint_id = $1 AND id = $2");
const UNPUBLISHED: Sql =
    Sql::same("SELECT id, project_id, type, payload FROM events WHERE published_at IS NULL ORDER BY id LIMIT $1");
const MARK_PUBLISHED: Sql = Sql::same("UPDATE events SET published_at = $1 WHERE id = $2");

#[async_trait]
impl<B: Backend> OutboxStore for Db<B> {
    async fn create_webhook(&self, endpoint: WebhookEndpoint) -> Result<WebhookEndpoint, StoreError> {
        self.write("create_webhook", move |tx| Box::pin(create_endpoint(tx, endpoint))).await
    }

    async fn list_webhooks(&self, project: ProjectId) -> Result<Vec<WebhookEndpoint>, StoreError> {
        self.read("list_webhooks", move |c| {
            Box::pin(async move { c.fetch_all(&LIST_ENDPOINTS, &[Arg::Text(&project.to_string())]).await })
        })
        .await
    }

    async fn get_webhook(&self, project: ProjectId, id: String) -> Result<WebhookEndpoint, StoreError> {
        self.read("get_webhook", move |c| Box::pin(get_endpoint(c, project, id))).await
    }

    async fn delete_webhook(&self, project: ProjectId, id: String) -> Result<(), StoreError> {
        self.write("delete_webhook", move |tx| Box::pin(delete_endpoint(tx, project, id))).await
    }

    async fn send_test_event(&self, project: ProjectId, id: String) -> Result<Event, StoreError> {
        self.write("send_test_event", move |tx| Box::pin(send_test_event(tx, project, id))).await
    }

    async fn claim_deliveries(
        &self,
        now: OffsetDateTime,
        lease: Duration,
        limit: u32,
    ) -> Result<Vec<DeliveryJob>, StoreError> {
        self.write("claim_deliveries", move |tx| Box::pin(claim(tx, now, lease, limit))).await
    }

    async fn record_attempts(&self, attempts: Vec<Attempted>) -> Result<(), StoreError> {
        self.write("record_attempts", move |tx| Box::pin(record_attempts(tx, attempts))).await
    }

    async fn list_deliveries(
        &self,
        project: ProjectId,
        endpoint: String,
        limit: u32,
    ) -> Result<Vec<Delivery>, StoreError> {
        self.read("list_deliveries", move |c| Box::pin(list_deliveries(c, project, endpoint, limit))).await
    }

    async fn replay_delivery(&self, project: ProjectId, endpoint: String, delivery: String) -> Result<(), StoreError> {
        self.write("replay_delivery", move |tx| Box::pin(replay(tx, project, endpoint, delivery))).await
    }

    async fn unpublished_events(&self, limit: u32) -> Result<Vec<Event>, StoreError> {
        self.read("unpublished_events", move |c| {
            Box::pin(async move { c.fetch_all(&UNPUBLISHED, &[Arg::Int(i64::from(limit))]).await })
        })
        .await
    }

    async fn mark_published(&self, ids: Vec<String>) -> Result<(), StoreError> {
        self.write("mark_published", move |tx| {
            Box::pin(async move {
                let at = to_unix_micros(now());
                for id in &ids {
                    tx.execute(&MARK_PUBLISHED, &[Arg::Int(at), Arg::Text(id)]).await?;
                }
                Ok(())
            })
        })
        .await
    }
}

/// Writes `event` and a pending delivery for every active endpoint subscribed to its type (or
/// for `only_endpoint`). Without a message-queue sink (`publish` off) it is born published.
pub(crate) async fn record(
    tx: &mut impl Conn,
    event: &Event,
    publish: bool,
    only_endpoint: Option<&str>,
) -> Result<(), StoreError> {
    record_all(tx, &event.project_id.to_string(), std::slice::from_ref(event), publish, only_endpoint).await?;
    tx.flush().await
}

/// [`record`] for `events` of `project`, in order: one statement for the events and one for
/// their deliveries, both queued (see `Conn::queue_many`). PostgreSQL finds the endpoints in the
/// deliveries' statement; SQLite looks them up first, once per event type (see [`SUBSCRIBED`]).
/// The events' `seq` reads the events already written, so a write records its events once and
/// flushes before another write's events are queued.
pub(crate) async fn record_all(
    tx: &mut impl Conn,
    project: &str,
    events: &[Event],
    publish: bool,
    only_endpoint: Option<&str>,
) -> Result<(), StoreError> {
    if events.is_empty() {
        return Ok(());
    }
    let at = to_unix_micros(now());
    let columns = [
        Column::Text(events.iter().map(|e| e.id.as_str()).collect()),
        Column::Same(Arg::Text(project)),
        Column::Text(events.iter().map(|e| e.kind.as_str()).collect()),
        Column::Text(events.iter().map(|e| e.payload.as_str()).collect()),
        Column::Same(Arg::Int(at)),
        Column::Same(Arg::OptInt((!publish).then_some(at))),
        Column::OptText(events.iter().map(|e| e.resource.as_ref().map(|(id, _)| id.as_str())).collect()),
        Column::OptText(events.iter().map(|e| e.resource.as_ref().map(|(_, kind)| kind.as_str())).collect()),
    ];
    tx.queue_many(&INSERT_EVENTS, &columns).await?;
    if tx.dialect() == Dialect::Postgres {
        let columns = [
            Column::Text(events.iter().map(|e| e.id.as_str()).collect()),
            Column::Text(events.iter().map(|e| e.kind.as_str()).collect()),
            Column::Same(Arg::Int(at)),
            Column::Same(Arg::Text(project)),
            Column::Same(Arg::OptText(only_endpoint)),
        ];
        return tx.queue_many(&DELIVER_TO_SUBSCRIBED, &columns).await;
    }
    let mut subscribers: HashMap<&str, Vec<String>> = HashMap::new();
    for e in events {
        if !subscribers.contains_key(e.kind.as_str()) {
            let args = [Arg::Text(project), Arg::OptText(only_endpoint), Arg::Text(&e.kind)];
            subscribers.insert(&e.kind, tx.fetch_all(&SUBSCRIBED, &args).await?);
        }
    }
    let (mut endpoints, mut event_ids) = (Vec::new(), Vec::new());
    for e in events {
        for endpoint in &subscribers[e.kind.as_str()] {
            endpoints.push(endpoint.as_str());
            event_ids.push(e.id.as_str());
        }
    }
    let columns = [Column::Text(endpoints), Column::Text(event_ids), Column::Same(Arg::Int(at))];
    tx.queue_many(&INSERT_DELIVERIES, &columns).await
}

/// Stored with a space on both sides, so that `LIKE '% type %'` matches whole types.
fn types_column(types: &[String]) -> String {
    format!(" {} ", types.join(" "))
}

async fn create_endpoint(tx: &mut impl Conn, e: WebhookEndpoint) -> Result<WebhookEndpoint, StoreError> {
    let (project, types) = (e.project_id.to_string(), types_column(&e.event_types));
    let args = [
        Arg::Text(&e.id),
        Arg::Text(&project),
        Arg::Text(&e.url),
        Arg::Text(&types),
        Arg::Text(&e.secret),
        Arg::Int(to_unix_micros(e.created_at)),
    ];
    tx.execute(&INSERT_ENDPOINT, &args).await?;
    Ok(e)
}

async fn get_endpoint(c: &mut impl Conn, project: ProjectId, id: String) -> Result<WebhookEndpoint, StoreError> {
    c.fetch_one(&GET_ENDPOINT, &[Arg::Text(&id), Arg::Text(&project.to_string())]).await
}

async fn delete_endpoint(tx: &mut impl Conn, project: ProjectId, id: String) -> Result<(), StoreError> {
    get_endpoint(tx, project, id.clone()).await?;
    for sql in [&DELETE_ATTEMPTS, &DELETE_DELIVERIES, &DELETE_ENDPOINT] {
        tx.execute(sql, &[Arg::Text(&id)]).await?;
    }
    Ok(())
}

async fn send_test_event(tx: &mut impl Conn, project: ProjectId, id: String) -> Result<Event, StoreError> {
    let endpoint = get_endpoint(tx, project, id).await?;
    let event = new_event(TEST_EVENT, project, serde_json::json!({"webhook_id": endpoint.id}));
    record(tx, &event, false, Some(&endpoint.id)).await?;
    Ok(event)
}

async fn claim(
    tx: &mut impl Conn,
    at: OffsetDateTime,
    lease: Duration,
    limit: u32,
) -> Result<Vec<DeliveryJob>, StoreError> {
    let jobs: Vec<DeliveryJob> =
        tx.fetch_all(&LOCK_DUE, &[Arg::Int(to_unix_micros(at)), Arg::Int(i64::from(limit))]).await?;
    let until = Arg::Int(to_unix_micros(at + lease));
    for job in &jobs {
        tx.execute(&LEASE, &[until, Arg::Text(&job.endpoint_id), Arg::Text(&job.id)]).await?;
    }
    Ok(jobs)
}

async fn record_attempts(tx: &mut impl Conn, mut attempts: Vec<Attempted>) -> Result<(), StoreError> {
    let at = to_unix_micros(now());
    // Rows are locked in one order, so two nodes recording overlapping groups (after a lease ran
    // out) wait for each other instead of deadlocking.
    attempts.sort_by(|a, b| a.delivery_id.cmp(&b.delivery_id));
    for Attempted { endpoint_id, delivery_id, result } in &attempts {
        let (status, due) = result.next.delivery_status();
        let next = due.map_or(at, to_unix_micros);
        let (endpoint, delivery) = (Arg::Text(endpoint_id), Arg::Text(delivery_id));
        let finished: Option<i64> =
            tx.fetch_optional(&FINISH_ATTEMPT, &[Arg::Text(status), Arg::Int(next), endpoint, delivery]).await?;
        let Some(attempt) = finished else {
            continue;
        };
        let args = [
            endpoint,
            delivery,
            Arg::Int(attempt),
            Arg::Int(at),
            Arg::OptInt(result.status_code.map(i64::from)),
            Arg::OptText(result.error.as_deref()),
            Arg::Int(i64::try_from(result.duration_ms).unwrap_or(i64::MAX)),
        ];
        tx.execute(&INSERT_ATTEMPT, &args).await?;
        if result.next == NextStep::DisableEndpoint {
            tx.execute(&DISABLE_ENDPOINT, &[Arg::Int(at), endpoint]).await?;
        }
    }
    Ok(())
}

async fn list_deliveries(
    c: &mut impl Conn,
    project: ProjectId,
    endpoint: String,
    limit: u32,
) -> Result<Vec<Delivery>, StoreError> {
    get_endpoint(c, project, endpoint.clone()).await?;
    let mut deliveries: Vec<Delivery> =
        c.fetch_all(&LIST_DELIVERIES, &[Arg::Text(&endpoint), Arg::Int(i64::from(limit))]).await?;
    for d in &mut deliveries {
        let attempts: Vec<AttemptRow> = c.fetch_all(&LIST_ATTEMPTS, &[Arg::Text(&endpoint), Arg::Text(&d.id)]).await?;
        d.history = attempts.into_iter().map(|a| a.0).collect();
    }
    Ok(deliveries)
}

async fn replay(tx: &mut impl Conn, project: ProjectId, endpoint: String, delivery: String) -> Result<(), StoreError> {
    get_endpoint(tx, project, endpoint.clone()).await?;
    let args = [Arg::Int(to_unix_micros(now())), Arg::Text(&endpoint), Arg::Text(&delivery)];
    if tx.execute(&REPLAY, &args).await? == 0 {
        // Nothing replayed: a delivery this endpoint does not have is not found (another
        // endpoint's or project's included); one it has is not `failed`.
        let status: Option<String> =
            tx.fetch_optional(&DELIVERY_STATUS, &[Arg::Text(&endpoint), Arg::Text(&delivery)]).await?;
        return Err(match status {
            None => StoreError::NotFound,
            Some(status) => {
                StoreError::Conflict(format!("only a failed delivery can be replayed; this one is {status}"))
            }
        });
    }
    // A receiver that answered 410 may be back: replaying re-enables its endpoint.
    tx.execute(&ENABLE_ENDPOINT, &[Arg::Text(&endpoint)]).await.map(drop)
}
