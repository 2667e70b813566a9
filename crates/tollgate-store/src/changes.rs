//! A change set: what one write transaction does to a project's resources, gathered operation by
//! operation and then written together.
//!
//! The rules of each operation (the type check, `If-Match`, the merge patch, the no-op rule) run
//! as it is added, in order, against the rows as the change set leaves them, so that a batch that
//! updates or deletes one id twice sees its own earlier operations, exactly as if each had been
//! written at once. [`ChangeSet::write`] then writes every row, attribute, search entry, event and
//! delivery with one statement per table and kind ([`Many`]): on SQLite one prepared statement
//! stepped per row; on PostgreSQL one over arrays whatever the number of resources, all of them
//! queued (see `Conn::queue_many`) so that the deletions go in one round trip and the writes in
//! another. A single create, update or delete is a change set of one operation, so both run the
//! same rules.
//!
//! On SQLite the full-text rows are written last: a statement that may change several rows (a
//! delete that cascades, say) opens a statement journal, and FTS5 flushes its pending terms to
//! a segment of their own whenever one opens. Written last, a change's terms make one segment.

use std::collections::HashMap;

use tollgate_core::patch::apply_merge_patch;
use tollgate_core::search::document;
use tollgate_core::time_fmt::{now, to_unix_micros};
use tollgate_core::webhook::Event;
use tollgate_core::{NewResource, Precondition, ProjectId, Resource, ResourceId};

use crate::attribute_counts::{self, Tally};
use crate::conn::{Arg, Column, Conn, Many, Sql};
use crate::db::WriteCtx;
use crate::events::{deleted_event, resource_event};
use crate::rows::resource_columns;
use crate::types::Rule;
use crate::{outbox, search, types, ResourceUpdate, StoreError};

