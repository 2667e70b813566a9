//! `DELETE /v1/keys/{id}`, `DELETE /v1/clients/{id}`: revokes at once (a client's tokens stop
//! working with it); the credential stays listed as revoked.

use axum::extract::State;
use axum::Json;

use super::view::CredentialView;
use super::{check_kind, ApiKeys, CredentialRoutes, OAuthClients};
use crate::error::{ApiError, ErrorEnvelope};
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

/// Revokes an API key.
#[utoipa::path(delete, path = "/v1/keys/{id}", tag = "keys", params(("id" = String, Path, description = "`key_` + ULID")),
    responses((status = 200, description = "Revoked", body = CredentialView), (status = 401, body = ErrorEnvelope),
              (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope), (status = 429, body = ErrorEnvelope)))]
pub async fn revoke_api_key(
    auth: Auth<Admin>,
    state: State<AppState>,
    id: CredentialPath,
) -> Result<Json<CredentialView>, ApiError> {
    revoke_credential::<ApiKeys>(auth, state, id).await
}

/// Revokes an OAuth client.
#[utoipa::path(delete, path = "/v1/clients/{id}", tag = "clients", params(("id" = String, Path, description = "The client id, `tgc_...`")),
    responses((status = 200, description = "Revoked", body = CredentialView), (status = 401, body = ErrorEnvelope),
              (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope), (status = 429, body = ErrorEnvelope)))]
pub async fn revoke_client(
    auth: Auth<Admin>,
    state: State<AppState>,
    id: CredentialPath,
) -> Result<Json<CredentialView>, ApiError> {
    revoke_credential::<OAuthClients>(auth, state, id).await
}
