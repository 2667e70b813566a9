//! Resources: what the service needs from storage ([`ResourceStore`]), the rules of every
//! resource write (id minting, the `If-Match` check, merge patch, the no-op rule, the event and
//! the idempotency record written with the change), and the statements they run. Attributes are
//! stored twice: as JSON on the row (read back whole) and one indexed row each (for filters);
//! every write also keeps the project's attribute counters (see `attribute_counts`), applied
//! once at the end of its transaction.

use async_trait::async_trait;
use tollgate_core::patch::apply_merge_patch;
use tollgate_core::time_fmt::{now, to_unix_micros};
use tollgate_core::{ListQuery, NewResource, Page, Precondition, ProjectId, Resource, ResourceId};

use crate::attribute_counts::{self, Tally};
use crate::conn::FromRow;
use crate::conn::{Arg, Conn, Sql};
use crate::db::{Backend, Db, WriteCtx};
use crate::events::{deleted_event, resource_event};
use crate::rows::{resource_columns, RawResource};
use crate::{idempotency, outbox, search, types, IdempotencyClaim, IdempotencyRecord, ResourceUpdate, StoreError};

/// Resources of a project. A row of another project is `NotFound`, exactly like a missing one.
#[async_trait]
pub trait ResourceStore: Send + Sync {
    /// Stores a new resource (and, given a claim, its idempotency record in the same transaction).
    async fn create_resource(
        &self,
        project: ProjectId,
        new: NewResource,
        idempotency: Option<IdempotencyClaim>,
    ) -> Result<Resource, StoreError>;
    /// Reads one resource.
    async fn get_resource(&self, project: ProjectId, id: ResourceId) -> Result<Resource, StoreError>;
    /// [`ResourceStore::get_resource`] as the stored row, for an answer written straight from
    /// it ([`RawResource::view`]).
    async fn get_resource_row(&self, project: ProjectId, id: ResourceId) -> Result<RawResource, StoreError>;
    /// Lists a page of resources in id order.
    async fn list_resources(&self, project: ProjectId, query: ListQuery) -> Result<Page<Resource>, StoreError>;
    /// [`ResourceStore::list_resources`] as stored rows.
    async fn list_resource_rows(&self, project: ProjectId, query: ListQuery) -> Result<Page<RawResource>, StoreError>;
    /// Applies a merge patch; the version rises only when something changed.
    async fn update_resource(
        &self,
        project: ProjectId,
        id: ResourceId,
        update: ResourceUpdate,
        idempotency: Option<IdempotencyClaim>,
    ) -> Result<Resource, StoreError>;
    /// Deletes a resource.
    async fn delete_resource(
        &self,
        project: ProjectId,
        id: ResourceId,
        precondition: Option<Precondition>,
    ) -> Result<(), StoreError>;
    /// Applies every operation in one transaction with one durable commit, each with the rules
    /// and event of its single form: all of them, or (`StoreError::Batch`) none.
    async fn apply_batch(
        &self,
        project: ProjectId,
        ops: Vec<BatchOp>,
        idempotency: Option<IdempotencyClaim<Vec<BatchResult>>>,
    ) -> Result<Vec<BatchResult>, StoreError>;
    /// The record of an idempotency key used since `since`.
    async fn find_idempotency(
        &self,
        scope: String,
        key: String,
        since: time::OffsetDateTime,
    ) -> Result<Option<IdempotencyRecord>, StoreError>;
}

/// One operation of a batch.
#[derive(Debug, Clone)]
pub enum BatchOp {
    /// Create a resource.
    Create(NewResource),
    /// Merge-patch a resource.
    Update {
        /// Which.
        id: ResourceId,
        /// The patch and its precondition.
        update: ResourceUpdate,
    },
    /// Delete a resource.
    Delete {
        /// Which.
        id: ResourceId,
        /// Its `If-Match` precondition.
        precondition: Option<Precondition>,
    },
}

