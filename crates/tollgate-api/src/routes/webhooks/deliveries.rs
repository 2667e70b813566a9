//! `GET /v1/webhooks/{id}/deliveries` and `POST /v1/webhooks/{id}/deliveries/{delivery}/replay`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};

use super::view::delivery;
use crate::error::ApiError;
use crate::extract::{Admin, Auth};
use crate::state::AppState;

/// The endpoint's 100 most recent deliveries, newest first, with their attempts.
pub async fn list_deliveries(
    auth: Auth<Admin>,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let items: Vec<Value> =
        state.store.list_deliveries(auth.principal.project_id, id, 100).await?.iter().map(delivery).collect();
    Ok(Json(json!({ "items": items })))
}

/// Makes a failed delivery pending again (and re-enables its endpoint).
pub async fn replay_delivery(
    auth: Auth<Admin>,
    State(state): State<AppState>,
    Path((id, delivery_id)): Path<(String, String)>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    state.store.replay_delivery(auth.principal.project_id, id, delivery_id.clone()).await?;
    Ok((StatusCode::ACCEPTED, Json(json!({"id": delivery_id, "status": "pending"}))))
}
