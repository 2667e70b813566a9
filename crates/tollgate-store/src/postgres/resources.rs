//! Resource rows on PostgreSQL: the same queries as SQLite, with `FOR UPDATE` on changes.

use sqlx::postgres::PgRow;
use sqlx::{PgPool, Postgres, QueryBuilder, Row, Transaction};
use tollgate_core::page::encode_cursor;
use tollgate_core::patch::apply_merge_patch;
use tollgate_core::time_fmt::{now, to_unix_micros};
use tollgate_core::{ListQuery, NewResource, Page, PageMode, Precondition, ProjectId, Resource, ResourceId};

use crate::events::{new_event, resource_event};
use crate::rows::RawResource;
use crate::{IdempotencyClaim, ResourceUpdate, StoreError};

const COLUMNS: &str = "id, project_id, name, type, status, attributes, data, created_at, updated_at, version";

fn json_text<T: serde::Serialize>(v: &T) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|e| StoreError::Internal(e.to_string()))
}

fn read_row(r: &PgRow) -> Result<Resource, StoreError> {
    RawResource {
        id: r.try_get("id")?,
        project_id: r.try_get("project_id")?,
        name: r.try_get("name")?,
        kind: r.try_get("type")?,
        status: r.try_get("status")?,
        attributes: r.try_get("attributes")?,
        data: r.try_get("data")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
        version: r.try_get("version")?,
    }
    .into_resource()
}

async fn write_attributes(tx: &mut Transaction<'_, Postgres>, r: &Resource) -> Result<(), StoreError> {
    for (k, v) in &r.content.attributes {
        sqlx::query("INSERT INTO resource_attributes (resource_id, project_id, key, value) VALUES ($1, $2, $3, $4)")
            .bind(r.id.to_string())
            .bind(r.project_id.to_string())
            .bind(k)
            .bind(v)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

pub(super) async fn insert(
    pool: &PgPool,
    project: ProjectId,
    new: NewResource,
    idempotency: Option<IdempotencyClaim>,
    publish: bool,
) -> Result<Resource, StoreError> {
    let at = now();
    let r = Resource {
        id: ResourceId::generate(),
        project_id: project,
        content: new,
        created_at: at,
        updated_at: at,
        version: 1,
    };
    let mut tx = pool.begin().await?;
    sqlx::query(&format!("INSERT INTO resources ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, 1)"))
        .bind(r.id.to_string())
        .bind(project.to_string())
        .bind(&r.content.name)
        .bind(&r.content.kind)
        .bind(r.content.status.as_str())
        .bind(json_text(&r.content.attributes)?)
        .bind(json_text(&r.content.data)?)
        .bind(to_unix_micros(at))
        .execute(&mut *tx)
        .await?;
    write_attributes(&mut tx, &r).await?;
    super::events::record(&mut tx, &resource_event("resource.created", &r), publish, None).await?;
    if let Some(claim) = idempotency {
        super::idempotency::record(&mut tx, claim, &r).await?;
    }
    tx.commit().await?;
    Ok(r)
}

pub(super) async fn get(pool: &PgPool, project: ProjectId, id: ResourceId) -> Result<Option<Resource>, StoreError> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM resources WHERE id = $1 AND project_id = $2"))
        .bind(id.to_string())
        .bind(project.to_string())
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(read_row).transpose()
}

pub(super) async fn list(pool: &PgPool, project: ProjectId, q: &ListQuery) -> Result<Page<Resource>, StoreError> {
    let mut sql = QueryBuilder::<Postgres>::new(format!("SELECT {COLUMNS} FROM resources WHERE project_id = "));
    sql.push_bind(project.to_string());
    if let Some(kind) = &q.kind {
        sql.push(" AND type = ").push_bind(kind.clone());
    }
    if let Some(status) = q.status {
        sql.push(" AND status = ").push_bind(status.as_str());
    }
    for (key, value) in &q.attributes {
        sql.push(" AND id IN (SELECT resource_id FROM resource_attributes WHERE project_id = ")
            .push_bind(project.to_string())
            .push(" AND key = ")
            .push_bind(key.clone())
            .push(" AND value = ")
            .push_bind(value.clone())
            .push(")");
    }
    let offset = match &q.mode {
        PageMode::Cursor { after: Some(after) } => {
            sql.push(" AND id > ").push_bind(after.to_string());
            0
        }
        PageMode::Cursor { after: None } => 0,
        PageMode::Offset { page } => i64::from(page - 1) * i64::from(q.per_page),
    };
    sql.push(" ORDER BY id LIMIT ").push_bind(i64::from(q.per_page + 1)).push(" OFFSET ").push_bind(offset);
    let rows = sql.build().fetch_all(pool).await?;
    let mut items = rows.iter().map(read_row).collect::<Result<Vec<_>, _>>()?;
    let has_next = items.len() > q.per_page as usize;
    items.truncate(q.per_page as usize);
    let next_cursor = if has_next { items.last().map(|r| encode_cursor(&r.id)) } else { None };
    Ok(Page { items, has_next, next_cursor })
}

async fn locked(
    tx: &mut Transaction<'_, Postgres>,
    project: ProjectId,
    id: ResourceId,
) -> Result<Resource, StoreError> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM resources WHERE id = $1 AND project_id = $2 FOR UPDATE"))
        .bind(id.to_string())
        .bind(project.to_string())
        .fetch_optional(&mut **tx)
        .await?;
    row.as_ref().map(read_row).transpose()?.ok_or(StoreError::NotFound)
}

