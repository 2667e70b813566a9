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
    #[schema(value_type = Vec<OperationSchema>, min_items = 1, max_items = 100)]
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
        /// `res_` + ULID.
        #[schema(pattern = "^res_[0-7][0-9A-HJKMNP-TV-Z]{25}$")]
        id: String,
        /// The version the patch was made against.
        #[schema(minimum = 1)]
        if_match: Option<i64>,
        /// A JSON merge patch, as `PATCH /v1/resource/{id}` takes.
        #[schema(value_type = tollgate_core::patch::ResourcePatch)]
        body: Map<String, Value>,
    },
    /// Delete resource `id`, if it is at version `if_match` (when given).
    Delete {
        /// `res_` + ULID.
        #[schema(pattern = "^res_[0-7][0-9A-HJKMNP-TV-Z]{25}$")]
        id: String,
        /// The version the deletion was decided on.
        #[schema(minimum = 1)]
        if_match: Option<i64>,
    },
}

/// [`Operation`]'s schema with every branch closed: `operation` refuses a member its kind does
/// not take (a `body` on a delete), which the derived schema does not say.
pub struct OperationSchema;

impl utoipa::PartialSchema for OperationSchema {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        let closed = utoipa::openapi::schema::AdditionalProperties::FreeForm(false);
        crate::openapi::with_additional_properties::<Operation>(closed)
    }
}

impl utoipa::ToSchema for OperationSchema {
    fn name() -> std::borrow::Cow<'static, str> {
        "Operation".into()
    }
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
    params(super::headers::IdempotencyKeyHeader),
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
                    let at =
                        if field.is_empty() { format!("operations[{i}]") } else { format!("operations[{i}].{field}") };
                    errors.add(at, reason.clone());
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

/// Reads one operation member by member, so that each error names the member at fault (a
/// derived reader for the tagged enum blames `op` for all of them), and every fault is listed.
/// A create's body, most of what batches carry, is moved out as it is, not copied.
fn operation(op: Value) -> Result<Operation, ValidationErrors> {
    let Value::Object(mut members) = op else {
        return Err(ValidationErrors::single("", "must be an object with `op` (create, update or delete)"));
    };
    let mut errors = ValidationErrors::new();
    let kind = match members.remove("op") {
        Some(Value::String(kind)) if ["create", "update", "delete"].contains(&kind.as_str()) => kind,
        Some(_) => return Err(ValidationErrors::single("op", "must be `create`, `update` or `delete`")),
        None => return Err(ValidationErrors::single("op", "is required: `create`, `update` or `delete`")),
    };
    let takes: &[&str] = match kind.as_str() {
        "create" => &["body"],
        "update" => &["id", "if_match", "body"],
        _ => &["id", "if_match"],
    };
    for name in members.keys().filter(|name| !takes.contains(&name.as_str())) {
        errors.add(name.clone(), format!("is not a member of a `{kind}` operation (it takes {})", takes.join(", ")));
    }
    let mut required = |name: &str| {
        let value = members.remove(name);
        if value.is_none() {
            errors.add(name, "is required");
        }
        value
    };
    let id = if kind == "create" { None } else { required("id") };
    let body = if kind == "delete" { None } else { required("body") };
    let id = match id {
        Some(Value::String(id)) => Some(id),
        Some(_) => {
            errors.add("id", "must be a string: a resource id (res_...)");
            None
        }
        None => None,
    };
    let if_match = members.remove("if_match").and_then(|v| match integer(&v) {
        Some(n) => Some(n),
        None if v.is_null() => None,
        None => {
            errors.add("if_match", "must be an integer: the version the change was made against");
            None
        }
    });
    if kind == "update" && body.as_ref().is_some_and(|b| !b.is_object()) {
        errors.add("body", "must be an object: a JSON merge patch");
    }
    // Each member missing or of the wrong kind was an error above, so with none the
    // operation is whole.
    let op = match (kind.as_str(), id, body) {
        ("create", _, Some(body)) => Some(Operation::Create { body }),
        ("update", Some(id), Some(Value::Object(body))) => Some(Operation::Update { id, if_match, body }),
        ("delete", Some(id), _) => Some(Operation::Delete { id, if_match }),
        _ => None,
    };
    op.filter(|_| errors.is_empty()).ok_or(errors)
}

/// A JSON integer, in any of its spellings that fit an i64 (`3`, `3.0`, `3e0`).
fn integer(v: &Value) -> Option<i64> {
    v.as_i64().or_else(|| {
        let f = v.as_f64()?;
        // Exact below 2^63 in magnitude; the bound itself does not fit an i64.
        (f.fract() == 0.0 && f.abs() < 9_223_372_036_854_775_808.0).then_some(f as i64)
    })
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
                    // A body that is not an object is refused as `body` itself.
                    let at = if field == "body" { field.clone() } else { format!("body.{field}") };
                    errors.add(at, reason.clone());
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::{operation, Operation};

    #[test]
    fn an_integer_version_in_any_spelling_is_read() {
        for v in [json!(3), json!(3.0), serde_json::from_str("3e0").unwrap()] {
            let op = operation(json!({"op": "delete", "id": "res_1", "if_match": v})).unwrap();
            assert!(matches!(op, Operation::Delete { if_match: Some(3), .. }), "{op:?}");
        }
        let absent = operation(json!({"op": "delete", "id": "res_1", "if_match": null})).unwrap();
        assert!(matches!(absent, Operation::Delete { if_match: None, .. }), "{absent:?}");
        for v in [json!(1.5), json!(9_223_372_036_854_775_808_u64), json!(-1e300), json!("3"), json!([3])] {
            let e = operation(json!({"op": "delete", "id": "res_1", "if_match": v})).unwrap_err();
            assert_eq!(e.fields().keys().collect::<Vec<_>>(), ["if_match"], "{e:?}");
        }
    }

    #[test]
    fn every_fault_of_an_operation_is_named() {
        let e = operation(json!({"op": "update", "id": 7, "if_match": "x", "extra": 1, "body": []})).unwrap_err();
        assert_eq!(e.fields().keys().collect::<Vec<_>>(), ["body", "extra", "id", "if_match"], "{e:?}");
        let e = operation(json!({"op": "create"})).unwrap_err();
        assert_eq!(e.fields()["body"], "is required");
        let e = operation(json!({"op": "delete", "id": "res_1", "body": {}})).unwrap_err();
        assert!(e.fields()["body"].contains("not a member of a `delete` operation"), "{e:?}");
        let e = operation(json!({"id": "res_1"})).unwrap_err();
        assert!(e.fields().contains_key("op"), "{e:?}");
        let create = operation(json!({"op": "create", "body": {"name": "n"}})).unwrap();
        assert!(matches!(create, Operation::Create { .. }));
    }
}
