//! The outbox, webhook endpoints and deliveries on PostgreSQL. Due deliveries are claimed with
//! `FOR UPDATE SKIP LOCKED` and a lease, so with several nodes each attempt is made by one.

use std::sync::LazyLock;

use sqlx::postgres::PgRow;
use sqlx::{PgPool, Postgres, Row, Transaction};
use time::{Duration, OffsetDateTime};
use tollgate_core::time_fmt::{from_unix_micros, now, to_unix_micros};
use tollgate_core::webhook::{Attempted, Delivery, DeliveryJob, Event, NextStep, WebhookEndpoint};
use tollgate_core::ProjectId;

use crate::events::delivery_id_sql;
use crate::sqlite::events_rows::{types_column, WebhookEndpointRow};
use crate::StoreError;

/// A pending delivery of event `$1` at `$2` for every active endpoint subscribed to its type, or
/// for endpoint `$3` alone; the text is built once, not on every write.
static RECORD_DELIVERIES: LazyLock<String> = LazyLock::new(|| {
    format!(
        "INSERT INTO webhook_deliveries (id, endpoint_id, event_id, status, attempts, next_attempt_at, created_at)
         SELECT {}, w.id, e.id, 'pending', 0, $2, $2 FROM events e JOIN webhook_endpoints w
         ON w.project_id = e.project_id AND w.disabled_at IS NULL
         WHERE e.id = $1 AND (w.id = $3 OR ($3::text IS NULL AND w.event_types LIKE '% ' || e.type || ' %'))",
        delivery_id_sql("e.id")
    )
});