/// What one operation of a batch did.
#[derive(Debug, Clone, PartialEq)]
pub enum BatchResult {
    /// The created resource.
    Created(Resource),
    /// The resource after the patch.
    Updated(Resource),
    /// The deleted resource's id.
    Deleted(ResourceId),
}

const GET: Sql =
    Sql::same(concat!("SELECT ", resource_columns!(), " FROM resources WHERE id = $1 AND project_id = $2"));
const LOCK: Sql = Sql::each(
    concat!("SELECT ", resource_columns!(), " FROM resources WHERE id = $1 AND project_id = $2"),
    concat!("SELECT ", resource_columns!(), " FROM resources WHERE id = $1 AND project_id = $2 FOR UPDATE"),
);
const INSERT: Sql = Sql::same(concat!(
    "INSERT INTO resources (",
    resource_columns!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
));
const DELETE: Sql = Sql::same("DELETE FROM resources WHERE id = $1");
const INSERT_ATTRIBUTE: Sql =
    Sql::same("INSERT INTO resource_attributes (resource_id, project_id, key, value) VALUES ($1, $2, $3, $4)");
const DELETE_ATTRIBUTES: Sql = Sql::same("DELETE FROM resource_attributes WHERE resource_id = $1");

/// Writes a resource's whole row, inserting it or replacing the row with its id: an update's
/// write, and an import's.
pub(crate) const UPSERT: Sql = Sql::same(concat!(
    "INSERT INTO resources (",
    resource_columns!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
     ON CONFLICT (id) DO UPDATE SET project_id = excluded.project_id, name = excluded.name, type = excluded.type,
     status = excluded.status, attributes = excluded.attributes, data = excluded.data,
     created_at = excluded.created_at, updated_at = excluded.updated_at, version = excluded.version"
));

#[async_trait]
impl<B: Backend> ResourceStore for Db<B> {
    async fn create_resource(
        &self,
        project: ProjectId,
        new: NewResource,
        idempotency: Option<IdempotencyClaim>,
    ) -> Result<Resource, StoreError> {
        let ctx = self.ctx.clone();
        self.write("create_resource", move |tx| {
            Box::pin(async move {
                let mut tally = Tally::alone();
                let created = create(tx, project, new, idempotency, &ctx, &mut tally).await?;
                tally.apply(tx).await?;
                Ok(created)
            })
        })
        .await
    }

    async fn get_resource(&self, project: ProjectId, id: ResourceId) -> Result<Resource, StoreError> {
        self.read("get_resource", move |c| Box::pin(get(c, &GET, project, id))).await
    }

    async fn get_resource_row(&self, project: ProjectId, id: ResourceId) -> Result<RawResource, StoreError> {
        self.read("get_resource", move |c| Box::pin(get(c, &GET, project, id))).await
    }

    async fn list_resources(&self, project: ProjectId, query: ListQuery) -> Result<Page<Resource>, StoreError> {
        let page = self.list_resource_rows(project, query).await?;
        let items = page.items.into_iter().map(RawResource::into_resource).collect::<Result<_, _>>()?;
        Ok(Page { items, has_next: page.has_next, next_cursor: page.next_cursor, total: page.total })
    }

    async fn list_resource_rows(&self, project: ProjectId, query: ListQuery) -> Result<Page<RawResource>, StoreError> {
        self.read("list_resources", move |c| Box::pin(crate::listing::list(c, project, query))).await
    }

    async fn update_resource(
        &self,
        project: ProjectId,
        id: ResourceId,
        update: ResourceUpdate,
        idempotency: Option<IdempotencyClaim>,
    ) -> Result<Resource, StoreError> {
        let ctx = self.ctx.clone();
        self.write("update_resource", move |tx| {
            Box::pin(async move {
                let mut tally = Tally::default();
                let changed = change(tx, project, id, update, idempotency, &ctx, &mut tally).await?;
                tally.apply(tx).await?;
                Ok(changed)
            })
        })
        .await
    }

