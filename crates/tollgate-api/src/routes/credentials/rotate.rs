//! `POST /v1/keys/{id}/rotate`, `POST /v1/clients/{id}/rotate`: a new secret; the old one works
//! until the grace period ends. A revoked credential cannot be rotated (409 `CONFLICT`).

use axum::extract::State;
use axum::Json;
use tollgate_auth::SecretToken;

use super::body::RotateRequest;
use super::view::{with_secret, ApiKeyWithSecret, ClientWithSecret};
use super::{check_kind, ApiKeys, CredentialRoutes, OAuthClients};
use crate::error::{ApiError, ErrorEnvelope};
use crate::extract::{Admin, Auth, CredentialPath, MaybeJson};
use crate::state::AppState;

/// Rotates a credential's secret.
pub async fn rotate_credential<K: CredentialRoutes>(
    auth: Auth<Admin>,
    State(state): State<AppState>,
    CredentialPath(id): CredentialPath,
    MaybeJson(body): MaybeJson,
) -> Result<Json<K::WithSecret>, ApiError> {
    check_kind::<K>(&id)?;
    let req = RotateRequest::parse(body.as_ref())?;
    let secret = SecretToken::generate(K::SECRET);
    let cred =
        state.store.rotate_credential(auth.principal.project_id, id, secret.digest(), secret.hint(), req.grace).await?;
    Ok(Json(with_secret::<K>(cred, &secret, state.settings.key_rotation_period)))
}

/// Rotates an API key's secret.
#[utoipa::path(post, path = "/v1/keys/{id}/rotate", tag = "keys", params(("id" = String, Path, description = "`key_` + ULID")),
    request_body = Option<RotateRequest>,
    responses((status = 200, description = "The new secret is in this answer only", body = ApiKeyWithSecret),
              (status = 400, body = ErrorEnvelope), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
              (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope), (status = 413, body = ErrorEnvelope),
              (status = 415, body = ErrorEnvelope), (status = 429, body = ErrorEnvelope)))]
pub async fn rotate_api_key(
    auth: Auth<Admin>,
    state: State<AppState>,
    id: CredentialPath,
    body: MaybeJson,
) -> Result<Json<ApiKeyWithSecret>, ApiError> {
    rotate_credential::<ApiKeys>(auth, state, id, body).await
}

/// Rotates an OAuth client's secret.
#[utoipa::path(post, path = "/v1/clients/{id}/rotate", tag = "clients", params(("id" = String, Path, description = "The client id, `tgc_...`")),
    request_body = Option<RotateRequest>,
    responses((status = 200, description = "The new secret is in this answer only", body = ClientWithSecret),
              (status = 400, body = ErrorEnvelope), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
              (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope), (status = 413, body = ErrorEnvelope),
              (status = 415, body = ErrorEnvelope), (status = 429, body = ErrorEnvelope)))]
pub async fn rotate_client(
    auth: Auth<Admin>,
    state: State<AppState>,
    id: CredentialPath,
    body: MaybeJson,
) -> Result<Json<ClientWithSecret>, ApiError> {
    rotate_credential::<OAuthClients>(auth, state, id, body).await
}