pub(super) async fn record(
    tx: &mut Transaction<'_, Postgres>,
    event: &Event,
    publish: bool,
    only_endpoint: Option<&str>,
) -> Result<(), StoreError> {
    let at = to_unix_micros(now());
    sqlx::query(
        "INSERT INTO events (id, project_id, type, payload, created_at, published_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&event.id)
    .bind(event.project_id.to_string())
    .bind(&event.kind)
    .bind(&event.payload)
    .bind(at)
    .bind((!publish).then_some(at))
    .execute(&mut **tx)
    .await?;
    sqlx::query(&RECORD_DELIVERIES).bind(&event.id).bind(at).bind(only_endpoint).execute(&mut **tx).await?;
    Ok(())
}

const ENDPOINT_COLUMNS: &str = "id, project_id, url, event_types, secret, created_at, disabled_at";

fn endpoint(r: &PgRow) -> Result<WebhookEndpoint, StoreError> {
    WebhookEndpointRow {
        id: r.try_get("id")?,
        project_id: r.try_get("project_id")?,
        url: r.try_get("url")?,
        event_types: r.try_get("event_types")?,
        secret: r.try_get("secret")?,
        created_at: r.try_get("created_at")?,
        disabled_at: r.try_get("disabled_at")?,
    }
    .into_endpoint()
}

pub(super) async fn create_endpoint(pool: &PgPool, e: &WebhookEndpoint) -> Result<(), StoreError> {
    sqlx::query(&format!("INSERT INTO webhook_endpoints ({ENDPOINT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, NULL)"))
        .bind(&e.id)
        .bind(e.project_id.to_string())
        .bind(&e.url)
        .bind(types_column(&e.event_types))
        .bind(&e.secret)
        .bind(to_unix_micros(e.created_at))
        .execute(pool)
        .await?;
    Ok(())
}

pub(super) async fn list_endpoints(pool: &PgPool, project: ProjectId) -> Result<Vec<WebhookEndpoint>, StoreError> {
    sqlx::query(&format!("SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE project_id = $1 ORDER BY id"))
        .bind(project.to_string())
        .fetch_all(pool)
        .await?
        .iter()
        .map(endpoint)
        .collect()
}

pub(super) async fn get_endpoint<'e, E: sqlx::PgExecutor<'e>>(
    exec: E,
    project: ProjectId,
    id: &str,
) -> Result<WebhookEndpoint, StoreError> {
    let row =
        sqlx::query(&format!("SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE id = $1 AND project_id = $2"))
            .bind(id)
            .bind(project.to_string())
            .fetch_optional(exec)
            .await?;
    row.as_ref().map(endpoint).transpose()?.ok_or(StoreError::NotFound)
}

pub(super) async fn delete_endpoint(pool: &PgPool, project: ProjectId, id: &str) -> Result<(), StoreError> {
    let mut tx = pool.begin().await?;
    get_endpoint(&mut *tx, project, id).await?;
    sqlx::query("DELETE FROM webhook_deliveries WHERE endpoint_id = $1").bind(id).execute(&mut *tx).await?;
    sqlx::query("DELETE FROM webhook_endpoints WHERE id = $1").bind(id).execute(&mut *tx).await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn send_test_event(pool: &PgPool, project: ProjectId, id: &str) -> Result<Event, StoreError> {
    let mut tx = pool.begin().await?;
    let endpoint = get_endpoint(&mut *tx, project, id).await?;
    let event = crate::events::new_event(
        tollgate_core::webhook::TEST_EVENT,
        project,
        serde_json::json!({"webhook_id": endpoint.id}),
    );
    record(&mut tx, &event, false, Some(&endpoint.id)).await?;
    tx.commit().await?;
    Ok(event)
}

pub(super) async fn claim(
    pool: &PgPool,
    at: OffsetDateTime,
    lease: Duration,
    limit: u32,
) -> Result<Vec<DeliveryJob>, StoreError> {
    let now_us = to_unix_micros(at);
    let rows = sqlx::query(
        "WITH due AS (
           SELECT d.id FROM webhook_deliveries d JOIN webhook_endpoints w ON w.id = d.endpoint_id
           WHERE d.status = 'pending' AND d.next_attempt_at <= $1 AND w.disabled_at IS NULL
           AND (d.locked_until IS NULL OR d.locked_until <= $1)
           ORDER BY d.next_attempt_at LIMIT $3 FOR UPDATE OF d SKIP LOCKED)
         UPDATE webhook_deliveries d SET locked_until = $2 FROM due, webhook_endpoints w, events e
         WHERE d.id = due.id AND w.id = d.endpoint_id AND e.id = d.event_id
         RETURNING d.id, d.endpoint_id, w.url, w.secret, e.id AS event_id, e.project_id, e.type, e.payload, d.attempts",
    )
    .bind(now_us)
    .bind(to_unix_micros(at + lease))
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            let project: String = r.try_get("project_id")?;
            Ok(DeliveryJob {
                id: r.try_get("id")?,
                endpoint_id: r.try_get("endpoint_id")?,
                url: r.try_get("url")?,
                secret: r.try_get("secret")?,
                event: Event {
                    id: r.try_get("event_id")?,
                    project_id: ProjectId::parse(&project)
                        .ok_or_else(|| StoreError::Internal("corrupt event".into()))?,
                    kind: r.try_get("type")?,
                    payload: r.try_get("payload")?,
                },
                attempts: r.try_get::<i32, _>("attempts")? as u32,
            })
        })
        .collect()
}