    async fn delete_resource(
        &self,
        project: ProjectId,
        id: ResourceId,
        precondition: Option<Precondition>,
    ) -> Result<(), StoreError> {
        let publish = self.ctx.publish;
        self.write("delete_resource", move |tx| {
            Box::pin(async move {
                let mut tally = Tally::default();
                delete(tx, project, id, precondition, publish, &mut tally).await?;
                tally.apply(tx).await
            })
        })
        .await
    }

    async fn apply_batch(
        &self,
        project: ProjectId,
        ops: Vec<BatchOp>,
        idempotency: Option<IdempotencyClaim<Vec<BatchResult>>>,
    ) -> Result<Vec<BatchResult>, StoreError> {
        let ctx = self.ctx.clone();
        self.write("apply_batch", move |tx| Box::pin(async move { batch(tx, project, ops, idempotency, &ctx).await }))
            .await
    }

    async fn find_idempotency(
        &self,
        scope: String,
        key: String,
        since: time::OffsetDateTime,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        self.read("find_idempotency", move |c| Box::pin(idempotency::find(c, scope, key, since))).await
    }
}

async fn get<T: FromRow>(c: &mut impl Conn, sql: &Sql, project: ProjectId, id: ResourceId) -> Result<T, StoreError> {
    let (id, project) = (id.to_string(), project.to_string());
    c.fetch_one(sql, &[Arg::Text(&id), Arg::Text(&project)]).await
}

async fn create(
    tx: &mut impl Conn,
    project: ProjectId,
    new: NewResource,
    idempotency: Option<IdempotencyClaim>,
    ctx: &WriteCtx,
    tally: &mut Tally,
) -> Result<Resource, StoreError> {
    types::check(tx, &ctx.types, project, &new).await?;
    let at = now();
    let resource = Resource {
        id: ResourceId::generate(),
        project_id: project,
        content: new,
        created_at: at,
        updated_at: at,
        version: 1,
    };
    if tally.counts_with_insert(tx.dialect()) {
        let set = attribute_counts::key_set(&resource);
        write_row(tx, &attribute_counts::INSERT_COUNTED, &resource, &[Arg::Text(&set)]).await?;
    } else {
        write_row(tx, &INSERT, &resource, &[]).await?;
        tally.add(&resource);
    }
    search::index(tx, &resource, true).await?;
    write_attributes(tx, &resource).await?;
    outbox::record(tx, &resource_event("resource.created", &resource), ctx.publish, None).await?;
    if let Some(claim) = idempotency {
        idempotency::record(tx, claim, &resource).await?;
    }
    Ok(resource)
}

async fn change(
    tx: &mut impl Conn,
    project: ProjectId,
    id: ResourceId,
    update: ResourceUpdate,
    idempotency: Option<IdempotencyClaim>,
    ctx: &WriteCtx,
    tally: &mut Tally,
) -> Result<Resource, StoreError> {
    let current: Resource = get(tx, &LOCK, project, id).await?;
    check(update.precondition.as_ref(), current.version)?;
    let content = apply_merge_patch(&current.content, &update.patch).map_err(StoreError::Validation)?;
    // A patch that changes nothing is not a change: no new version, no event.
    let changed = content != current.content;
    let resource = if changed {
        types::check(tx, &ctx.types, project, &content).await?;
        let updated = Resource { content, updated_at: now(), version: current.version + 1, ..current };
        write_row(tx, &UPSERT, &updated, &[]).await?;
        search::index(tx, &updated, false).await?;
        rewrite_attributes(tx, &updated).await?;
        tally.remove(&current);
        tally.add(&updated);
        outbox::record(tx, &resource_event("resource.updated", &updated), ctx.publish, None).await?;
        updated
    } else {
        current
    };
    if let Some(claim) = idempotency {
        idempotency::record(tx, claim, &resource).await?;
    }
    Ok(resource)
}