/// A resource row, locked until the transaction ends where the dialect has row locks.
const LOCK: Sql = Sql::each(
    concat!("SELECT ", resource_columns!(), " FROM resources WHERE id = $1 AND project_id = $2"),
    concat!("SELECT ", resource_columns!(), " FROM resources WHERE id = $1 AND project_id = $2 FOR UPDATE"),
);
/// Rows of one project by id, locked as [`LOCK`] locks one; in id order, so that two writers
/// locking overlapping sets wait for each other rather than deadlock.
const LOCK_MANY: Many = Many::each(
    concat!("SELECT ", resource_columns!(), " FROM resources WHERE id = $1 AND project_id = $2"),
    concat!(
        "SELECT ",
        resource_columns!(),
        " FROM resources WHERE id = ANY($1::text[]) AND project_id = $2 ORDER BY id FOR UPDATE"
    ),
);
/// The columns of [`resource_columns`] over arrays, the project given once.
macro_rules! unnest_resources {
    () => {
        "SELECT u.id, $2::text, u.name, u.type, u.status, u.attributes, u.data, u.created_at, u.updated_at, u.version
         FROM unnest($1::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::bigint[],
         $9::bigint[], $10::bigint[]) AS u(id, name, type, status, attributes, data, created_at, updated_at, version)"
    };
}
/// New resources.
const INSERT: Many = Many::each(
    concat!("INSERT INTO resources (", resource_columns!(), ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"),
    concat!("INSERT INTO resources (", resource_columns!(), ") ", unnest_resources!()),
);
macro_rules! overwrite {
    () => {
        " ON CONFLICT (id) DO UPDATE SET project_id = excluded.project_id, name = excluded.name, type = excluded.type,
         status = excluded.status, attributes = excluded.attributes, data = excluded.data,
         created_at = excluded.created_at, updated_at = excluded.updated_at, version = excluded.version"
    };
}
/// Changed resources: the whole row again.
const OVERWRITE: Many = Many::each(
    concat!(
        "INSERT INTO resources (",
        resource_columns!(),
        ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        overwrite!()
    ),
    concat!("INSERT INTO resources (", resource_columns!(), ") ", unnest_resources!(), overwrite!()),
);
const DELETE: Many =
    Many::each("DELETE FROM resources WHERE id = $1", "DELETE FROM resources WHERE id = ANY($1::text[])");
const INSERT_ATTRIBUTES: Many = Many::each(
    "INSERT INTO resource_attributes (resource_id, project_id, key, value) VALUES ($1, $2, $3, $4)",
    "INSERT INTO resource_attributes (resource_id, project_id, key, value)
     SELECT u.r, $2::text, u.k, u.v FROM unnest($1::text[], $3::text[], $4::text[]) AS u(r, k, v)",
);
const DELETE_ATTRIBUTES: Many = Many::each(
    "DELETE FROM resource_attributes WHERE resource_id = $1",
    "DELETE FROM resource_attributes WHERE resource_id = ANY($1::text[])",
);

/// A resource this change set touched.
struct Touched {
    /// Its id as stored.
    id: String,
    /// Its version before the change set, or `None` for a resource the change set created.
    before: Option<i64>,
    /// Its set of attribute keys before the change set, as the attribute counters hold it.
    counted: Option<String>,
    /// The resource as the change set leaves it; `None` once deleted.
    after: Option<Resource>,
}

/// The resources one transaction writes, and their events (see the module).
pub(crate) struct ChangeSet {
    project: ProjectId,
    /// In the order first touched, so that rows are written in a repeatable order.
    touched: Vec<Touched>,
    by_id: HashMap<ResourceId, usize>,
    events: Vec<Event>,
    /// Each type's rule, read once per change set.
    types: HashMap<String, Rule>,
}

impl ChangeSet {
    /// An empty change set of `project`.
    pub(crate) fn new(project: ProjectId) -> Self {
        Self { project, touched: Vec::new(), by_id: HashMap::new(), events: Vec::new(), types: HashMap::new() }
    }

    /// Adds a new resource made of `new`.
    pub(crate) async fn create(
        &mut self,
        tx: &mut impl Conn,
        new: NewResource,
        ctx: &WriteCtx,
    ) -> Result<Resource, StoreError> {
        self.check_type(tx, ctx, &new).await?;
        let at = now();
        let resource = Resource {
            id: ResourceId::generate(),
            project_id: self.project,
            content: new,
            created_at: at,
            updated_at: at,
            version: 1,
        };
        self.events.push(resource_event("resource.created", &resource));
        self.by_id.insert(resource.id, self.touched.len());
        let id = resource.id.to_string();
        self.touched.push(Touched { id, before: None, counted: None, after: Some(resource.clone()) });
        Ok(resource)
    }

    /// Applies a merge patch to resource `id`; the version rises only when something changed.
    pub(crate) async fn update(
        &mut self,
        tx: &mut impl Conn,
        id: ResourceId,
        update: ResourceUpdate,
        ctx: &WriteCtx,
    ) -> Result<Resource, StoreError> {
        let (i, current) = self.current(tx, id).await?;
        check(update.precondition.as_ref(), current.version)?;
        let content = apply_merge_patch(&current.content, &update.patch).map_err(StoreError::Validation)?;
        // A patch that changes nothing is not a change: no new version, no event.
        if content == current.content {
            return Ok(current);
        }
        self.check_type(tx, ctx, &content).await?;
        let updated = Resource { content, updated_at: now(), version: current.version + 1, ..current };
        self.events.push(resource_event("resource.updated", &updated));
        self.touched[i].after = Some(updated.clone());
        Ok(updated)
    }

    /// Deletes resource `id`.
    pub(crate) async fn delete(
        &mut self,
        tx: &mut impl Conn,
        id: ResourceId,
        precondition: Option<&Precondition>,
    ) -> Result<(), StoreError> {
        let (i, current) = self.current(tx, id).await?;
        check(precondition, current.version)?;
        self.events.push(deleted_event(&current));
        self.touched[i].after = None;
        Ok(())
    }

    /// Reads (and locks) the resources `ids` that exist, in one statement on PostgreSQL, before
    /// the operations that change them are added; those that do not exist are left for the
    /// operation that names them to find missing.
    pub(crate) async fn read(&mut self, tx: &mut impl Conn, ids: &[ResourceId]) -> Result<(), StoreError> {
        let mut texts: Vec<String> =
            ids.iter().filter(|id| !self.by_id.contains_key(id)).map(ToString::to_string).collect();
        texts.sort_unstable();
        texts.dedup();
        let project = self.project.to_string();
        let columns = [Column::Text(texts.iter().map(String::as_str).collect()), Column::Same(Arg::Text(&project))];
        let rows: Vec<Resource> = tx.fetch_many(&LOCK_MANY, &columns).await?;
        for row in rows {
            self.by_id.insert(row.id, self.touched.len());
            let (id, counted) = (row.id.to_string(), Some(attribute_counts::key_set(&row)));
            self.touched.push(Touched { id, before: Some(row.version), counted, after: Some(row) });
        }
        Ok(())
    }

    /// The resource `id` as the change set stands, and its place in `touched`; read (and locked)
    /// the first time.
    async fn current(&mut self, tx: &mut impl Conn, id: ResourceId) -> Result<(usize, Resource), StoreError> {
        if let Some(&i) = self.by_id.get(&id) {
            let current = self.touched[i].after.clone().ok_or(StoreError::NotFound)?;
            return Ok((i, current));
        }
        let (id_text, project) = (id.to_string(), self.project.to_string());
        let row: Resource = tx.fetch_one(&LOCK, &[Arg::Text(&id_text), Arg::Text(&project)]).await?;
        let i = self.touched.len();
        self.by_id.insert(id, i);
        let counted = Some(attribute_counts::key_set(&row));
        self.touched.push(Touched { id: id_text, before: Some(row.version), counted, after: Some(row.clone()) });
        Ok((i, row))
    }

    async fn check_type(
        &mut self,
        tx: &mut impl Conn,
        ctx: &WriteCtx,
        content: &NewResource,
    ) -> Result<(), StoreError> {
        if !self.types.contains_key(&content.kind) {
            let rule = types::rule(tx, &ctx.types, self.project, &content.kind).await?;
            self.types.insert(content.kind.clone(), rule);
        }
        self.types[&content.kind].check(content)
    }

    /// Writes everything the change set did, in the transaction it was gathered in.
    pub(crate) async fn write(self, tx: &mut impl Conn, publish: bool) -> Result<(), StoreError> {
        let project = self.project.to_string();
        // Deleted rows, and changed rows whose attribute and search entries are written again.
        let (mut gone, mut stale) = (Vec::new(), Vec::new());
        let (mut fresh, mut changed) = (Vec::new(), Vec::new());
        // The attribute counters: what goes, then what comes, applied once at the end.
        let mut tally = Tally::default();
        let uncount = |tally: &mut Tally, t: &Touched| {
            if let Some(set) = &t.counted {
                tally.remove_set(&project, set);
            }
        };
        for t in &self.touched {
            match (t.before, &t.after) {
                (Some(_), None) => {
                    uncount(&mut tally, t);
                    gone.push(t.id.as_str());
                    stale.push(t.id.as_str());
                }
                (None, Some(r)) => {
                    tally.add(r);
                    fresh.push(Encoded::new(&t.id, r)?);
                }
                (Some(v), Some(r)) if r.version != v => {
                    uncount(&mut tally, t);
                    tally.add(r);
                    stale.push(t.id.as_str());
                    changed.push(Encoded::new(&t.id, r)?);
                }
                // Read but unchanged, or created and deleted again.
                _ => {}
            }
        }
        // What goes, then what comes: on PostgreSQL one statement each (see `Conn::queue_many`).
        // A row written again must be gone before it comes back, so the first is sent before the
        // second is queued.
        tx.queue_many(&DELETE_ATTRIBUTES, &[Column::Text(stale.clone())]).await?;
        tx.queue_many(&DELETE, &[Column::Text(gone.clone())]).await?;
        search::unindex(tx, &stale, &gone).await?;
        tx.flush().await?;
        write_rows(tx, &INSERT, &fresh, &project).await?;
        write_rows(tx, &OVERWRITE, &changed, &project).await?;
        let written: Vec<&Encoded<'_>> = fresh.iter().chain(&changed).collect();
        write_attributes(tx, &written, &project).await?;
        outbox::record_all(tx, &project, &self.events, publish, None).await?;
        let documents: Vec<(&str, String)> = written.iter().map(|e| (e.id, document(&e.r.content))).collect();
        search::index(tx, &project, &documents).await?;
        tally.apply(tx).await?;
        tx.flush().await
    }
}

/// Writes `r` whole, as it is, replacing whatever its id had (an import's write): its row,
/// attributes and search entry.
pub(crate) async fn overwrite(tx: &mut impl Conn, r: &Resource) -> Result<(), StoreError> {
    let (id, project) = (r.id.to_string(), r.project_id.to_string());
    let encoded = Encoded::new(&id, r)?;
    tx.queue_many(&DELETE_ATTRIBUTES, &[Column::Text(vec![&id])]).await?;
    search::unindex(tx, &[&id], &[]).await?;
    tx.flush().await?;
    write_rows(tx, &OVERWRITE, std::slice::from_ref(&encoded), &project).await?;
    write_attributes(tx, &[&encoded], &project).await?;
    search::index(tx, &project, &[(&id, document(&r.content))]).await?;
    tx.flush().await
}

/// The text of the columns that are not plain fields, encoded once per written resource.
/// (`data` has its text already: see `tollgate_core::Data`.)
struct Encoded<'r> {
    id: &'r str,
    r: &'r Resource,
    attributes: String,
}

