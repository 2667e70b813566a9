//! `POST /v1/batch`: up to 100 creates, merge patches and deletes applied in one transaction with
//! one durable commit: every one, answered in order, or none, answered with the failing
//! operation's index. Each operation counts against the write limit, and the batch honours
//! `Idempotency-Key` like a single write.

use std::sync::Arc;

use axum::extract::State;
use axum::http::Uri;
use axum::response::Response;
use axum::Extension;
use serde_json::{Map, Value};
use tollgate_core::{NewResource, Precondition, ResourceId, ValidationErrors};
use tollgate_store::{BatchOp, BatchResult, ResourceUpdate, StoreError, StoredResponse};

use super::view::ResourceView;
use crate::error::{ApiError, ErrorEnvelope};
use crate::extract::rate_limit::enforce_writes;
use crate::extract::{Auth, HashedJson, WriteMany};
use crate::idempotency::{self, after_conflict, into_response, Begun, Reservation};
use crate::middleware::request_id::RequestContext;
use crate::state::AppState;

/// Most operations in one batch.
pub const MAX_OPERATIONS: usize = 100;

/// The body: the operations, applied in order.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchRequest {
    /// 1 to 100 operations; each is read on its own, so every bad one is named.
    #[schema(value_type = Vec<Operation>, min_items = 1, max_items = 100)]
    pub operations: Vec<Value>,
}

/// One operation.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum Operation {
    /// Create a resource from `body`.
    Create {
        /// What `POST /v1/resource` takes.
        #[schema(value_type = tollgate_core::NewResource)]
        body: Value,
    },
    /// Merge-patch resource `id` with `body`, if it is at version `if_match` (when given).
    Update {
        /// `res_...`.
        id: String,
        /// The version the patch was made against.
        if_match: Option<i64>,
        /// A JSON merge patch, as `PATCH /v1/resource/{id}` takes.
        #[schema(value_type = tollgate_core::patch::ResourcePatch)]
        body: Map<String, Value>,
    },
    /// Delete resource `id`, if it is at version `if_match` (when given).
    Delete {
        /// `res_...`.
        id: String,
        /// The version the deletion was decided on.
        if_match: Option<i64>,
    },
}

/// What the batch did, operation by operation.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct BatchResponse {
    /// One result per operation, in order.
    pub results: Vec<OperationResult>,
}

/// What one operation did.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct OperationResult {
    /// `create`, `update` or `delete`.
    pub op: &'static str,
    /// The status its single form answers with: 201, 200 or 204.
    pub status: u16,
    /// The resource after a create or update.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource: Option<ResourceView>,
    /// The deleted resource's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

/// Applies a batch in the caller's project.
#[utoipa::path(post, path = "/v1/batch", tag = "resources", request_body = BatchRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "1-255 of [A-Za-z0-9_-]; a retry with the same key and body replays the first answer")),
    responses((status = 200, description = "Every operation applied, in order", body = BatchResponse),
              (status = 400, description = "A malformed operation (`operations[i].field`), or one that broke a rule (`details.index`); nothing applied", body = ErrorEnvelope),
              (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
              (status = 404, description = "Operation `details.index` names no resource; nothing applied", body = ErrorEnvelope),
              (status = 409, body = ErrorEnvelope), (status = 412, description = "Operation `details.index` had a stale `if_match`; nothing applied", body = ErrorEnvelope),
              (status = 413, body = ErrorEnvelope), (status = 415, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope),
              (status = 429, description = "The write quota cannot hold every operation; nothing applied", body = ErrorEnvelope)))]
pub async fn apply_batch(
    auth: Auth<WriteMany>,
    ctx: Option<Extension<Arc<RequestContext>>>,
    State(state): State<AppState>,
    reservation: Reservation,
    uri: Uri,
    HashedJson(body, digest): HashedJson,
) -> Result<Response, ApiError> {
    let pending = match idempotency::begin(&state, reservation, uri.path(), digest).await? {
        Begun::Replay(response) => return Ok(response),
        Begun::Proceed(pending) => pending,
    };
    let ops = parse(body)?;
    // One write per operation, all at once: a batch the quota cannot hold is refused whole.
    let n = u32::try_from(ops.len()).unwrap_or(u32::MAX);
    enforce_writes(&state, &auth.principal, n, ctx.as_deref().map(Arc::as_ref)).await?;
    let claim = pending.claim(Arc::new(|results: &Vec<BatchResult>| stored(results)));
    match state.store.apply_batch(auth.principal.project_id, ops, claim).await {
        Ok(results) => Ok(into_response(render(results.into_iter()))),
        Err(StoreError::IdempotencyConflict) => after_conflict(&state, pending).await,
        Err(e) => Err(e.into()),
    }
}

