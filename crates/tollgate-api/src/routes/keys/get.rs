//! `GET /v1/keys/{id}`: one key's metadata.

use axum::extract::State;
use axum::Json;

use super::view::KeyView;
use crate::error::ApiError;
use crate::extract::{Admin, Auth, KeyPath};
use crate::state::AppState;

/// Reads one API key.
pub async fn get_api_key(
    auth: Auth<Admin>,
    State(state): State<AppState>,
    KeyPath(id): KeyPath,
) -> Result<Json<KeyView>, ApiError> {
    let key = state.store.get_key(auth.principal.project_id, id).await?;
    Ok(Json(KeyView::new(key, state.settings.key_rotation_period)))
}
