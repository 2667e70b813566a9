//! Signing keys and revoked tokens on PostgreSQL.

use sqlx::{PgPool, Row};
use time::OffsetDateTime;
use tollgate_core::time_fmt::{from_unix_micros, now, to_unix_micros};

use crate::{StoreError, StoredSigningKey};

/// Serialises signing-key changes between nodes and CLI runs.
const SIGNING_LOCK: i64 = 0x7369_676e_6b65_7973;

pub(super) async fn live_keys(pool: &PgPool, at: OffsetDateTime) -> Result<Vec<StoredSigningKey>, StoreError> {
    let rows = sqlx::query(
        "SELECT kid, algorithm, private_der, public_jwk, created_at, retire_at FROM signing_keys
         WHERE retire_at IS NULL OR retire_at > $1 ORDER BY created_at DESC, kid DESC",
    )
    .bind(to_unix_micros(at))
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            let kid: String = r.try_get("kid")?;
            let jwk: String = r.try_get("public_jwk")?;
            Ok(StoredSigningKey {
                public_jwk: serde_json::from_str(&jwk)
                    .map_err(|_| StoreError::Internal(format!("corrupt JWK {kid}")))?,
                kid,
                algorithm: r.try_get("algorithm")?,
                private_der: r.try_get("private_der")?,
                created_at: from_unix_micros(r.try_get("created_at")?),
                retire_at: r.try_get::<Option<i64>, _>("retire_at")?.map(from_unix_micros),
            })
        })
        .collect()
}

pub(super) async fn add_key(
    pool: &PgPool,
    key: &StoredSigningKey,
    retire_others_at: Option<OffsetDateTime>,
) -> Result<bool, StoreError> {
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(SIGNING_LOCK).execute(&mut *tx).await?;
    match retire_others_at {
        Some(at) => {
            sqlx::query("UPDATE signing_keys SET retire_at = $1 WHERE retire_at IS NULL")
                .bind(to_unix_micros(at))
                .execute(&mut *tx)
                .await?;
        }
        None => {
            let live = sqlx::query("SELECT kid FROM signing_keys WHERE retire_at IS NULL LIMIT 1")
                .fetch_optional(&mut *tx)
                .await?;
            if live.is_some() {
                return Ok(false);
            }
        }
    }
    sqlx::query(
        "INSERT INTO signing_keys (kid, algorithm, private_der, public_jwk, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&key.kid)
    .bind(&key.algorithm)
    .bind(&key.private_der)
    .bind(key.public_jwk.to_string())
    .bind(to_unix_micros(key.created_at))
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(true)
}

pub(super) async fn revoke_token(pool: &PgPool, jti: &str, expires_at: OffsetDateTime) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO revoked_tokens (jti, expires_at) VALUES ($1, $2) ON CONFLICT (jti) DO NOTHING")
        .bind(jti)
        .bind(to_unix_micros(expires_at))
        .execute(pool)
        .await?;
    sqlx::query("DELETE FROM revoked_tokens WHERE expires_at < $1").bind(to_unix_micros(now())).execute(pool).await?;
    Ok(())
}

pub(super) async fn is_revoked(pool: &PgPool, jti: &str) -> Result<bool, StoreError> {
    Ok(sqlx::query("SELECT 1 FROM revoked_tokens WHERE jti = $1").bind(jti).fetch_optional(pool).await?.is_some())
}
