//! Resources: what the service needs from storage ([`ResourceStore`]) and its one implementation.
//! Every write, single or batched, is a change set (`changes`), which holds the rules (id
//! minting, the `If-Match` check, merge patch, the no-op rule, the type check, the events) and
//! the statements; the idempotency record is written here, with the change. Concurrent single
//! creates may share one transaction (`coalesce_creates`, `create_all`). Attributes are stored
//! twice: as JSON on the row (read back whole) and one indexed row each (for filters).

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use tollgate_core::{ListQuery, NewResource, Page, Precondition, ProjectId, Resource, ResourceId};

use crate::changes::ChangeSet;
use crate::coalesce::{CoalescerStats, Fetch, ReadCoalescer};
use crate::coalesce_creates::Create;
use crate::conn::{Arg, Column, Conn, FromRow, Many, Sql};
use crate::db::{Backend, Db, WriteCtx};
use crate::rows::{resource_columns, RawResource};
use crate::{idempotency, IdempotencyClaim, IdempotencyRecord, ResourceUpdate, StoreError};

/// Resources of a project. A row of another project is `NotFound`, exactly like a missing one.
#[async_trait]
pub trait ResourceStore: Send + Sync {
    /// Stores a new resource (and, given a claim, its idempotency record in the same transaction).
    /// Concurrent calls may share one transaction (see `coalesce_creates`); each answer is the
    /// caller's own.
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
    /// How many reads by id were folded into how many queries; `None` without read coalescing.
    fn coalescer_stats(&self) -> Option<CoalescerStats> {
        None
    }
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
/// Rows by id, of any project (see `coalesce`, which checks the project).
const GET_MANY: Many = Many::each(
    concat!("SELECT ", resource_columns!(), " FROM resources WHERE id = $1"),
    concat!("SELECT ", resource_columns!(), " FROM resources WHERE id = ANY($1::text[])"),
);

impl<B: Backend> Db<B> {
    /// Folds concurrent reads of one resource by id into one query (see [`ReadCoalescer`]):
    /// worth it where a query is a round trip to another process (PostgreSQL).
    pub fn with_read_coalescing(mut self) -> Self {
        let backend = self.backend.clone();
        let fetch: Fetch = Arc::new(move |ids: Vec<String>| {
            let backend = backend.clone();
            Box::pin(async move {
                backend
                    .read_by_id(move |c| {
                        Box::pin(async move {
                            let ids = ids.iter().map(String::as_str).collect();
                            c.fetch_many(&GET_MANY, &[Column::Text(ids)]).await
                        })
                    })
                    .await
            })
        });
        self.reads = Some(ReadCoalescer::new(fetch));
        self
    }
}

impl<B: Backend> Db<B> {
    async fn read_row(&self, project: ProjectId, id: ResourceId) -> Result<RawResource, StoreError> {
        match &self.reads {
            Some(reads) => self.timed("get_resource", reads.get(project, id)).await,
            None => self.read("get_resource", move |c| Box::pin(get(c, &GET, project, id))).await,
        }
    }
}

#[async_trait]
impl<B: Backend> ResourceStore for Db<B> {
    async fn create_resource(
        &self,
        project: ProjectId,
        new: NewResource,
        idempotency: Option<IdempotencyClaim>,
    ) -> Result<Resource, StoreError> {
        self.create_coalesced(Create { project, new, claim: idempotency }).await
    }

    async fn get_resource(&self, project: ProjectId, id: ResourceId) -> Result<Resource, StoreError> {
        self.read_row(project, id).await?.into_resource()
    }

