//! `GET /v1/keys`, `GET /v1/clients`: the caller's project's credentials of one kind.

use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

use super::view::CredentialView;
use super::CredentialRoutes;
use crate::error::ApiError;
use crate::extract::{Admin, Auth};
use crate::state::AppState;

/// Lists credentials, oldest first, revoked ones included.
pub async fn list_credentials<K: CredentialRoutes>(
    auth: Auth<Admin>,
    State(state): State<AppState>,
) -> Result<Json<Value>, ApiError> {
    let period = state.settings.key_rotation_period;
    let creds = state.store.list_credentials(K::KIND, auth.principal.project_id).await?;
    let items: Vec<CredentialView> = creds.into_iter().map(|c| CredentialView::new(c, period)).collect();
    Ok(Json(json!({ "items": items })))
}
