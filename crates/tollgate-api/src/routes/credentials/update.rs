//! `PATCH /v1/keys/{id}`, `PATCH /v1/clients/{id}`: changes a credential's own rate limits
//! (a revoked one is a conflict, as rotating it is).

use axum::extract::State;
use axum::Json;

use super::body::UpdateCredentialRequest;
use super::view::CredentialView;
use super::{check_kind, ApiKeys, CredentialRoutes, OAuthClients};
use crate::error::{ApiError, ErrorEnvelope};
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

/// Changes an API key's limits.
#[utoipa::path(patch, path = "/v1/keys/{id}", tag = "keys", params(("id" = String, Path, description = "`key_` + ULID")),
    request_body = UpdateCredentialRequest,
    responses((status = 200, body = CredentialView), (status = 400, body = ErrorEnvelope), (status = 401, body = ErrorEnvelope),
              (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope),
              (status = 413, body = ErrorEnvelope),
              (status = 415, body = ErrorEnvelope), (status = 429, body = ErrorEnvelope)))]
pub async fn update_api_key(
    auth: Auth<Admin>,
    state: State<AppState>,
    id: CredentialPath,
    body: AppJson,
) -> Result<Json<CredentialView>, ApiError> {
    update_credential::<ApiKeys>(auth, state, id, body).await
}

/// Changes an OAuth client's limits.
#[utoipa::path(patch, path = "/v1/clients/{id}", tag = "clients", params(("id" = String, Path, description = "The client id, `tgc_...`")),
    request_body = UpdateCredentialRequest,
    responses((status = 200, body = CredentialView), (status = 400, body = ErrorEnvelope), (status = 401, body = ErrorEnvelope),
              (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope),
              (status = 413, body = ErrorEnvelope),
              (status = 415, body = ErrorEnvelope), (status = 429, body = ErrorEnvelope)))]
pub async fn update_client(
    auth: Auth<Admin>,
    state: State<AppState>,
    id: CredentialPath,
    body: AppJson,
) -> Result<Json<CredentialView>, ApiError> {
    update_credential::<OAuthClients>(auth, state, id, body).await
}
