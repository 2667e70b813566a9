//! Credential rows and their secrets' digests on PostgreSQL.

use sqlx::postgres::PgRow;
use sqlx::{PgPool, Postgres, Row, Transaction};
use time::{Duration, OffsetDateTime};
use tollgate_auth::SecretDigest;
use tollgate_core::time_fmt::{now, to_unix_micros};
use tollgate_core::{Credential, CredentialId, CredentialKind, CredentialLimits, NewCredential, ProjectId};

use crate::rows::{micros, RawCredential};
use crate::{CredentialMatch, StoreError};

const COLUMNS: &str = "c.id, c.project_id, c.name, c.scopes, c.hint, c.created_at, c.rotated_at, c.expires_at, \
     c.last_used_at, c.revoked_at, c.limit_read, c.limit_write";

fn read(r: &PgRow) -> Result<Credential, StoreError> {
    RawCredential {
        id: r.try_get("id")?,
        project_id: r.try_get("project_id")?,
        name: r.try_get("name")?,
        scopes: r.try_get("scopes")?,
        hint: r.try_get("hint")?,
        created_at: r.try_get("created_at")?,
        rotated_at: r.try_get("rotated_at")?,
        expires_at: r.try_get("expires_at")?,
        last_used_at: r.try_get("last_used_at")?,
        revoked_at: r.try_get("revoked_at")?,
        limit_read: r.try_get("limit_read")?,
        limit_write: r.try_get("limit_write")?,
    }
    .into_credential()
}

pub(super) async fn insert_in(
    tx: &mut Transaction<'_, Postgres>,
    new: &NewCredential,
    digest: SecretDigest,
    hint: &str,
) -> Result<Credential, StoreError> {
    let at = now();
    let cred = Credential {
        id: new.id.clone(),
        project_id: new.project_id,
        name: new.name.clone(),
        scopes: new.scopes.clone(),
        hint: hint.to_owned(),
        created_at: at,
        rotated_at: at,
        expires_at: new.expires_at,
        last_used_at: None,
        revoked_at: None,
        limits: new.limits,
    };
    sqlx::query(
        "INSERT INTO credentials (id, kind, project_id, name, scopes, hint, created_at, rotated_at, expires_at,
         limit_read, limit_write) VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8, $9, $10)",
    )
    .bind(cred.id.to_string())
    .bind(cred.id.kind().as_str())
    .bind(cred.project_id.to_string())
    .bind(&cred.name)
    .bind(cred.scopes.to_space_separated())
    .bind(&cred.hint)
    .bind(to_unix_micros(at))
    .bind(micros(cred.expires_at))
    .bind(cred.limits.read.map(|l| l.to_string()))
    .bind(cred.limits.write.map(|l| l.to_string()))
    .execute(&mut **tx)
    .await?;
    insert_secret(tx, &cred.id, digest, at).await?;
    Ok(cred)
}

async fn insert_secret(
    tx: &mut Transaction<'_, Postgres>,
    id: &CredentialId,
    digest: SecretDigest,
    at: OffsetDateTime,
) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO credential_secrets (digest, credential_id, created_at) VALUES ($1, $2, $3)")
        .bind(&digest.0[..])
        .bind(id.to_string())
        .bind(to_unix_micros(at))
        .execute(&mut **tx)
        .await?;
    Ok(())
}

pub(super) async fn insert(
    pool: &PgPool,
    new: &NewCredential,
    digest: SecretDigest,
    hint: &str,
) -> Result<Credential, StoreError> {
    let mut tx = pool.begin().await?;
    let cred = insert_in(&mut tx, new, digest, hint).await?;
    tx.commit().await?;
    Ok(cred)
}

pub(super) async fn list(
    pool: &PgPool,
    kind: CredentialKind,
    project: ProjectId,
) -> Result<Vec<Credential>, StoreError> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM credentials c WHERE c.project_id = $1 AND c.kind = $2 ORDER BY c.created_at, c.id"
    ))
    .bind(project.to_string())
    .bind(kind.as_str())
    .fetch_all(pool)
    .await?;
    rows.iter().map(read).collect()
}

