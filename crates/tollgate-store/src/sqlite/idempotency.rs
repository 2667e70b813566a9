//! Idempotency records on SQLite.

use rusqlite::{params, Connection, OptionalExtension};
use time::OffsetDateTime;
use tollgate_core::time_fmt::{now, to_unix_micros};
use tollgate_core::Resource;

use crate::{IdempotencyClaim, IdempotencyRecord, StoreError};

/// Records `claim` for `resource`; a key recorded by a concurrent request is a conflict.
pub(super) fn record(c: &Connection, claim: IdempotencyClaim, resource: &Resource) -> Result<(), StoreError> {
    let response = (claim.render)(resource);
    let text = serde_json::to_string(&response).map_err(|e| StoreError::Internal(e.to_string()))?;
    let at = now();
    // An expired record of the same key makes way; other expired ones are swept a few at a time.
    let stale = to_unix_micros(at - time::Duration::hours(24));
    c.prepare_cached("DELETE FROM idempotency_keys WHERE scope = ?1 AND key = ?2 AND created_at < ?3")?
        .execute(params![claim.scope, claim.key, stale])?;
    let inserted = c
        .prepare_cached(
            "INSERT INTO idempotency_keys (scope, key, fingerprint, response, created_at) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (scope, key) DO NOTHING",
        )?
        .execute(params![claim.scope, claim.key, &claim.fingerprint[..], text, to_unix_micros(at)])?;
    if inserted == 0 {
        return Err(StoreError::IdempotencyConflict);
    }
    c.prepare_cached(
        "DELETE FROM idempotency_keys WHERE (scope, key) IN
         (SELECT scope, key FROM idempotency_keys WHERE created_at < ?1 LIMIT 16)",
    )?
    .execute([stale])?;
    Ok(())
}

pub(super) fn find(
    c: &Connection,
    scope: &str,
    key: &str,
    since: OffsetDateTime,
) -> Result<Option<IdempotencyRecord>, StoreError> {
    let row = c
        .prepare_cached(
            "SELECT fingerprint, response FROM idempotency_keys WHERE scope = ?1 AND key = ?2 AND created_at >= ?3",
        )?
        .query_row(params![scope, key, to_unix_micros(since)], |r| {
            Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, String>(1)?))
        })
        .optional()?;
    row.map(|(fp, text)| {
        Ok(IdempotencyRecord {
            fingerprint: fp.try_into().map_err(|_| StoreError::Internal("bad fingerprint".into()))?,
            response: serde_json::from_str(&text).map_err(|e| StoreError::Internal(e.to_string()))?,
        })
    })
    .transpose()
}
