//! Idempotency records: the first response of each (scope, key), written in the transaction of
//! the change it answers and kept 24 hours. A key another request recorded first is a conflict,
//! which rolls the caller's change back.

use time::{Duration, OffsetDateTime};
use tollgate_core::time_fmt::{now, to_unix_micros};

use crate::conn::{Arg, Conn, Sql};
use crate::{IdempotencyClaim, IdempotencyRecord, StoreError};

/// How long a key is remembered.
pub const RETENTION: Duration = Duration::hours(24);

const DELETE_STALE_KEY: Sql =
    Sql::same("DELETE FROM idempotency_keys WHERE scope = $1 AND key = $2 AND created_at < $3");
const INSERT: Sql = Sql::same(
    "INSERT INTO idempotency_keys (scope, key, fingerprint, response, created_at) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (scope, key) DO NOTHING",
);
const SWEEP: Sql = Sql::same(
    "DELETE FROM idempotency_keys WHERE (scope, key) IN
     (SELECT scope, key FROM idempotency_keys WHERE created_at < $1 LIMIT 16)",
);
const FIND: Sql =
    Sql::same("SELECT fingerprint, response FROM idempotency_keys WHERE scope = $1 AND key = $2 AND created_at >= $3");

/// Records `claim` for what the write wrote, in the write's transaction.
pub(crate) async fn record<T>(tx: &mut impl Conn, claim: IdempotencyClaim<T>, written: &T) -> Result<(), StoreError> {
    let response = (claim.render)(written);
    let text = serde_json::to_string(&response).map_err(|e| StoreError::internal("encoding a response", e))?;
    let at = now();
    let stale = Arg::Int(to_unix_micros(at - RETENTION));
    let (scope, key) = (Arg::Text(&claim.scope), Arg::Text(&claim.key));
    // An expired record of the same key makes way; other expired ones are swept a few at a time.
    tx.execute(&DELETE_STALE_KEY, &[scope, key, stale]).await?;
    let fingerprint = Arg::Blob(&claim.fingerprint);
    let inserted =
        tx.execute(&INSERT, &[scope, key, fingerprint, Arg::Text(&text), Arg::Int(to_unix_micros(at))]).await?;
    if inserted == 0 {
        return Err(StoreError::IdempotencyConflict);
    }
    tx.execute(&SWEEP, &[stale]).await.map(drop)
}

/// The record of `key` in `scope` made since `since`.
pub(crate) async fn find(
    c: &mut impl Conn,
    scope: String,
    key: String,
    since: OffsetDateTime,
) -> Result<Option<IdempotencyRecord>, StoreError> {
    c.fetch_optional(&FIND, &[Arg::Text(&scope), Arg::Text(&key), Arg::Int(to_unix_micros(since))]).await
}
