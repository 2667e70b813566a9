//! API key rows and their secrets' digests. A key has one current secret and, for a grace
//! period after a rotation, the previous ones.

use rusqlite::{params, Connection, OptionalExtension, Row};
use time::{Duration, OffsetDateTime};
use tollgate_auth::SecretDigest;
use tollgate_core::time_fmt::{from_unix_micros, now, to_unix_micros};
use tollgate_core::{ApiKey, KeyId, NewApiKey, ProjectId, Scopes};

use crate::{KeyMatch, StoreError};

const COLUMNS: &str =
    "k.id, k.project_id, k.name, k.scopes, k.hint, k.created_at, k.rotated_at, k.expires_at, k.last_used_at, k.revoked_at";

pub(super) fn insert(
    c: &Connection,
    new: &NewApiKey,
    digest: SecretDigest,
    hint: &str,
) -> Result<ApiKey, StoreError> {
    let at = now();
    let key = ApiKey {
        id: KeyId::generate(),
        project_id: new.project_id,
        name: new.name.clone(),
        scopes: new.scopes.clone(),
        hint: hint.to_owned(),
        created_at: at,
        rotated_at: at,
        expires_at: new.expires_at,
        last_used_at: None,
        revoked_at: None,
    };
    c.prepare_cached(
        "INSERT INTO api_keys (id, project_id, name, scopes, hint, created_at, rotated_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?7)",
    )?
    .execute(params![
        key.id.to_string(),
        key.project_id.to_string(),
        key.name,
        key.scopes.to_space_separated(),
        key.hint,
        to_unix_micros(at),
        key.expires_at.map(to_unix_micros),
    ])?;
    insert_secret(c, key.id, digest, at)?;
    Ok(key)
}

fn insert_secret(
    c: &Connection,
    id: KeyId,
    digest: SecretDigest,
    at: OffsetDateTime,
) -> Result<(), StoreError> {
    c.prepare_cached(
        "INSERT INTO api_key_secrets (digest, key_id, created_at) VALUES (?1, ?2, ?3)",
    )?
    .execute(params![&digest.0[..], id.to_string(), to_unix_micros(at)])?;
    Ok(())
}

pub(super) fn list(c: &Connection, project: ProjectId) -> Result<Vec<ApiKey>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM api_keys k WHERE k.project_id = ?1 ORDER BY k.id");
    let mut stmt = c.prepare_cached(&sql)?;
    let rows = stmt.query_map([project.to_string()], read_key)?;
    rows.map(|r| r.map_err(StoreError::from).and_then(|k| k))
        .collect()
}

pub(super) fn get(
    c: &Connection,
    project: ProjectId,
    id: KeyId,
) -> Result<Option<ApiKey>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM api_keys k WHERE k.id = ?1 AND k.project_id = ?2");
    c.prepare_cached(&sql)?
        .query_row(params![id.to_string(), project.to_string()], read_key)
        .optional()?
        .transpose()
}

pub(super) fn find_by_digest(
    c: &Connection,
    digest: SecretDigest,
    at: OffsetDateTime,
) -> Result<Option<KeyMatch>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS}, s.digest FROM api_key_secrets s JOIN api_keys k ON k.id = s.key_id
         WHERE s.digest = ?1 AND (s.expires_at IS NULL OR s.expires_at > ?2)"
    );
    let found = c
        .prepare_cached(&sql)?
        .query_row(params![&digest.0[..], to_unix_micros(at)], |r| {
            let stored: Vec<u8> = r.get(10)?;
            Ok((read_key(r)?, stored))
        })
        .optional()?;
    let Some((key, stored)) = found else {
        return Ok(None);
    };
    let stored: [u8; 32] = stored
        .try_into()
        .map_err(|_| StoreError::Internal("stored digest has the wrong length".into()))?;
    Ok(Some(KeyMatch {
        key: key?,
        stored_digest: SecretDigest(stored),
    }))
}

pub(super) fn rotate(
    c: &Connection,
    project: ProjectId,
    id: KeyId,
    digest: SecretDigest,
    hint: &str,
    grace: Duration,
) -> Result<ApiKey, StoreError> {
    let key = get(c, project, id)?.ok_or(StoreError::NotFound)?;
    if key.revoked_at.is_some() {
        return Err(StoreError::Conflict(
            "a revoked key cannot be rotated".into(),
        ));
    }
    let at = now();
    let grace_end = to_unix_micros(at + grace);
    // Old secrets end at the grace period's end, or earlier if they were already due to.
    c.prepare_cached(
        "UPDATE api_key_secrets SET expires_at = ?1
         WHERE key_id = ?2 AND (expires_at IS NULL OR expires_at > ?1)",
    )?
    .execute(params![grace_end, id.to_string()])?;
    insert_secret(c, id, digest, at)?;
    c.prepare_cached("UPDATE api_keys SET hint = ?1, rotated_at = ?2 WHERE id = ?3")?
        .execute(params![hint, to_unix_micros(at), id.to_string()])?;
    Ok(ApiKey {
        hint: hint.to_owned(),
        rotated_at: at,
        ..key
    })
}

pub(super) fn revoke(c: &Connection, project: ProjectId, id: KeyId) -> Result<ApiKey, StoreError> {
    let key = get(c, project, id)?.ok_or(StoreError::NotFound)?;
    if key.revoked_at.is_some() {
        return Ok(key);
    }
    let at = now();
    c.prepare_cached("UPDATE api_keys SET revoked_at = ?1 WHERE id = ?2")?
        .execute(params![to_unix_micros(at), id.to_string()])?;
    Ok(ApiKey {
        revoked_at: Some(at),
        ..key
    })
}

pub(super) fn touch(c: &Connection, id: KeyId, at: OffsetDateTime) -> Result<(), StoreError> {
    c.prepare_cached("UPDATE api_keys SET last_used_at = ?1 WHERE id = ?2")?
        .execute(params![to_unix_micros(at), id.to_string()])?;
    Ok(())
}

/// Reads a key row; the inner result reports rows that do not parse back into domain types.
fn read_key(r: &Row<'_>) -> rusqlite::Result<Result<ApiKey, StoreError>> {
    let id: String = r.get(0)?;
    let project: String = r.get(1)?;
    let scopes: String = r.get(3)?;
    let opt = |i: usize| -> rusqlite::Result<Option<OffsetDateTime>> {
        Ok(r.get::<_, Option<i64>>(i)?.map(from_unix_micros))
    };
    let (name, hint): (String, String) = (r.get(2)?, r.get(4)?);
    let (created, rotated): (i64, i64) = (r.get(5)?, r.get(6)?);
    let (expires_at, last_used_at, revoked_at) = (opt(7)?, opt(8)?, opt(9)?);
    let corrupt = |what: &str| StoreError::Internal(format!("corrupt key row {id}: {what}"));
    Ok((|| {
        Ok(ApiKey {
            id: KeyId::parse(&id).ok_or_else(|| corrupt("id"))?,
            project_id: ProjectId::parse(&project).ok_or_else(|| corrupt("project"))?,
            scopes: Scopes::parse(&scopes).map_err(|_| corrupt("scopes"))?,
            name,
            hint,
            created_at: from_unix_micros(created),
            rotated_at: from_unix_micros(rotated),
            expires_at,
            last_used_at,
            revoked_at,
        })
    })())
}
