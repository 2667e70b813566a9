//! `PATCH /v1/keys/{id}`, `PATCH /v1/clients/{id}`: changes a credential's own rate limits.

use axum::extract::State;
use axum::Json;

use super::body::UpdateCredentialRequest;
use super::view::CredentialView;
use super::{check_kind, CredentialRoutes};
use crate::error::ApiError;
use crate::extract::{Admin, AppJson, Auth, CredentialPath};
use crate::state::AppState;

/// Updates a credential's limits.
pub async fn update_credential<K: CredentialRoutes>(
    auth: Auth<Admin>,
    State(state): State<AppState>,
    CredentialPath(id): CredentialPath,
    AppJson(body): AppJson,
) -> Result<Json<CredentialView>, ApiError> {
    check_kind::<K>(&id)?;
    let req = UpdateCredentialRequest::parse(&body)?;
    let cred = state.store.set_credential_limits(auth.principal.project_id, id, req.limits).await?;
    Ok(Json(CredentialView::new(cred, state.settings.key_rotation_period)))
}
