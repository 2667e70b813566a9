//! `GET /v1/events/{id}`: one event of the caller's project.

use axum::extract::State;
use axum::Json;
use serde_json::value::RawValue;
use tollgate_core::event_log::is_event_id;

use super::view::event_json;
use crate::error::{ApiError, ErrorEnvelope};
use crate::extract::{Auth, PathText, Read};
use crate::state::AppState;

/// Reads one event.
#[utoipa::path(get, path = "/v1/events/{id}", tag = "events", params(("id" = String, Path, description = "evt_ + ULID")),
    responses((status = 200, description = "The event", body = super::view::Event),
              (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
              (status = 429, body = ErrorEnvelope)))]
pub async fn get_event(
    auth: Auth<Read>,
    State(state): State<AppState>,
    PathText(id): PathText<String>,
) -> Result<Json<Box<RawValue>>, ApiError> {
    // Not an event id: nothing to look up, exactly like a missing one.
    if !is_event_id(&id) {
        return Err(ApiError::not_found());
    }
    let event = state.store.get_event(auth.principal.project_id, id).await?;
    Ok(Json(event_json(&event)?))
}
