//! Credential rows (API keys and OAuth clients) and their secrets' digests. A credential has
//! one current secret and, for a grace period after a rotation, the previous ones.

use rusqlite::{params, Connection, OptionalExtension, Row};
use time::{Duration, OffsetDateTime};
use tollgate_auth::SecretDigest;
use tollgate_core::time_fmt::{now, to_unix_micros};
use tollgate_core::{Credential, CredentialId, CredentialKind, CredentialLimits, NewCredential, ProjectId};

use crate::rows::RawCredential;
use crate::{CredentialMatch, StoreError};

const COLUMNS: &str = "c.id, c.project_id, c.name, c.scopes, c.hint, c.created_at, c.rotated_at, c.expires_at, \
     c.last_used_at, c.revoked_at, c.limit_read, c.limit_write";

pub(super) fn insert(
    c: &Connection,
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
    c.prepare_cached(
        "INSERT INTO credentials (id, kind, project_id, name, scopes, hint, created_at, rotated_at, expires_at,
         limit_read, limit_write) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, ?8, ?9, ?10)",
    )?
    .execute(params![
        cred.id.to_string(),
        cred.id.kind().as_str(),
        cred.project_id.to_string(),
        cred.name,
        cred.scopes.to_space_separated(),
        cred.hint,
        to_unix_micros(at),
        cred.expires_at.map(to_unix_micros),
        cred.limits.read.map(|l| l.to_string()),
        cred.limits.write.map(|l| l.to_string()),
    ])?;
    insert_secret(c, &cred.id, digest, at)?;
    Ok(cred)
}

fn insert_secret(
    c: &Connection,
    id: &CredentialId,
    digest: SecretDigest,
    at: OffsetDateTime,
) -> Result<(), StoreError> {
    c.prepare_cached("INSERT INTO credential_secrets (digest, credential_id, created_at) VALUES (?1, ?2, ?3)")?
        .execute(params![&digest.0[..], id.to_string(), to_unix_micros(at)])?;
    Ok(())
}

pub(super) fn list(c: &Connection, kind: CredentialKind, project: ProjectId) -> Result<Vec<Credential>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM credentials c WHERE c.project_id = ?1 AND c.kind = ?2 ORDER BY c.created_at, c.id"
    );
    let mut stmt = c.prepare_cached(&sql)?;
    let rows = stmt.query_map(params![project.to_string(), kind.as_str()], read)?;
    rows.map(|r| r.map_err(StoreError::from).and_then(|k| k)).collect()
}

pub(super) fn get(c: &Connection, project: ProjectId, id: &CredentialId) -> Result<Option<Credential>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM credentials c WHERE c.id = ?1 AND c.project_id = ?2");
    c.prepare_cached(&sql)?.query_row(params![id.to_string(), project.to_string()], read).optional()?.transpose()
}

/// A credential by id alone, whatever its project (token verification knows only the id).
pub(super) fn get_any(c: &Connection, id: &CredentialId) -> Result<Option<Credential>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM credentials c WHERE c.id = ?1");
    c.prepare_cached(&sql)?.query_row(params![id.to_string()], read).optional()?.transpose()
}

pub(super) fn find_by_digest(
    c: &Connection,
    digest: SecretDigest,
    at: OffsetDateTime,
) -> Result<Option<CredentialMatch>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS}, s.digest FROM credential_secrets s JOIN credentials c ON c.id = s.credential_id
         WHERE s.digest = ?1 AND (s.expires_at IS NULL OR s.expires_at > ?2)"
    );
    let found = c
        .prepare_cached(&sql)?
        .query_row(params![&digest.0[..], to_unix_micros(at)], |r| {
            let stored: Vec<u8> = r.get(12)?;
            Ok((read(r)?, stored))
        })
        .optional()?;
    let Some((cred, stored)) = found else {
        return Ok(None);
    };
    let stored: [u8; 32] =
        stored.try_into().map_err(|_| StoreError::Internal("stored digest has the wrong length".into()))?;
    Ok(Some(CredentialMatch { credential: cred?, stored_digest: SecretDigest(stored) }))
}

pub(super) fn rotate(
    c: &Connection,
    project: ProjectId,
    id: &CredentialId,
    digest: SecretDigest,
    hint: &str,
    grace: Duration,
) -> Result<Credential, StoreError> {
    let cred = get(c, project, id)?.ok_or(StoreError::NotFound)?;
    if cred.revoked_at.is_some() {
        return Err(StoreError::Conflict("a revoked credential cannot be rotated".into()));
    }
    let at = now();
    let grace_end = to_unix_micros(at + grace);
    // Old secrets end at the grace period's end, or earlier if they were already due to.
    c.prepare_cached(
        "UPDATE credential_secrets SET expires_at = ?1
         WHERE credential_id = ?2 AND (expires_at IS NULL OR expires_at > ?1)",
    )?
    .execute(params![grace_end, id.to_string()])?;
    insert_secret(c, id, digest, at)?;
    c.prepare_cached("UPDATE credentials SET hint = ?1, rotated_at = ?2 WHERE id = ?3")?.execute(params![
        hint,
        to_unix_micros(at),
        id.to_string()
    ])?;
    Ok(Credential { hint: hint.to_owned(), rotated_at: at, ..cred })
}

pub(super) fn revoke(c: &Connection, project: ProjectId, id: &CredentialId) -> Result<Credential, StoreError> {
    let cred = get(c, project, id)?.ok_or(StoreError::NotFound)?;
    if cred.revoked_at.is_some() {
        return Ok(cred);
    }
    let at = now();
    c.prepare_cached("UPDATE credentials SET revoked_at = ?1 WHERE id = ?2")?
        .execute(params![to_unix_micros(at), id.to_string()])?;
    Ok(Credential { revoked_at: Some(at), ..cred })
}

pub(super) fn set_limits(
    c: &Connection,
    project: ProjectId,
    id: &CredentialId,
    limits: CredentialLimits,
) -> Result<Credential, StoreError> {
    let cred = get(c, project, id)?.ok_or(StoreError::NotFound)?;
    let merged = CredentialLimits { read: limits.read.or(cred.limits.read), write: limits.write.or(cred.limits.write) };
    c.prepare_cached("UPDATE credentials SET limit_read = ?1, limit_write = ?2 WHERE id = ?3")?.execute(params![
        merged.read.map(|l| l.to_string()),
        merged.write.map(|l| l.to_string()),
        id.to_string()
    ])?;
    Ok(Credential { limits: merged, ..cred })
}

pub(super) fn touch(c: &Connection, id: &CredentialId, at: OffsetDateTime) -> Result<(), StoreError> {
    c.prepare_cached("UPDATE credentials SET last_used_at = ?1 WHERE id = ?2")?
        .execute(params![to_unix_micros(at), id.to_string()])?;
    Ok(())
}

/// Reads a row; the inner result reports rows that do not parse back into domain types.
fn read(r: &Row<'_>) -> rusqlite::Result<Result<Credential, StoreError>> {
    let raw = RawCredential {
        id: r.get(0)?,
        project_id: r.get(1)?,
        name: r.get(2)?,
        scopes: r.get(3)?,
        hint: r.get(4)?,
        created_at: r.get(5)?,
        rotated_at: r.get(6)?,
        expires_at: r.get(7)?,
        last_used_at: r.get(8)?,
        revoked_at: r.get(9)?,
        limit_read: r.get(10)?,
        limit_write: r.get(11)?,
    };
    Ok(raw.into_credential())
}