/// One credential; with `project`, only within it.
pub(super) async fn get<'e, E: sqlx::PgExecutor<'e>>(
    exec: E,
    project: Option<ProjectId>,
    id: &CredentialId,
) -> Result<Option<Credential>, StoreError> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM credentials c WHERE c.id = $1 AND ($2::text IS NULL OR c.project_id = $2)"
    ))
    .bind(id.to_string())
    .bind(project.map(|p| p.to_string()))
    .fetch_optional(exec)
    .await?;
    row.as_ref().map(read).transpose()
}

async fn locked(
    tx: &mut Transaction<'_, Postgres>,
    project: ProjectId,
    id: &CredentialId,
) -> Result<Credential, StoreError> {
    let row =
        sqlx::query(&format!("SELECT {COLUMNS} FROM credentials c WHERE c.id = $1 AND c.project_id = $2 FOR UPDATE"))
            .bind(id.to_string())
            .bind(project.to_string())
            .fetch_optional(&mut **tx)
            .await?;
    row.as_ref().map(read).transpose()?.ok_or(StoreError::NotFound)
}

pub(super) async fn find_by_digest(
    pool: &PgPool,
    digest: SecretDigest,
    at: OffsetDateTime,
) -> Result<Option<CredentialMatch>, StoreError> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS}, s.digest FROM credential_secrets s JOIN credentials c ON c.id = s.credential_id
         WHERE s.digest = $1 AND (s.expires_at IS NULL OR s.expires_at > $2)"
    ))
    .bind(&digest.0[..])
    .bind(to_unix_micros(at))
    .fetch_optional(pool)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let stored: Vec<u8> = row.try_get("digest")?;
    let stored: [u8; 32] =
        stored.try_into().map_err(|_| StoreError::Internal("stored digest has the wrong length".into()))?;
    Ok(Some(CredentialMatch { credential: read(&row)?, stored_digest: SecretDigest(stored) }))
}

pub(super) async fn rotate(
    pool: &PgPool,
    project: ProjectId,
    id: &CredentialId,
    digest: SecretDigest,
    hint: &str,
    grace: Duration,
) -> Result<Credential, StoreError> {
    let mut tx = pool.begin().await?;
    let cred = locked(&mut tx, project, id).await?;
    if cred.revoked_at.is_some() {
        return Err(StoreError::Conflict("a revoked credential cannot be rotated".into()));
    }
    let at = now();
    let grace_end = to_unix_micros(at + grace);
    sqlx::query(
        "UPDATE credential_secrets SET expires_at = $1 WHERE credential_id = $2 AND (expires_at IS NULL OR expires_at > $1)",
    )
    .bind(grace_end)
    .bind(id.to_string())
    .execute(&mut *tx)
    .await?;
    insert_secret(&mut tx, id, digest, at).await?;
    sqlx::query("UPDATE credentials SET hint = $1, rotated_at = $2 WHERE id = $3")
        .bind(hint)
        .bind(to_unix_micros(at))
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Credential { hint: hint.to_owned(), rotated_at: at, ..cred })
}

pub(super) async fn revoke(pool: &PgPool, project: ProjectId, id: &CredentialId) -> Result<Credential, StoreError> {
    let mut tx = pool.begin().await?;
    let cred = locked(&mut tx, project, id).await?;
    if cred.revoked_at.is_some() {
        return Ok(cred);
    }
    let at = now();
    sqlx::query("UPDATE credentials SET revoked_at = $1 WHERE id = $2")
        .bind(to_unix_micros(at))
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Credential { revoked_at: Some(at), ..cred })
}

pub(super) async fn set_limits(
    pool: &PgPool,
    project: ProjectId,
    id: &CredentialId,
    limits: CredentialLimits,
) -> Result<Credential, StoreError> {
    let mut tx = pool.begin().await?;
    let cred = locked(&mut tx, project, id).await?;
    let merged = CredentialLimits { read: limits.read.or(cred.limits.read), write: limits.write.or(cred.limits.write) };
    sqlx::query("UPDATE credentials SET limit_read = $1, limit_write = $2 WHERE id = $3")
        .bind(merged.read.map(|l| l.to_string()))
        .bind(merged.write.map(|l| l.to_string()))
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Credential { limits: merged, ..cred })
}

pub(super) async fn touch(pool: &PgPool, id: &CredentialId, at: OffsetDateTime) -> Result<(), StoreError> {
    sqlx::query("UPDATE credentials SET last_used_at = $1 WHERE id = $2")
        .bind(to_unix_micros(at))
        .bind(id.to_string())
        .execute(pool)
        .await?;
    Ok(())
}
