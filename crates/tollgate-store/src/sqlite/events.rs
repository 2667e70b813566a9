//! The outbox, webhook endpoints and deliveries on SQLite.

use std::sync::LazyLock;

use rusqlite::{params, Connection, OptionalExtension, Row};
use time::{Duration, OffsetDateTime};
use tollgate_core::time_fmt::{from_unix_micros, now, to_unix_micros};
use tollgate_core::webhook::{Attempted, Delivery, DeliveryJob, Event, NextStep, WebhookEndpoint};
use tollgate_core::ProjectId;

use crate::events::delivery_id_sql;
use crate::StoreError;

/// A pending delivery of event `?1` (project `?4`, type `?5`) at `?2` for every active endpoint
/// subscribed to its type, or for endpoint `?3` alone. The endpoints are matched on the event's
/// own fields, not by reading the event back; the text is built once, not on every write.
static RECORD_DELIVERIES: LazyLock<String> = LazyLock::new(|| {
    format!(
        "INSERT INTO webhook_deliveries (endpoint_id, id, event_id, status, attempts, next_attempt_at, created_at)
         SELECT w.id, {}, ?1, 'pending', 0, ?2, ?2 FROM webhook_endpoints w
         WHERE w.project_id = ?4 AND w.disabled_at IS NULL
         AND (w.id = ?3 OR (?3 IS NULL AND w.event_types LIKE '% ' || ?5 || ' %'))",
        delivery_id_sql("?1")
    )
});

