//! `GET /v1/webhooks`, `GET /v1/webhooks/{id}`, `DELETE /v1/webhooks/{id}` and
//! `POST /v1/webhooks/{id}/test`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};

use super::view::endpoint;
use crate::error::ApiError;
use crate::extract::{Admin, Auth};
use crate::state::AppState;

/// Lists the project's endpoints.
pub async fn list_webhooks(auth: Auth<Admin>, State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let items: Vec<Value> = state.store.list_webhooks(auth.principal.project_id).await?.iter().map(endpoint).collect();
    Ok(Json(json!({ "items": items })))
}

/// Reads one endpoint.
pub async fn get_webhook(
    auth: Auth<Admin>,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(endpoint(&state.store.get_webhook(auth.principal.project_id, id).await?)))
}

/// Removes an endpoint and its deliveries.
pub async fn delete_webhook(
    auth: Auth<Admin>,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.store.delete_webhook(auth.principal.project_id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Sends a `webhook.test` event to this endpoint only.
pub async fn test_webhook(
    auth: Auth<Admin>,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let event = state.store.send_test_event(auth.principal.project_id, id).await?;
    Ok((StatusCode::ACCEPTED, Json(json!({"event_id": event.id, "type": event.kind}))))
}