impl<'r> Encoded<'r> {
    fn new(id: &'r str, r: &'r Resource) -> Result<Self, StoreError> {
        Ok(Self { id, r, attributes: json_text(&r.content.attributes)? })
    }
}

fn json_text<T: serde::Serialize>(v: &T) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|e| StoreError::internal("encoding JSON", e))
}

/// Every column of `rows` with `sql` ([`INSERT`] or [`OVERWRITE`]), in [`resource_columns`] order.
async fn write_rows(tx: &mut impl Conn, sql: &Many, rows: &[Encoded<'_>], project: &str) -> Result<(), StoreError> {
    let text = |f: for<'e> fn(&'e Encoded<'_>) -> &'e str| Column::Text(rows.iter().map(f).collect());
    let int = |f: fn(&Resource) -> i64| Column::Int(rows.iter().map(|e| f(e.r)).collect());
    let columns = [
        text(|e| e.id),
        Column::Same(Arg::Text(project)),
        text(|e| &e.r.content.name),
        text(|e| &e.r.content.kind),
        text(|e| e.r.content.status.as_str()),
        text(|e| &e.attributes),
        text(|e| e.r.content.data.text()),
        int(|r| to_unix_micros(r.created_at)),
        int(|r| to_unix_micros(r.updated_at)),
        int(|r| r.version),
    ];
    tx.queue_many(sql, &columns).await
}

/// The attribute index of `rows`, one row per attribute.
async fn write_attributes(tx: &mut impl Conn, rows: &[&Encoded<'_>], project: &str) -> Result<(), StoreError> {
    let (mut ids, mut keys, mut values) = (Vec::new(), Vec::new(), Vec::new());
    for e in rows {
        for (k, v) in &e.r.content.attributes {
            ids.push(e.id);
            keys.push(k.as_str());
            values.push(v.as_str());
        }
    }
    let columns = [Column::Text(ids), Column::Same(Arg::Text(project)), Column::Text(keys), Column::Text(values)];
    tx.queue_many(&INSERT_ATTRIBUTES, &columns).await
}

fn check(precondition: Option<&Precondition>, version: i64) -> Result<(), StoreError> {
    match precondition {
        Some(p) if !p.holds(version) => Err(StoreError::PreconditionFailed(version)),
        _ => Ok(()),
    }
}
