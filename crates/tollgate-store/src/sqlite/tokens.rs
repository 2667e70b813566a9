//! JWT signing keys and the denylist of revoked access tokens.

use rusqlite::{params, Connection, OptionalExtension};
use time::OffsetDateTime;
use tollgate_core::time_fmt::{from_unix_micros, to_unix_micros};

use crate::{StoreError, StoredSigningKey};

/// Every key not yet retired at `at`, newest first.
pub(super) fn live_keys(c: &Connection, at: OffsetDateTime) -> Result<Vec<StoredSigningKey>, StoreError> {
    let mut stmt = c.prepare_cached(
        "SELECT kid, algorithm, private_der, public_jwk, created_at, retire_at FROM signing_keys
         WHERE retire_at IS NULL OR retire_at > ?1 ORDER BY created_at DESC, kid DESC",
    )?;
    let rows = stmt.query_map([to_unix_micros(at)], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, Vec<u8>>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, i64>(4)?,
            r.get::<_, Option<i64>>(5)?,
        ))
    })?;
    rows.map(|row| {
        let (kid, algorithm, private_der, jwk, created, retire) = row?;
        Ok(StoredSigningKey {
            public_jwk: serde_json::from_str(&jwk).map_err(|_| StoreError::Internal(format!("corrupt JWK {kid}")))?,
            kid,
            algorithm,
            private_der,
            created_at: from_unix_micros(created),
            retire_at: retire.map(from_unix_micros),
        })
    })
    .collect()
}

/// Adds `key` as the signing key. With `retire_others_at`, the keys signing until now stay in
/// the JWKS until then; without it, `key` is added only when there is no live key at all.
pub(super) fn add_key(
    c: &Connection,
    key: &StoredSigningKey,
    retire_others_at: Option<OffsetDateTime>,
) -> Result<bool, StoreError> {
    match retire_others_at {
        Some(at) => {
            c.prepare_cached("UPDATE signing_keys SET retire_at = ?1 WHERE retire_at IS NULL")?
                .execute([to_unix_micros(at)])?;
        }
        None => {
            let live: Option<String> = c
                .query_row("SELECT kid FROM signing_keys WHERE retire_at IS NULL LIMIT 1", [], |r| r.get(0))
                .optional()?;
            if live.is_some() {
                return Ok(false);
            }
        }
    }
    c.prepare_cached(
        "INSERT INTO signing_keys (kid, algorithm, private_der, public_jwk, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        key.kid,
        key.algorithm,
        key.private_der,
        key.public_jwk.to_string(),
        to_unix_micros(key.created_at)
    ])?;
    Ok(true)
}

pub(super) fn revoke_token(c: &Connection, jti: &str, expires_at: OffsetDateTime) -> Result<(), StoreError> {
    c.prepare_cached("INSERT OR IGNORE INTO revoked_tokens (jti, expires_at) VALUES (?1, ?2)")?
        .execute(params![jti, to_unix_micros(expires_at)])?;
    // Entries past their token's expiry can go: the token fails on `exp` anyway.
    c.prepare_cached("DELETE FROM revoked_tokens WHERE expires_at < ?1")?
        .execute([to_unix_micros(tollgate_core::time_fmt::now())])?;
    Ok(())
}

pub(super) fn is_revoked(c: &Connection, jti: &str) -> Result<bool, StoreError> {
    Ok(c.prepare_cached("SELECT 1 FROM revoked_tokens WHERE jti = ?1")?
        .query_row([jti], |_| Ok(()))
        .optional()?
        .is_some())
}
