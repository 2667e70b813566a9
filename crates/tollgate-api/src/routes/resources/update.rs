//! `PATCH /v1/resource/{id}`: JSON Merge Patch (RFC 7396), honouring `If-Match` and
//! `Idempotency-Key`.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use tollgate_store::{ResourceUpdate, StoreError};

use super::if_match;
use super::view::{stored, ResourceView};
use crate::error::{ApiError, ErrorEnvelope};
use crate::extract::{Auth, HashedJson, ResourcePath, Write};
use crate::idempotency::{self, after_conflict, into_response, Begun, Reservation};
use crate::state::AppState;

/// Changes a resource; 412 when `If-Match` names an older version.
#[utoipa::path(patch, path = "/v1/resource/{id}", tag = "resources",
    request_body(content = tollgate_core::patch::ResourcePatch, content_type = "application/merge-patch+json"),
    params(("id" = String, Path), super::headers::IfMatchHeader,
           super::headers::IdempotencyKeyHeader),
    responses((status = 200, body = ResourceView), (status = 400, body = ErrorEnvelope), (status = 401, body = ErrorEnvelope),
              (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope),
              (status = 412, body = ErrorEnvelope), (status = 413, body = ErrorEnvelope), (status = 415, body = ErrorEnvelope),
              (status = 422, body = ErrorEnvelope), (status = 429, body = ErrorEnvelope)))]
pub async fn update_resource(
    auth: Auth<Write>,
    State(state): State<AppState>,
    ResourcePath(id): ResourcePath,
    reservation: Reservation,
    uri: Uri,
    headers: HeaderMap,
    HashedJson(patch, digest): HashedJson,
) -> Result<Response, ApiError> {
    let precondition = if_match(&headers)?;
    let pending = match idempotency::begin(&state, reservation, uri.path(), digest).await? {
        Begun::Replay(response) => return Ok(response),
        Begun::Proceed(pending) => pending,
    };
    let claim = pending.claim(Arc::new(|r| stored(r, 200)));
    let update = ResourceUpdate { patch, precondition };
    match state.store.update_resource(auth.principal.project_id, id, update, claim).await {
        Ok(resource) => Ok(into_response(stored(&resource, 200))),
        Err(StoreError::IdempotencyConflict) => after_conflict(&state, pending).await,
        Err(e) => Err(e.into()),
    }
}