/// The answer kept for an idempotent retry, rendered from the results the store still holds.
fn stored(results: &[BatchResult]) -> StoredResponse {
    render(results.iter().cloned())
}

/// The answer, taking the results: the resources move into their views instead of being copied.
fn render(results: impl Iterator<Item = BatchResult>) -> StoredResponse {
    let result = |r: BatchResult| match r {
        BatchResult::Created(r) => OperationResult { op: "create", status: 201, resource: Some(r.into()), id: None },
        BatchResult::Updated(r) => OperationResult { op: "update", status: 200, resource: Some(r.into()), id: None },
        BatchResult::Deleted(id) => {
            OperationResult { op: "delete", status: 204, resource: None, id: Some(id.to_string()) }
        }
    };
    let body = BatchResponse { results: results.map(result).collect() };
    StoredResponse {
        status: 200,
        headers: vec![("content-type".to_owned(), "application/json".to_owned())],
        body: serde_json::to_string(&body).unwrap_or_default(),
    }
}

/// Checks every operation before anything is written; errors name `operations[i].field`.
fn parse(body: Value) -> Result<Vec<BatchOp>, ApiError> {
    let list = operations(body)?;
    if list.is_empty() || list.len() > MAX_OPERATIONS {
        return Err(
            ValidationErrors::single("operations", format!("must hold 1 to {MAX_OPERATIONS} operations")).into()
        );
    }
    let mut errors = ValidationErrors::new();
    let mut ops = Vec::with_capacity(list.len());
    for (i, op) in list.into_iter().enumerate() {
        let parsed = operation(op).and_then(check);
        match parsed {
            Ok(op) => ops.push(op),
            Err(e) => {
                for (field, reason) in e.fields() {
                    errors.add(format!("operations[{i}].{field}"), reason.clone());
                }
            }
        }
    }
    errors.into_result(ops).map_err(ApiError::from)
}

/// The list of operations, taken out of the body as it is (serde's derived reader would build
/// every operation again); any other shape goes through the derived reader, for its message.
fn operations(body: Value) -> Result<Vec<Value>, ValidationErrors> {
    let body = match body {
        Value::Object(mut members) if members.len() == 1 => match members.remove("operations") {
            Some(Value::Array(list)) => return Ok(list),
            Some(other) => Value::Object(Map::from_iter([("operations".to_owned(), other)])),
            None => Value::Object(members),
        },
        other => other,
    };
    let request: BatchRequest = serde_json::from_value(body).map_err(|e| {
        ValidationErrors::single("operations", format!("the body must be {{\"operations\": [...]}}: {e}"))
    })?;
    Ok(request.operations)
}

/// Reads one operation. A create, most of what batches carry, has its body taken out as it is:
/// serde's derived reader would copy every member of it into a new `Value` first.
fn operation(op: Value) -> Result<Operation, ValidationErrors> {
    let op = match op {
        Value::Object(mut members) if members.len() == 2 && members.get("op").is_some_and(|o| o == "create") => {
            match members.remove("body") {
                Some(body) => return Ok(Operation::Create { body }),
                None => Value::Object(members),
            }
        }
        other => other,
    };
    serde_json::from_value::<Operation>(op).map_err(|e| ValidationErrors::single("op", e.to_string()))
}

/// An operation's own rules: a valid resource, a resource id, a version of 1 or more.
fn check(op: Operation) -> Result<BatchOp, ValidationErrors> {
    let mut errors = ValidationErrors::new();
    let mut id = |s: &str| {
        let id = ResourceId::parse(s);
        if id.is_none() {
            errors.add("id", "must be a resource id (res_...)");
        }
        id
    };
    let op = match op {
        Operation::Create { body } => match NewResource::parse_owned(body) {
            Ok(new) => Some(BatchOp::Create(new)),
            Err(e) => {
                for (field, reason) in e.fields() {
                    errors.add(format!("body.{field}"), reason.clone());
                }
                None
            }
        },
        Operation::Update { id: raw, if_match, body } => id(&raw).map(|id| BatchOp::Update {
            id,
            update: ResourceUpdate { patch: Value::Object(body), precondition: version(if_match, &mut errors) },
        }),
        Operation::Delete { id: raw, if_match } => {
            id(&raw).map(|id| BatchOp::Delete { id, precondition: version(if_match, &mut errors) })
        }
    };
    match op {
        Some(op) if errors.is_empty() => Ok(op),
        _ => Err(errors),
    }
}

fn version(if_match: Option<i64>, errors: &mut ValidationErrors) -> Option<Precondition> {
    let v = if_match?;
    if v < 1 {
        errors.add("if_match", "must be a version number (1 or more)");
    }
    Some(Precondition::Versions(vec![v]))
}
