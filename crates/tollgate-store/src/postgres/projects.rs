//! Projects and the first-start bootstrap on PostgreSQL.

use sqlx::{PgPool, Postgres, Row, Transaction};
use tollgate_core::project::DEFAULT_PROJECT;
use tollgate_core::time_fmt::{from_unix_micros, now, to_unix_micros};
use tollgate_core::{CredentialId, KeyId, NewCredential, Project, ProjectId, Scopes};

use crate::{NewApiKeyTemplate, StoreError};

/// Serialises first-start work between nodes (an arbitrary, fixed advisory-lock key).
const BOOTSTRAP_LOCK: i64 = 0x746f_6c6c_6761_7465;

fn to_project(row: &sqlx::postgres::PgRow) -> Result<Project, StoreError> {
    let id: String = row.try_get("id")?;
    Ok(Project {
        id: ProjectId::parse(&id).ok_or_else(|| StoreError::Internal(format!("bad project id {id}")))?,
        name: row.try_get("name")?,
        created_at: from_unix_micros(row.try_get("created_at")?),
    })
}

pub(super) async fn find<'e, E: sqlx::PgExecutor<'e>>(exec: E, name: &str) -> Result<Option<Project>, StoreError> {
    let row = sqlx::query("SELECT id, name, created_at FROM projects WHERE name = $1")
        .bind(name)
        .fetch_optional(exec)
        .await?;
    row.as_ref().map(to_project).transpose()
}

pub(super) async fn list(pool: &PgPool) -> Result<Vec<Project>, StoreError> {
    let rows =
        sqlx::query("SELECT id, name, created_at FROM projects ORDER BY created_at, name").fetch_all(pool).await?;
    rows.iter().map(to_project).collect()
}

async fn insert(tx: &mut Transaction<'_, Postgres>, name: &str) -> Result<Project, StoreError> {
    let project = Project { id: ProjectId::generate(), name: name.to_owned(), created_at: now() };
    sqlx::query("INSERT INTO projects (id, name, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING")
        .bind(project.id.to_string())
        .bind(&project.name)
        .bind(to_unix_micros(project.created_at))
        .execute(&mut **tx)
        .await?;
    // Another node may have won the race: read back whichever row exists.
    find(&mut **tx, name).await?.ok_or(StoreError::NotFound)
}

pub(super) async fn ensure(pool: &PgPool, name: &str) -> Result<Project, StoreError> {
    if let Some(p) = find(pool, name).await? {
        return Ok(p);
    }
    let mut tx = pool.begin().await?;
    let p = insert(&mut tx, name).await?;
    tx.commit().await?;
    Ok(p)
}

pub(super) async fn create(pool: &PgPool, name: &str) -> Result<Project, StoreError> {
    if find(pool, name).await?.is_some() {
        return Err(StoreError::Conflict(format!("project `{name}` already exists")));
    }
    ensure(pool, name).await
}

pub(super) async fn bootstrap(pool: &PgPool, key: NewApiKeyTemplate) -> Result<bool, StoreError> {
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(BOOTSTRAP_LOCK).execute(&mut *tx).await?;
    let done = sqlx::query("SELECT value FROM settings WHERE key = 'bootstrapped'").fetch_optional(&mut *tx).await?;
    if done.is_some() {
        return Ok(false);
    }
    let project = insert(&mut tx, DEFAULT_PROJECT).await?;
    let keys: i64 = sqlx::query("SELECT count(*) FROM credentials").fetch_one(&mut *tx).await?.try_get(0)?;
    sqlx::query("INSERT INTO settings (key, value) VALUES ('bootstrapped', 'true')").execute(&mut *tx).await?;
    let created = keys == 0;
    if created {
        let new = NewCredential {
            id: CredentialId::ApiKey(KeyId::generate()),
            project_id: project.id,
            name: "admin (first start)".into(),
            scopes: Scopes::all(),
            expires_at: None,
            limits: Default::default(),
        };
        super::credentials::insert_in(&mut tx, &new, key.digest, &key.hint).await?;
    }
    tx.commit().await?;
    Ok(created)
}
