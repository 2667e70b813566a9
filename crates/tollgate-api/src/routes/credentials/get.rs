//! `GET /v1/keys/{id}`, `GET /v1/clients/{id}`: one credential's metadata.

use axum::extract::State;
use axum::Json;

use super::view::CredentialView;
use super::{check_kind, ApiKeys, CredentialRoutes, OAuthClients};
use crate::error::{ApiError, ErrorEnvelope};
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

/// Reads one API key.
#[utoipa::path(get, path = "/v1/keys/{id}", tag = "keys", params(("id" = String, Path, description = "`key_` + ULID")),
    responses((status = 200, body = CredentialView), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
              (status = 404, body = ErrorEnvelope), (status = 429, body = ErrorEnvelope)))]
pub async fn get_api_key(
    auth: Auth<Admin>,
    state: State<AppState>,
    id: CredentialPath,
) -> Result<Json<CredentialView>, ApiError> {
    get_credential::<ApiKeys>(auth, state, id).await
}

/// Reads one OAuth client.
#[utoipa::path(get, path = "/v1/clients/{id}", tag = "clients", params(("id" = String, Path, description = "The client id, `tgc_...`")),
    responses((status = 200, body = CredentialView), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
              (status = 404, body = ErrorEnvelope), (status = 429, body = ErrorEnvelope)))]
pub async fn get_client(
    auth: Auth<Admin>,
    state: State<AppState>,
    id: CredentialPath,
) -> Result<Json<CredentialView>, ApiError> {
    get_credential::<OAuthClients>(auth, state, id).await
}
