//! Idempotency records on PostgreSQL.

use sqlx::{PgPool, Postgres, Row, Transaction};
use time::OffsetDateTime;
use tollgate_core::time_fmt::{now, to_unix_micros};
use tollgate_core::Resource;

use crate::{IdempotencyClaim, IdempotencyRecord, StoreError};

/// Records `claim` for `resource` in the write's transaction; a key another request recorded
/// first is a conflict (and the caller's transaction rolls back).
pub(super) async fn record(
    tx: &mut Transaction<'_, Postgres>,
    claim: IdempotencyClaim,
    resource: &Resource,
) -> Result<(), StoreError> {
    let response = (claim.render)(resource);
    let text = serde_json::to_string(&response).map_err(|e| StoreError::Internal(e.to_string()))?;
    let at = now();
    let stale = to_unix_micros(at - time::Duration::hours(24));
    sqlx::query("DELETE FROM idempotency_keys WHERE scope = $1 AND key = $2 AND created_at < $3")
        .bind(&claim.scope)
        .bind(&claim.key)
        .bind(stale)
        .execute(&mut **tx)
        .await?;
    let inserted = sqlx::query(
        "INSERT INTO idempotency_keys (scope, key, fingerprint, response, created_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (scope, key) DO NOTHING",
    )
    .bind(&claim.scope)
    .bind(&claim.key)
    .bind(&claim.fingerprint[..])
    .bind(text)
    .bind(to_unix_micros(at))
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if inserted == 0 {
        return Err(StoreError::IdempotencyConflict);
    }
    sqlx::query(
        "DELETE FROM idempotency_keys WHERE (scope, key) IN
         (SELECT scope, key FROM idempotency_keys WHERE created_at < $1 LIMIT 16)",
    )
    .bind(stale)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub(super) async fn find(
    pool: &PgPool,
    scope: &str,
    key: &str,
    since: OffsetDateTime,
) -> Result<Option<IdempotencyRecord>, StoreError> {
    let row = sqlx::query(
        "SELECT fingerprint, response FROM idempotency_keys WHERE scope = $1 AND key = $2 AND created_at >= $3",
    )
    .bind(scope)
    .bind(key)
    .bind(to_unix_micros(since))
    .fetch_optional(pool)
    .await?;
    row.map(|r| {
        let fp: Vec<u8> = r.try_get("fingerprint")?;
        let text: String = r.try_get("response")?;
        Ok(IdempotencyRecord {
            fingerprint: fp.try_into().map_err(|_| StoreError::Internal("bad fingerprint".into()))?,
            response: serde_json::from_str(&text).map_err(|e| StoreError::Internal(e.to_string()))?,
        })
    })
    .transpose()
}
