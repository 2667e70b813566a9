//! Resource rows: insert, read, list with filters and both kinds of pagination, merge-patch
//! update and delete. Attributes are stored twice: as JSON on the row (read back whole) and as
//! one indexed row each (for filters).

use rusqlite::types::Value as SqlValue;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension, Row};
use tollgate_core::page::encode_cursor;
use tollgate_core::patch::apply_merge_patch;
use tollgate_core::time_fmt::{now, to_unix_micros};
use tollgate_core::{ListQuery, NewResource, Page, PageMode, Precondition, ProjectId, Resource, ResourceId};

use crate::events::{new_event, resource_event};
use crate::rows::RawResource;
use crate::{IdempotencyClaim, ResourceUpdate, StoreError};

const COLUMNS: &str = "id, project_id, name, type, status, attributes, data, created_at, updated_at, version";

pub(super) fn insert(
    c: &Connection,
    project: ProjectId,
    new: NewResource,
    idempotency: Option<IdempotencyClaim>,
    publish: bool,
) -> Result<Resource, StoreError> {
    let at = now();
    let resource = Resource {
        id: ResourceId::generate(),
        project_id: project,
        content: new,
        created_at: at,
        updated_at: at,
        version: 1,
    };
    c.prepare_cached(
        "INSERT INTO resources (id, project_id, name, type, status, attributes, data, created_at, updated_at, version)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?
    .execute(params![
        resource.id.to_string(),
        project.to_string(),
        resource.content.name,
        resource.content.kind,
        resource.content.status.as_str(),
        to_json_text(&resource.content.attributes)?,
        to_json_text(&resource.content.data)?,
        to_unix_micros(at),
        to_unix_micros(at),
        1_i64,
    ])?;
    write_attributes(c, &resource)?;
    super::events::record(c, &resource_event("resource.created", &resource), publish, None)?;
    if let Some(claim) = idempotency {
        super::idempotency::record(c, claim, &resource)?;
    }
    Ok(resource)
}

pub(super) fn get(c: &Connection, project: ProjectId, id: ResourceId) -> Result<Option<Resource>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM resources WHERE id = ?1 AND project_id = ?2");
    let row = c.prepare_cached(&sql)?.query_row(params![id.to_string(), project.to_string()], read_row).optional()?;
    row.map(RawResource::into_resource).transpose()
}

pub(super) fn list(c: &Connection, project: ProjectId, q: &ListQuery) -> Result<Page<Resource>, StoreError> {
    let mut sql = format!("SELECT {COLUMNS} FROM resources WHERE project_id = ?");
    let mut args: Vec<SqlValue> = vec![project.to_string().into()];
    if let Some(kind) = &q.kind {
        sql.push_str(" AND type = ?");
        args.push(kind.clone().into());
    }
    if let Some(status) = q.status {
        sql.push_str(" AND status = ?");
        args.push(status.as_str().to_owned().into());
    }
    for (key, value) in &q.attributes {
        sql.push_str(
            " AND id IN (SELECT resource_id FROM resource_attributes WHERE project_id = ? AND key = ? AND value = ?)",
        );
        args.extend([project.to_string().into(), key.clone().into(), value.clone().into()]);
    }
    let offset = match &q.mode {
        PageMode::Cursor { after: Some(after) } => {
            sql.push_str(" AND id > ?");
            args.push(after.to_string().into());
            0
        }
        PageMode::Cursor { after: None } => 0,
        PageMode::Offset { page } => i64::from(page - 1) * i64::from(q.per_page),
    };
    sql.push_str(" ORDER BY id LIMIT ? OFFSET ?");
    args.push(i64::from(q.per_page + 1).into());
    args.push(offset.into());
    let mut stmt = c.prepare_cached(&sql)?;
    let rows = stmt.query_map(params_from_iter(args), read_row)?;
    let mut items = rows
        .map(|r| r.map_err(StoreError::from).and_then(RawResource::into_resource))
        .collect::<Result<Vec<_>, _>>()?;
    let has_next = items.len() > q.per_page as usize;
    items.truncate(q.per_page as usize);
    let next_cursor = if has_next { items.last().map(|r| encode_cursor(&r.id)) } else { None };
    Ok(Page { items, has_next, next_cursor })
}

