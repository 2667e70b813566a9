//! `POST /v1/resource`: 201 with the resource, `Location` and `ETag`; honours `Idempotency-Key`.

use std::sync::Arc;

use axum::extract::State;
use axum::http::Uri;
use axum::response::Response;
use tollgate_core::NewResource;
use tollgate_store::StoreError;

use super::view::{stored, ResourceView};
use crate::error::{ApiError, ErrorEnvelope};
use crate::extract::{Auth, HashedJson, Write};
use crate::idempotency::{self, after_conflict, into_response, Begun, Reservation};
use crate::state::AppState;

/// Creates a resource in the caller's project.
#[utoipa::path(post, path = "/v1/resource", tag = "resources", request_body = tollgate_core::NewResource,
    params(super::headers::IdempotencyKeyHeader),
    responses((status = 201, description = "Created; `Location` and `ETag` headers", body = ResourceView),
              (status = 400, body = ErrorEnvelope), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
              (status = 409, body = ErrorEnvelope), (status = 413, body = ErrorEnvelope), (status = 415, body = ErrorEnvelope),
              (status = 422, body = ErrorEnvelope), (status = 429, body = ErrorEnvelope)))]
pub async fn create_resource(
    auth: Auth<Write>,
    State(state): State<AppState>,
    reservation: Reservation,
    uri: Uri,
    HashedJson(body, digest): HashedJson,
) -> Result<Response, ApiError> {
    let pending = match idempotency::begin(&state, reservation, uri.path(), digest).await? {
        Begun::Replay(response) => return Ok(response),
        Begun::Proceed(pending) => pending,
    };
    // The body is not needed once parsed: its `data` moves into the resource, uncopied.
    let new = NewResource::parse_owned(body)?;
    let claim = pending.claim(Arc::new(|r| stored(r, 201)));
    match state.store.create_resource(auth.principal.project_id, new, claim).await {
        Ok(resource) => Ok(into_response(stored(&resource, 201))),
        Err(StoreError::IdempotencyConflict) => after_conflict(&state, pending).await,
        Err(e) => Err(e.into()),
    }
}