/// Writes `event` and a pending delivery for every active endpoint subscribed to its type.
pub(super) fn record(
    c: &Connection,
    event: &Event,
    publish: bool,
    only_endpoint: Option<&str>,
) -> Result<(), StoreError> {
    let at = to_unix_micros(now());
    let project = event.project_id.to_string();
    c.prepare_cached(
        "INSERT INTO events (id, project_id, type, payload, created_at, published_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![event.id, project, event.kind, event.payload, at, (!publish).then_some(at)])?;
    c.prepare_cached(&RECORD_DELIVERIES)?.execute(params![event.id, at, only_endpoint, project, event.kind])?;
    Ok(())
}

const ENDPOINT_COLUMNS: &str = "id, project_id, url, event_types, secret, created_at, disabled_at";

fn endpoint(r: &Row<'_>) -> rusqlite::Result<WebhookEndpointRow> {
    Ok(WebhookEndpointRow {
        id: r.get(0)?,
        project_id: r.get(1)?,
        url: r.get(2)?,
        event_types: r.get(3)?,
        secret: r.get(4)?,
        created_at: r.get(5)?,
        disabled_at: r.get(6)?,
    })
}

/// An endpoint row before it is checked.
pub(crate) struct WebhookEndpointRow {
    pub id: String,
    pub project_id: String,
    pub url: String,
    pub event_types: String,
    pub secret: String,
    pub created_at: i64,
    pub disabled_at: Option<i64>,
}

impl WebhookEndpointRow {
    pub(crate) fn into_endpoint(self) -> Result<WebhookEndpoint, StoreError> {
        Ok(WebhookEndpoint {
            project_id: ProjectId::parse(&self.project_id)
                .ok_or_else(|| StoreError::Internal(format!("corrupt endpoint {}", self.id)))?,
            id: self.id,
            url: self.url,
            event_types: self.event_types.split_whitespace().map(str::to_owned).collect(),
            secret: self.secret,
            created_at: from_unix_micros(self.created_at),
            disabled_at: self.disabled_at.map(from_unix_micros),
        })
    }
}

/// Stored with a space on both sides, so that `LIKE '% type %'` matches whole types.
pub(crate) fn types_column(types: &[String]) -> String {
    format!(" {} ", types.join(" "))
}

pub(super) fn create_endpoint(c: &Connection, e: &WebhookEndpoint) -> Result<(), StoreError> {
    c.prepare_cached(&format!(
        "INSERT INTO webhook_endpoints ({ENDPOINT_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, NULL)"
    ))?
    .execute(params![
        e.id,
        e.project_id.to_string(),
        e.url,
        types_column(&e.event_types),
        e.secret,
        to_unix_micros(e.created_at)
    ])?;
    Ok(())
}

pub(super) fn list_endpoints(c: &Connection, project: ProjectId) -> Result<Vec<WebhookEndpoint>, StoreError> {
    let mut stmt = c.prepare_cached(&format!(
        "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE project_id = ?1 ORDER BY id"
    ))?;
    let rows = stmt.query_map([project.to_string()], endpoint)?;
    rows.map(|r| r.map_err(StoreError::from).and_then(WebhookEndpointRow::into_endpoint)).collect()
}

pub(super) fn get_endpoint(c: &Connection, project: ProjectId, id: &str) -> Result<WebhookEndpoint, StoreError> {
    c.prepare_cached(&format!("SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE id = ?1 AND project_id = ?2"))?
        .query_row(params![id, project.to_string()], endpoint)
        .optional()?
        .ok_or(StoreError::NotFound)?
        .into_endpoint()
}

pub(super) fn delete_endpoint(c: &Connection, project: ProjectId, id: &str) -> Result<(), StoreError> {
    get_endpoint(c, project, id)?;
    c.prepare_cached("DELETE FROM webhook_attempts WHERE endpoint_id = ?1")?.execute([id])?;
    c.prepare_cached("DELETE FROM webhook_deliveries WHERE endpoint_id = ?1")?.execute([id])?;
    c.prepare_cached("DELETE FROM webhook_endpoints WHERE id = ?1")?.execute([id])?;
    Ok(())
}

pub(super) fn claim(
    c: &Connection,
    at: OffsetDateTime,
    lease: Duration,
    limit: u32,
) -> Result<Vec<DeliveryJob>, StoreError> {
    // This runs on the writer thread, so the read and the lease below are one atomic step.
    let now_us = to_unix_micros(at);
    let jobs = c
        .prepare_cached(
            "SELECT d.id, d.endpoint_id, w.url, w.secret, e.id, e.project_id, e.type, e.payload, d.attempts
             FROM webhook_deliveries d JOIN webhook_endpoints w ON w.id = d.endpoint_id JOIN events e ON e.id = d.event_id
             WHERE d.status = 'pending' AND d.next_attempt_at <= ?1 AND w.disabled_at IS NULL
             AND (d.locked_until IS NULL OR d.locked_until <= ?1) ORDER BY d.next_attempt_at LIMIT ?2",
        )?
        .query_map(params![now_us, limit], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get::<_, String>(5)?,
                r.get(6)?,
                r.get(7)?,
                r.get::<_, u32>(8)?,
            ))
        })?
        .map(|row| {
            let (id, endpoint_id, url, secret, event_id, project, kind, payload, attempts) = row?;
            let project_id = ProjectId::parse(&project)
                .ok_or_else(|| StoreError::Internal(format!("corrupt event {event_id}")))?;
            Ok(DeliveryJob {
                id,
                endpoint_id,
                url,
                secret,
                event: Event { id: event_id, project_id, kind, payload },
                attempts,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    let mut lock =
        c.prepare_cached("UPDATE webhook_deliveries SET locked_until = ?3 WHERE endpoint_id = ?1 AND id = ?2")?;
    let until = to_unix_micros(at + lease);
    for job in &jobs {
        lock.execute(params![job.endpoint_id, job.id, until])?;
    }
    Ok(jobs)
}

pub(super) fn record_attempts(c: &Connection, attempts: &[Attempted]) -> Result<(), StoreError> {
    let at = to_unix_micros(now());
    let mut update = c.prepare_cached(
        "UPDATE webhook_deliveries SET status = ?3, attempts = attempts + 1, next_attempt_at = ?4, locked_until = NULL
         WHERE endpoint_id = ?1 AND id = ?2 RETURNING attempts",
    )?;
    let mut insert = c.prepare_cached(
        "INSERT OR REPLACE INTO webhook_attempts (endpoint_id, delivery_id, attempt, at, status_code, error, duration_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    for Attempted { endpoint_id, delivery_id, result } in attempts {
        let (status, due) = result.next.delivery_status();
        let next = due.map_or(at, to_unix_micros);
        let Some(attempt) =
            update.query_row(params![endpoint_id, delivery_id, status, next], |r| r.get::<_, u32>(0)).optional()?
        else {
            continue;
        };
        insert.execute(params![
            endpoint_id,
            delivery_id,
            attempt,
            at,
            result.status_code,
            result.error,
            result.duration_ms as i64
        ])?;
        if result.next == NextStep::DisableEndpoint {
            c.prepare_cached("UPDATE webhook_endpoints SET disabled_at = ?2 WHERE id = ?1")?
                .execute(params![endpoint_id, at])?;
        }
    }
    Ok(())
}

pub(super) fn list_deliveries(
    c: &Connection,
    project: ProjectId,
    endpoint: &str,
    limit: u32,
) -> Result<Vec<Delivery>, StoreError> {
    get_endpoint(c, project, endpoint)?;
    let mut stmt = c.prepare_cached(
        "SELECT d.id, d.event_id, e.type, d.status, d.attempts, d.next_attempt_at, d.created_at
         FROM webhook_deliveries d JOIN events e ON e.id = d.event_id WHERE d.endpoint_id = ?1 ORDER BY d.id DESC LIMIT ?2",
    )?;
    let rows = stmt
        .query_map(params![endpoint, limit], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get::<_, String>(3)?,
                r.get(4)?,
                r.get::<_, i64>(5)?,
                r.get::<_, i64>(6)?,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let mut attempts = c.prepare_cached(
        "SELECT at, status_code, error, duration_ms FROM webhook_attempts WHERE endpoint_id = ?1 AND delivery_id = ?2
         ORDER BY attempt",
    )?;
    rows.into_iter()
        .map(|(id, event_id, event_type, status, n, next, created)| {
            let history = attempts
                .query_map(params![endpoint, id], |r| {
                    Ok((
                        from_unix_micros(r.get(0)?),
                        r.get::<_, Option<u16>>(1)?,
                        r.get(2)?,
                        r.get::<_, i64>(3)? as u64,
                    ))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Delivery {
                next_attempt_at: (status == "pending").then(|| from_unix_micros(next)),
                id,
                event_id,
                event_type,
                status,
                attempts: n,
                created_at: from_unix_micros(created),
                history,
            })
        })
        .collect()
}

pub(super) fn replay(c: &Connection, project: ProjectId, endpoint: &str, delivery: &str) -> Result<(), StoreError> {
    get_endpoint(c, project, endpoint)?;
    let changed = c
        .prepare_cached(
            "UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = ?3, locked_until = NULL
             WHERE endpoint_id = ?2 AND id = ?1 AND status = 'failed'",
        )?
        .execute(params![delivery, endpoint, to_unix_micros(now())])?;
    if changed == 0 {
        return Err(StoreError::Conflict("only a failed delivery of this endpoint can be replayed".into()));
    }
    // A receiver that answered 410 may be back: replaying re-enables its endpoint.
    c.prepare_cached("UPDATE webhook_endpoints SET disabled_at = NULL WHERE id = ?1")?.execute([endpoint])?;
    Ok(())
}

pub(super) fn claim_unpublished(c: &Connection, limit: u32) -> Result<Vec<Event>, StoreError> {
    let mut stmt = c.prepare_cached(
        "SELECT id, project_id, type, payload FROM events WHERE published_at IS NULL ORDER BY id LIMIT ?1",
    )?;
    let rows =
        stmt.query_map([limit], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get(2)?, r.get(3)?)))?;
    rows.map(|r| {
        let (id, project, kind, payload) = r?;
        Ok(Event {
            project_id: ProjectId::parse(&project)
                .ok_or_else(|| StoreError::Internal(format!("corrupt event {id}")))?,
            id,
            kind,
            payload,
        })
    })
    .collect()
}

pub(super) fn mark_published(c: &Connection, ids: &[String]) -> Result<(), StoreError> {
    let at = to_unix_micros(now());
    let mut stmt = c.prepare_cached("UPDATE events SET published_at = ?2 WHERE id = ?1")?;
    for id in ids {
        stmt.execute(params![id, at])?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use tollgate_core::webhook::AttemptResult;

    use super::*;

    fn result(status_code: u16, next: NextStep) -> AttemptResult {
        AttemptResult { status_code: Some(status_code), error: None, duration_ms: 1, next }
    }

    /// One group of outcomes in one call: each delivery gets its status and attempt row, a 410
    /// disables its endpoint, and a delivery whose endpoint was removed mid-attempt is skipped
    /// without failing the others.
    #[test]
    fn attempts_are_recorded_in_groups() {
        let mut c = Connection::open_in_memory().unwrap();
        super::super::schema::migrations().to_latest(&mut c).unwrap();
        let project = ProjectId::generate();
        c.execute("INSERT INTO projects VALUES (?1, 'p', 0)", [project.to_string()]).unwrap();
        for id in ["whk_0000000000000000000000000A", "whk_0000000000000000000000000B", "whk_0000000000000000000000000C"]
        {
            c.execute(
                "INSERT INTO webhook_endpoints VALUES (?1, ?2, 'http://x.example/', ' resource.created ', 's', 0, NULL)",
                params![id, project.to_string()],
            )
            .unwrap();
        }
        let event = crate::events::new_event("resource.created", project, serde_json::json!({"n": 1}));
        record(&c, &event, false, None).unwrap();
        let jobs = claim(&c, now(), Duration::minutes(1), 10).unwrap();
        assert_eq!(jobs.len(), 3);
        assert!(claim(&c, now(), Duration::minutes(1), 10).unwrap().is_empty(), "leased jobs are not claimed twice");
        delete_endpoint(&c, project, &jobs[2].endpoint_id).unwrap();

        let retry_at = now() + Duration::hours(1);
        let outcomes = [
            result(204, NextStep::Succeeded),
            result(410, NextStep::DisableEndpoint),
            result(500, NextStep::RetryAt(retry_at)),
        ];
        let attempted: Vec<Attempted> = jobs
            .iter()
            .zip(outcomes)
            .map(|(j, result)| Attempted { endpoint_id: j.endpoint_id.clone(), delivery_id: j.id.clone(), result })
            .collect();
        record_attempts(&c, &attempted).unwrap();

        let state = |sql: &str| -> Vec<String> {
            let mut stmt = c.prepare(sql).unwrap();
            stmt.query_map([], |r| r.get::<_, String>(0)).unwrap().map(Result::unwrap).collect()
        };
        assert_eq!(
            state(
                "SELECT substr(endpoint_id, -1) || ' ' || status || ' ' || attempts FROM webhook_deliveries ORDER BY 1"
            ),
            ["A succeeded 1", "B failed 1"]
        );
        assert_eq!(
            state("SELECT substr(endpoint_id, -1) || ' ' || attempt || ' ' || status_code FROM webhook_attempts ORDER BY 1"),
            ["A 1 204", "B 1 410"]
        );
        assert_eq!(state("SELECT substr(id, -1) FROM webhook_endpoints WHERE disabled_at IS NOT NULL"), ["B"]);
    }
}