fn check(precondition: Option<&Precondition>, version: i64) -> Result<(), StoreError> {
    match precondition {
        Some(p) if !p.holds(version) => Err(StoreError::PreconditionFailed(version)),
        _ => Ok(()),
    }
}

pub(super) async fn update(
    pool: &PgPool,
    project: ProjectId,
    id: ResourceId,
    update: &ResourceUpdate,
    idempotency: Option<IdempotencyClaim>,
    publish: bool,
) -> Result<Resource, StoreError> {
    let mut tx = pool.begin().await?;
    let current = locked(&mut tx, project, id).await?;
    check(update.precondition.as_ref(), current.version)?;
    let content = apply_merge_patch(&current.content, &update.patch).map_err(StoreError::Validation)?;
    if content == current.content {
        if let Some(claim) = idempotency {
            super::idempotency::record(&mut tx, claim, &current).await?;
            tx.commit().await?;
        }
        return Ok(current);
    }
    let updated = Resource { content, updated_at: now(), version: current.version + 1, ..current };
    sqlx::query(
        "UPDATE resources SET name = $1, type = $2, status = $3, attributes = $4, data = $5, updated_at = $6,
         version = $7 WHERE id = $8",
    )
    .bind(&updated.content.name)
    .bind(&updated.content.kind)
    .bind(updated.content.status.as_str())
    .bind(json_text(&updated.content.attributes)?)
    .bind(json_text(&updated.content.data)?)
    .bind(to_unix_micros(updated.updated_at))
    .bind(updated.version)
    .bind(id.to_string())
    .execute(&mut *tx)
    .await?;
    sqlx::query("DELETE FROM resource_attributes WHERE resource_id = $1")
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?;
    write_attributes(&mut tx, &updated).await?;
    super::events::record(&mut tx, &resource_event("resource.updated", &updated), publish, None).await?;
    if let Some(claim) = idempotency {
        super::idempotency::record(&mut tx, claim, &updated).await?;
    }
    tx.commit().await?;
    Ok(updated)
}

pub(super) async fn delete(
    pool: &PgPool,
    project: ProjectId,
    id: ResourceId,
    precondition: Option<&Precondition>,
    publish: bool,
) -> Result<(), StoreError> {
    let mut tx = pool.begin().await?;
    let current = locked(&mut tx, project, id).await?;
    check(precondition, current.version)?;
    sqlx::query("DELETE FROM resource_attributes WHERE resource_id = $1")
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM resources WHERE id = $1").bind(id.to_string()).execute(&mut *tx).await?;
    let event = new_event("resource.deleted", project, serde_json::json!({"id": id.to_string()}));
    super::events::record(&mut tx, &event, publish, None).await?;
    tx.commit().await?;
    Ok(())
}
