//! `DELETE /v1/keys/{id}`: revokes a key at once; it stays listed as revoked.

use axum::extract::State;
use axum::Json;

use super::view::KeyView;
use crate::error::ApiError;
use crate::extract::{Admin, Auth, KeyPath};
use crate::state::AppState;

/// Revokes an API key (idempotent).
pub async fn revoke_api_key(
    auth: Auth<Admin>,
    State(state): State<AppState>,
    KeyPath(id): KeyPath,
) -> Result<Json<KeyView>, ApiError> {
    let key = state
        .store
        .revoke_key(auth.principal.project_id, id)
        .await?;
    Ok(Json(KeyView::new(key, state.settings.key_rotation_period)))
}