pub(super) async fn record_attempts(pool: &PgPool, attempts: &[Attempted]) -> Result<(), StoreError> {
    let at = to_unix_micros(now());
    // Rows are locked in one order, so two nodes recording overlapping batches (after a lease
    // ran out) wait for each other instead of deadlocking.
    let mut attempts: Vec<_> = attempts.iter().collect();
    attempts.sort_by(|a, b| a.delivery_id.cmp(&b.delivery_id));
    let mut tx = pool.begin().await?;
    for Attempted { delivery_id: delivery, result, .. } in attempts {
        let (status, due) = result.next.delivery_status();
        let next = due.map_or(at, to_unix_micros);
        let Some(row) = sqlx::query(
            "UPDATE webhook_deliveries SET status = $2, attempts = attempts + 1, next_attempt_at = $3, locked_until = NULL
             WHERE id = $1 RETURNING attempts, endpoint_id",
        )
        .bind(delivery)
        .bind(status)
        .bind(next)
        .fetch_optional(&mut *tx)
        .await?
        else {
            continue;
        };
        let attempt: i32 = row.try_get(0)?;
        let endpoint: String = row.try_get(1)?;
        sqlx::query(
            "INSERT INTO webhook_attempts (delivery_id, attempt, at, status_code, error, duration_ms) VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (delivery_id, attempt) DO NOTHING",
        )
        .bind(delivery)
        .bind(attempt)
        .bind(at)
        .bind(result.status_code.map(i32::from))
        .bind(&result.error)
        .bind(result.duration_ms as i64)
        .execute(&mut *tx)
        .await?;
        if result.next == NextStep::DisableEndpoint {
            sqlx::query("UPDATE webhook_endpoints SET disabled_at = $2 WHERE id = $1")
                .bind(&endpoint)
                .bind(at)
                .execute(&mut *tx)
                .await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

pub(super) async fn list_deliveries(
    pool: &PgPool,
    project: ProjectId,
    endpoint: &str,
    limit: u32,
) -> Result<Vec<Delivery>, StoreError> {
    get_endpoint(pool, project, endpoint).await?;
    let rows = sqlx::query(
        "SELECT d.id, d.event_id, e.type, d.status, d.attempts, d.next_attempt_at, d.created_at
         FROM webhook_deliveries d JOIN events e ON e.id = d.event_id WHERE d.endpoint_id = $1 ORDER BY d.id DESC LIMIT $2",
    )
    .bind(endpoint)
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let id: String = r.try_get("id")?;
        let history = sqlx::query(
            "SELECT at, status_code, error, duration_ms FROM webhook_attempts WHERE delivery_id = $1 ORDER BY attempt",
        )
        .bind(&id)
        .fetch_all(pool)
        .await?
        .iter()
        .map(|a| {
            Ok((
                from_unix_micros(a.try_get("at")?),
                a.try_get::<Option<i32>, _>("status_code")?.map(|c| c as u16),
                a.try_get("error")?,
                a.try_get::<i64, _>("duration_ms")? as u64,
            ))
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
        let status: String = r.try_get("status")?;
        out.push(Delivery {
            next_attempt_at: (status == "pending").then(|| from_unix_micros(r.try_get("next_attempt_at").unwrap_or(0))),
            id,
            event_id: r.try_get("event_id")?,
            event_type: r.try_get("type")?,
            status,
            attempts: r.try_get::<i32, _>("attempts")? as u32,
            created_at: from_unix_micros(r.try_get("created_at")?),
            history,
        });
    }
    Ok(out)
}

pub(super) async fn replay(
    pool: &PgPool,
    project: ProjectId,
    endpoint: &str,
    delivery: &str,
) -> Result<(), StoreError> {
    let mut tx = pool.begin().await?;
    get_endpoint(&mut *tx, project, endpoint).await?;
    let changed = sqlx::query(
        "UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = $3, locked_until = NULL
         WHERE id = $1 AND endpoint_id = $2 AND status = 'failed'",
    )
    .bind(delivery)
    .bind(endpoint)
    .bind(to_unix_micros(now()))
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if changed == 0 {
        return Err(StoreError::Conflict("only a failed delivery of this endpoint can be replayed".into()));
    }
    sqlx::query("UPDATE webhook_endpoints SET disabled_at = NULL WHERE id = $1")
        .bind(endpoint)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn unpublished(pool: &PgPool, limit: u32) -> Result<Vec<Event>, StoreError> {
    sqlx::query("SELECT id, project_id, type, payload FROM events WHERE published_at IS NULL ORDER BY id LIMIT $1")
        .bind(i64::from(limit))
        .fetch_all(pool)
        .await?
        .iter()
        .map(|r| {
            let id: String = r.try_get("id")?;
            let project: String = r.try_get("project_id")?;
            Ok(Event {
                project_id: ProjectId::parse(&project)
                    .ok_or_else(|| StoreError::Internal(format!("corrupt event {id}")))?,
                id,
                kind: r.try_get("type")?,
                payload: r.try_get("payload")?,
            })
        })
        .collect()
}

pub(super) async fn mark_published(pool: &PgPool, ids: &[String]) -> Result<(), StoreError> {
    sqlx::query("UPDATE events SET published_at = $2 WHERE id = ANY($1)")
        .bind(ids)
        .bind(to_unix_micros(now()))
        .execute(pool)
        .await?;
    Ok(())
}