async fn delete(
    tx: &mut impl Conn,
    project: ProjectId,
    id: ResourceId,
    precondition: Option<Precondition>,
    publish: bool,
    tally: &mut Tally,
) -> Result<(), StoreError> {
    let current: Resource = get(tx, &LOCK, project, id).await?;
    check(precondition.as_ref(), current.version)?;
    let id = id.to_string();
    tx.execute(&DELETE_ATTRIBUTES, &[Arg::Text(&id)]).await?;
    search::remove(tx, &id).await?;
    tx.execute(&DELETE, &[Arg::Text(&id)]).await?;
    tally.remove(&current);
    outbox::record(tx, &deleted_event(&current), publish, None).await
}

async fn batch(
    tx: &mut impl Conn,
    project: ProjectId,
    ops: Vec<BatchOp>,
    idempotency: Option<IdempotencyClaim<Vec<BatchResult>>>,
    ctx: &WriteCtx,
) -> Result<Vec<BatchResult>, StoreError> {
    let mut results = Vec::with_capacity(ops.len());
    // One tally for the whole batch: its counters are written once, in their fixed order.
    let mut tally = Tally::default();
    for (index, op) in ops.into_iter().enumerate() {
        let t = &mut tally;
        let done = match op {
            BatchOp::Create(new) => create(tx, project, new, None, ctx, t).await.map(BatchResult::Created),
            BatchOp::Update { id, update } => {
                change(tx, project, id, update, None, ctx, t).await.map(BatchResult::Updated)
            }
            BatchOp::Delete { id, precondition } => {
                delete(tx, project, id, precondition, ctx.publish, t).await.map(|()| BatchResult::Deleted(id))
            }
        };
        results.push(done.map_err(|error| StoreError::Batch { index, error: Box::new(error) })?);
    }
    if let Some(claim) = idempotency {
        idempotency::record(tx, claim, &results).await?;
    }
    tally.apply(tx).await?;
    Ok(results)
}

fn check(precondition: Option<&Precondition>, version: i64) -> Result<(), StoreError> {
    match precondition {
        Some(p) if !p.holds(version) => Err(StoreError::PreconditionFailed(version)),
        _ => Ok(()),
    }
}

/// Writes every column of `r` with `sql` ([`INSERT`], [`UPSERT`] or
/// [`attribute_counts::INSERT_COUNTED`]), in [`resource_columns`] order, then `extra`.
pub(crate) async fn write_row(
    tx: &mut impl Conn,
    sql: &Sql,
    r: &Resource,
    extra: &[Arg<'_>],
) -> Result<(), StoreError> {
    let (id, project) = (r.id.to_string(), r.project_id.to_string());
    let (attributes, data) = (json_text(&r.content.attributes)?, json_text(&r.content.data)?);
    let mut args = vec![
        Arg::Text(&id),
        Arg::Text(&project),
        Arg::Text(&r.content.name),
        Arg::Text(&r.content.kind),
        Arg::Text(r.content.status.as_str()),
        Arg::Text(&attributes),
        Arg::Text(&data),
        Arg::Int(to_unix_micros(r.created_at)),
        Arg::Int(to_unix_micros(r.updated_at)),
        Arg::Int(r.version),
    ];
    args.extend_from_slice(extra);
    tx.execute(sql, &args).await.map(drop)
}

/// Writes the attribute index of `r` (after clearing it, where it may exist).
pub(crate) async fn write_attributes(tx: &mut impl Conn, r: &Resource) -> Result<(), StoreError> {
    let (id, project) = (r.id.to_string(), r.project_id.to_string());
    for (k, v) in &r.content.attributes {
        tx.execute(&INSERT_ATTRIBUTE, &[Arg::Text(&id), Arg::Text(&project), Arg::Text(k), Arg::Text(v)]).await?;
    }
    Ok(())
}

/// Replaces the attribute index of `r`.
pub(crate) async fn rewrite_attributes(tx: &mut impl Conn, r: &Resource) -> Result<(), StoreError> {
    tx.execute(&DELETE_ATTRIBUTES, &[Arg::Text(&r.id.to_string())]).await?;
    write_attributes(tx, r).await
}

fn json_text<T: serde::Serialize>(v: &T) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|e| StoreError::internal("encoding JSON", e))
}
