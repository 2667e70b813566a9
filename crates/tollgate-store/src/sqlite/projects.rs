//! Projects and the first-start bootstrap.

use rusqlite::{params, Connection, OptionalExtension};
use tollgate_core::project::DEFAULT_PROJECT;
use tollgate_core::time_fmt::{from_unix_micros, now, to_unix_micros};
use tollgate_core::{CredentialId, KeyId, NewCredential, Project, ProjectId, Scopes};

use crate::{NewApiKeyTemplate, StoreError};

pub(super) fn find(c: &Connection, name: &str) -> Result<Option<Project>, StoreError> {
    let row = c
        .prepare_cached("SELECT id, name, created_at FROM projects WHERE name = ?1")?
        .query_row([name], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?)))
        .optional()?;
    row.map(|(id, name, created)| {
        Ok(Project {
            id: ProjectId::parse(&id).ok_or_else(|| StoreError::Internal(format!("bad project id {id}")))?,
            name,
            created_at: from_unix_micros(created),
        })
    })
    .transpose()
}

pub(super) fn list(c: &Connection) -> Result<Vec<Project>, StoreError> {
    let mut stmt = c.prepare_cached("SELECT name FROM projects ORDER BY created_at, name")?;
    let names = stmt.query_map([], |r| r.get::<_, String>(0))?.collect::<Result<Vec<_>, _>>()?;
    names.iter().map(|n| find(c, n)?.ok_or(StoreError::NotFound)).collect()
}

pub(super) fn create(c: &Connection, name: &str) -> Result<Project, StoreError> {
    if find(c, name)?.is_some() {
        return Err(StoreError::Conflict(format!("project `{name}` already exists")));
    }
    ensure(c, name)
}

pub(super) fn ensure(c: &Connection, name: &str) -> Result<Project, StoreError> {
    if let Some(p) = find(c, name)? {
        return Ok(p);
    }
    let project = Project { id: ProjectId::generate(), name: name.to_owned(), created_at: now() };
    c.prepare_cached("INSERT INTO projects (id, name, created_at) VALUES (?1, ?2, ?3)")?.execute(params![
        project.id.to_string(),
        project.name,
        to_unix_micros(project.created_at)
    ])?;
    Ok(project)
}

/// Creates `default` and its first admin key once per installation, never again.
pub(super) fn bootstrap(c: &Connection, key: NewApiKeyTemplate) -> Result<bool, StoreError> {
    let done: Option<String> =
        c.query_row("SELECT value FROM settings WHERE key = 'bootstrapped'", [], |r| r.get(0)).optional()?;
    if done.is_some() {
        return Ok(false);
    }
    let project = ensure(c, DEFAULT_PROJECT)?;
    let keys: i64 = c.query_row("SELECT count(*) FROM credentials", [], |r| r.get(0))?;
    c.execute("INSERT INTO settings (key, value) VALUES ('bootstrapped', 'true')", [])?;
    if keys > 0 {
        return Ok(false);
    }
    let new = NewCredential {
        id: CredentialId::ApiKey(KeyId::generate()),
        project_id: project.id,
        name: "admin (first start)".into(),
        scopes: Scopes::all(),
        expires_at: None,
        limits: Default::default(),
    };
    super::credentials::insert(c, &new, key.digest, &key.hint)?;
    Ok(true)
}
