//! `GET /v1/keys/{id}`, `GET /v1/clients/{id}`: one credential's metadata.

use axum::extract::State;
use axum::Json;

use super::view::CredentialView;
use super::{check_kind, CredentialRoutes};
use crate::error::ApiError;
use crate::extract::{Admin, Auth, CredentialPath};
use crate::state::AppState;

/// Reads one credential.
pub async fn get_credential<K: CredentialRoutes>(
    auth: Auth<Admin>,
    State(state): State<AppState>,
    CredentialPath(id): CredentialPath,
) -> Result<Json<CredentialView>, ApiError> {
    check_kind::<K>(&id)?;
    let cred = state.store.get_credential(auth.principal.project_id, id).await?;
    Ok(Json(CredentialView::new(cred, state.settings.key_rotation_period)))
}
