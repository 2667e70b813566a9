//! `POST /v1/batch`: up to 100 creates, merge patches and deletes applied in one transaction with
//! one durable commit: every one, answered in order, or none, answered with the failing
//! operation's index. Each operation counts against the write limit, and the batch honours
//! `Idempotency-Key` like a single write.

use std::sync::Arc;

use axum::extract::State;
use axum::http::Uri;
use axum::response::Response;
use axum::Extension;
use serde_json::{json, Map, Value};
use tollgate_core::{NewResource, Precondition, ResourceId, ValidationErrors};
use tollgate_store::{BatchOp, BatchResult, ResourceUpdate, StoreError, StoredResponse};

use super::view::ResourceView;
use crate::error::ApiError;
use crate::extract::rate_limit::enforce_writes;
use crate::extract::{Auth, HashedJson, WriteMany};
use crate::idempotency::{self, after_conflict, into_response, Begun, Reservation};
use crate::middleware::request_id::RequestContext;
use crate::state::AppState;

/// Most operations in one batch.
pub const MAX_OPERATIONS: usize = 100;

/// Applies a batch in the caller's project.
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
    let ops = parse(&body)?;
    // One write per operation, all at once: a batch the quota cannot hold is refused whole.
    let n = u32::try_from(ops.len()).unwrap_or(u32::MAX);
    enforce_writes(&state, &auth.principal, n, ctx.as_deref().map(Arc::as_ref)).await?;
    let claim = pending.claim(Box::new(|results: &Vec<BatchResult>| stored(results)));
    match state.store.apply_batch(auth.principal.project_id, ops, claim).await {
        Ok(results) => Ok(into_response(stored(&results))),
        Err(StoreError::IdempotencyConflict) => after_conflict(&state, pending).await,
        Err(e) => Err(e.into()),
    }
}

/// `{"results": [...]}`, each `{"op", "status", "resource"}` (or `"id"` for a delete).
fn stored(results: &[BatchResult]) -> StoredResponse {
    let view = |r: &tollgate_core::Resource| serde_json::to_value(ResourceView::from(r.clone())).unwrap_or_default();
    let items: Vec<Value> = results
        .iter()
        .map(|r| match r {
            BatchResult::Created(r) => json!({"op": "create", "status": 201, "resource": view(r)}),
            BatchResult::Updated(r) => json!({"op": "update", "status": 200, "resource": view(r)}),
            BatchResult::Deleted(id) => json!({"op": "delete", "status": 204, "id": id.to_string()}),
        })
        .collect();
    StoredResponse {
        status: 200,
        headers: vec![("content-type".to_owned(), "application/json".to_owned())],
        body: json!({"results": items}).to_string(),
    }
}

/// Checks every operation before anything is written; errors name `operations[i].field`.
fn parse(body: &Value) -> Result<Vec<BatchOp>, ApiError> {
    let mut errors = ValidationErrors::new();
    let list = match body.as_object().map(|o| (o.get("operations"), o.len())) {
        Some((Some(Value::Array(list)), 1)) => list,
        _ => return Err(ValidationErrors::single("operations", "the body must be {\"operations\": [...]}").into()),
    };
    if list.is_empty() || list.len() > MAX_OPERATIONS {
        return Err(
            ValidationErrors::single("operations", format!("must hold 1 to {MAX_OPERATIONS} operations")).into()
        );
    }
    let mut ops = Vec::with_capacity(list.len());
    for (i, op) in list.iter().enumerate() {
        match parse_one(op) {
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

fn parse_one(op: &Value) -> Result<BatchOp, ValidationErrors> {
    let Some(obj) = op.as_object() else { return Err(ValidationErrors::single("op", "each operation is an object")) };
    let kind = obj.get("op").and_then(Value::as_str).unwrap_or_default();
    let allowed: &[&str] = match kind {
        "create" => &["op", "body"],
        "update" => &["op", "id", "if_match", "body"],
        "delete" => &["op", "id", "if_match"],
        _ => return Err(ValidationErrors::single("op", "must be \"create\", \"update\" or \"delete\"")),
    };
    let mut errors = ValidationErrors::new();
    for key in obj.keys().filter(|k| !allowed.contains(&k.as_str())) {
        errors.add(key.clone(), format!("is not a member of a {kind} operation"));
    }
    let id = || obj.get("id").and_then(Value::as_str).and_then(ResourceId::parse);
    let precondition = match obj.get("if_match") {
        None | Some(Value::Null) => None,
        Some(v) => match v.as_i64().filter(|n| *n >= 1) {
            Some(n) => Some(Precondition::Versions(vec![n])),
            None => {
                errors.add("if_match", "must be a version number (1 or more)");
                None
            }
        },
    };
    let op = match kind {
        "create" => match NewResource::parse(obj.get("body").unwrap_or(&Value::Null)) {
            Ok(new) => Some(BatchOp::Create(new)),
            Err(e) => {
                for (field, reason) in e.fields() {
                    errors.add(format!("body.{field}"), reason.clone());
                }
                None
            }
        },
        _ => {
            if id().is_none() {
                errors.add("id", "must be a resource id (res_...)");
            }
            match (kind, id(), obj.get("body")) {
                ("delete", Some(id), _) => Some(BatchOp::Delete { id, precondition }),
                ("update", Some(id), Some(Value::Object(patch))) => Some(BatchOp::Update {
                    id,
                    update: ResourceUpdate { patch: Value::Object(Map::clone(patch)), precondition },
                }),
                ("update", _, _) => {
                    errors.add("body", "must be a JSON merge patch object");
                    None
                }
                _ => None,
            }
        }
    };
    match op {
        Some(op) if errors.is_empty() => Ok(op),
        _ => Err(errors),
    }
}
