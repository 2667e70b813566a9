//! `DELETE /v1/keys/{id}`, `DELETE /v1/clients/{id}`: revokes at once (a client's tokens stop
//! working with it); the credential stays listed as revoked.

use axum::extract::State;
use axum::Json;

use super::view::CredentialView;
use super::{check_kind, CredentialRoutes};
use crate::error::ApiError;
use crate::extract::{Admin, Auth, CredentialPath};
use crate::state::AppState;

/// Revokes a credential (idempotent).
pub async fn revoke_credential<K: CredentialRoutes>(
    auth: Auth<Admin>,
    State(state): State<AppState>,
    CredentialPath(id): CredentialPath,
) -> Result<Json<CredentialView>, ApiError> {
    check_kind::<K>(&id)?;
    let cred = state.store.revoke_credential(auth.principal.project_id, id).await?;
    Ok(Json(CredentialView::new(cred, state.settings.key_rotation_period)))
}