    async fn get_resource_row(&self, project: ProjectId, id: ResourceId) -> Result<RawResource, StoreError> {
        self.read_row(project, id).await
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
            Box::pin(async move { change(tx, project, id, update, idempotency, &ctx).await })
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
        self.write("delete_resource", move |tx| Box::pin(delete(tx, project, id, precondition, publish))).await
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

    fn coalescer_stats(&self) -> Option<CoalescerStats> {
        self.reads.as_ref().map(|r| r.stats())
    }
}

async fn get<T: FromRow>(c: &mut impl Conn, sql: &Sql, project: ProjectId, id: ResourceId) -> Result<T, StoreError> {
    // Spelled out on the stack: this is every GET by id.
    let (mut id_text, mut project_text) = ([0; ResourceId::TEXT_LEN], [0; ProjectId::TEXT_LEN]);
    let (id, project) = (id.encode(&mut id_text), project.encode(&mut project_text));
    c.fetch_one(sql, &[Arg::Text(id), Arg::Text(project)]).await
}

/// A single create in its own transaction.
pub(crate) async fn create(
    tx: &mut impl Conn,
    project: ProjectId,
    new: NewResource,
    idempotency: Option<IdempotencyClaim>,
    ctx: &WriteCtx,
) -> Result<Resource, StoreError> {
    let mut changes = ChangeSet::new(project);
    let resource = changes.create(tx, new, ctx).await?;
    changes.write(tx, ctx.publish).await?;
    if let Some(claim) = idempotency {
        idempotency::record(tx, claim, &resource).await?;
    }
    Ok(resource)
}

/// Several single creates (see `coalesce_creates`), possibly of several projects, in one
/// transaction, in order: one change set per project, written in project order (so that concurrent
/// groups take the attribute counters' row locks in one order), then each idempotency record. A
/// create its rules refuse gets its error and leaves the rest to commit; any other error fails the
/// whole: it may come from the database, and on PostgreSQL a failed statement aborts the
/// transaction, so nothing after it may commit.
pub(crate) async fn create_all(
    tx: &mut impl Conn,
    creates: Vec<Create>,
    ctx: &WriteCtx,
) -> Result<Vec<Result<Resource, StoreError>>, StoreError> {
    let mut sets: BTreeMap<String, ChangeSet> = BTreeMap::new();
    let mut answers = Vec::with_capacity(creates.len());
    let mut claims = Vec::new();
    for Create { project, new, claim } in creates {
        let changes = sets.entry(project.to_string()).or_insert_with(|| ChangeSet::new(project));
        // `ChangeSet::create` checks before it adds, so a refusal leaves the change set as it was.
        match changes.create(tx, new, ctx).await {
            Ok(resource) => {
                if let Some(claim) = claim {
                    claims.push((answers.len(), claim));
                }
                answers.push(Ok(resource));
            }
            Err(e) if refused(&e) => answers.push(Err(e)),
            Err(e) => return Err(e),
        }
    }
    for changes in sets.into_values() {
        changes.write(tx, ctx.publish).await?;
    }
    for (i, claim) in claims {
        if let Ok(resource) = &answers[i] {
            idempotency::record(tx, claim, resource).await?;
        }
    }
    Ok(answers)
}

/// Whether `e` is a create's own answer, decided by its rules rather than by the database.
fn refused(e: &StoreError) -> bool {
    matches!(
        e,
        StoreError::Validation(_)
            | StoreError::SchemaViolations(_)
            | StoreError::NotFound
            | StoreError::PreconditionFailed(_)
            | StoreError::Conflict(_)
    )
}

async fn change(
    tx: &mut impl Conn,
    project: ProjectId,
    id: ResourceId,
    update: ResourceUpdate,
    idempotency: Option<IdempotencyClaim>,
    ctx: &WriteCtx,
) -> Result<Resource, StoreError> {
    let mut changes = ChangeSet::new(project);
    let resource = changes.update(tx, id, update, ctx).await?;
    changes.write(tx, ctx.publish).await?;
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
) -> Result<(), StoreError> {
    let mut changes = ChangeSet::new(project);
    changes.delete(tx, id, precondition.as_ref()).await?;
    changes.write(tx, publish).await
}

/// Every operation's rules in order, each failure named by its index, then one write of all of
/// them (see `changes`). The rows the batch updates or deletes are read first, together.
async fn batch(
    tx: &mut impl Conn,
    project: ProjectId,
    ops: Vec<BatchOp>,
    idempotency: Option<IdempotencyClaim<Vec<BatchResult>>>,
    ctx: &WriteCtx,
) -> Result<Vec<BatchResult>, StoreError> {
    let mut changes = ChangeSet::new(project);
    let named: Vec<ResourceId> = ops
        .iter()
        .filter_map(|op| match op {
            BatchOp::Update { id, .. } | BatchOp::Delete { id, .. } => Some(*id),
            BatchOp::Create(_) => None,
        })
        .collect();
    changes.read(tx, &named).await?;
    let mut results = Vec::with_capacity(ops.len());
    for (index, op) in ops.into_iter().enumerate() {
        let done = match op {
            BatchOp::Create(new) => changes.create(tx, new, ctx).await.map(BatchResult::Created),
            BatchOp::Update { id, update } => changes.update(tx, id, update, ctx).await.map(BatchResult::Updated),
            BatchOp::Delete { id, precondition } => {
                changes.delete(tx, id, precondition.as_ref()).await.map(|()| BatchResult::Deleted(id))
            }
        };
        results.push(done.map_err(|error| StoreError::Batch { index, error: Box::new(error) })?);
    }
    changes.write(tx, ctx.publish).await?;
    if let Some(claim) = idempotency {
        idempotency::record(tx, claim, &results).await?;
    }
    Ok(results)
}
