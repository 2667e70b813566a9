//! `GET /v1/keys`: the caller's project's keys.

use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

use super::view::KeyView;
use crate::error::ApiError;
use crate::extract::{Admin, Auth};
use crate::state::AppState;

/// Lists API keys, oldest first, revoked ones included.
pub async fn list_api_keys(
    auth: Auth<Admin>,
    State(state): State<AppState>,
) -> Result<Json<Value>, ApiError> {
    let period = state.settings.key_rotation_period;
    let keys = state.store.list_keys(auth.principal.project_id).await?;
    let items: Vec<KeyView> = keys.into_iter().map(|k| KeyView::new(k, period)).collect();
    Ok(Json(json!({ "items": items })))
}
