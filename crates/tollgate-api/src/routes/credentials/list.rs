//! `GET /v1/keys`, `GET /v1/clients`: the caller's project's credentials of one kind.

use axum::extract::State;
use axum::Json;

use super::view::{CredentialList, CredentialView};
use super::{ApiKeys, CredentialRoutes, OAuthClients};
use crate::error::{ApiError, ErrorEnvelope};
use crate::extract::{Admin, Auth, NoQuery};
use crate::state::AppState;

/// Lists credentials, oldest first, revoked ones included.
pub async fn list_credentials<K: CredentialRoutes>(
    auth: Auth<Admin>,
    State(state): State<AppState>,
    _query: NoQuery,
) -> Result<Json<CredentialList>, ApiError> {
    let period = state.settings.key_rotation_period;
    let creds = state.store.list_credentials(K::KIND, auth.principal.project_id).await?;
    let items: Vec<CredentialView> = creds.into_iter().map(|c| CredentialView::new(c, period)).collect();
    Ok(Json(CredentialList { items }))
}

/// Lists the project's API keys.
#[utoipa::path(get, path = "/v1/keys", tag = "keys",
    responses((status = 200, body = CredentialList), (status = 400, body = ErrorEnvelope), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
              (status = 429, body = ErrorEnvelope)))]
pub async fn list_api_keys(
    auth: Auth<Admin>,
    state: State<AppState>,
    query: NoQuery,
) -> Result<Json<CredentialList>, ApiError> {
    list_credentials::<ApiKeys>(auth, state, query).await
}

/// Lists the project's OAuth clients.
#[utoipa::path(get, path = "/v1/clients", tag = "clients",
    responses((status = 200, body = CredentialList), (status = 400, body = ErrorEnvelope), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
              (status = 429, body = ErrorEnvelope)))]
pub async fn list_clients(
    auth: Auth<Admin>,
    state: State<AppState>,
    query: NoQuery,
) -> Result<Json<CredentialList>, ApiError> {
    list_credentials::<OAuthClients>(auth, state, query).await
}