pub(super) fn update(
    c: &Connection,
    project: ProjectId,
    id: ResourceId,
    update: &ResourceUpdate,
    idempotency: Option<IdempotencyClaim>,
    publish: bool,
) -> Result<Resource, StoreError> {
    let current = get(c, project, id)?.ok_or(StoreError::NotFound)?;
    check(update.precondition.as_ref(), current.version)?;
    let content = apply_merge_patch(&current.content, &update.patch).map_err(StoreError::Validation)?;
    if content == current.content {
        if let Some(claim) = idempotency {
            super::idempotency::record(c, claim, &current)?;
        }
        return Ok(current);
    }
    let updated = Resource { content, updated_at: now(), version: current.version + 1, ..current };
    c.prepare_cached(
        "UPDATE resources SET name = ?1, type = ?2, status = ?3, attributes = ?4, data = ?5,
         updated_at = ?6, version = ?7 WHERE id = ?8",
    )?
    .execute(params![
        updated.content.name,
        updated.content.kind,
        updated.content.status.as_str(),
        to_json_text(&updated.content.attributes)?,
        to_json_text(&updated.content.data)?,
        to_unix_micros(updated.updated_at),
        updated.version,
        id.to_string(),
    ])?;
    c.prepare_cached("DELETE FROM resource_attributes WHERE resource_id = ?1")?.execute([id.to_string()])?;
    write_attributes(c, &updated)?;
    super::events::record(c, &resource_event("resource.updated", &updated), publish, None)?;
    if let Some(claim) = idempotency {
        super::idempotency::record(c, claim, &updated)?;
    }
    Ok(updated)
}

pub(super) fn delete(
    c: &Connection,
    project: ProjectId,
    id: ResourceId,
    precondition: Option<&Precondition>,
    publish: bool,
) -> Result<(), StoreError> {
    let version: Option<i64> = c
        .prepare_cached("SELECT version FROM resources WHERE id = ?1 AND project_id = ?2")?
        .query_row(params![id.to_string(), project.to_string()], |r| r.get(0))
        .optional()?;
    check(precondition, version.ok_or(StoreError::NotFound)?)?;
    c.prepare_cached("DELETE FROM resource_attributes WHERE resource_id = ?1")?.execute([id.to_string()])?;
    c.prepare_cached("DELETE FROM resources WHERE id = ?1")?.execute([id.to_string()])?;
    let event = new_event("resource.deleted", project, serde_json::json!({"id": id.to_string()}));
    super::events::record(c, &event, publish, None)?;
    Ok(())
}

fn check(precondition: Option<&Precondition>, version: i64) -> Result<(), StoreError> {
    match precondition {
        Some(p) if !p.holds(version) => Err(StoreError::PreconditionFailed(version)),
        _ => Ok(()),
    }
}

fn write_attributes(c: &Connection, r: &Resource) -> Result<(), StoreError> {
    let mut stmt = c.prepare_cached(
        "INSERT INTO resource_attributes (resource_id, project_id, key, value) VALUES (?1, ?2, ?3, ?4)",
    )?;
    let (id, project) = (r.id.to_string(), r.project_id.to_string());
    for (k, v) in &r.content.attributes {
        stmt.execute(params![id, project, k, v])?;
    }
    Ok(())
}

fn to_json_text<T: serde::Serialize>(v: &T) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|e| StoreError::Internal(e.to_string()))
}

fn read_row(r: &Row<'_>) -> rusqlite::Result<RawResource> {
    Ok(RawResource {
        id: r.get(0)?,
        project_id: r.get(1)?,
        name: r.get(2)?,
        kind: r.get(3)?,
        status: r.get(4)?,
        attributes: r.get(5)?,
        data: r.get(6)?,
        created_at: r.get(7)?,
        updated_at: r.get(8)?,
        version: r.get(9)?,
    })
}
