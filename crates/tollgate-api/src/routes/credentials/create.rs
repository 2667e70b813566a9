//! `POST /v1/keys`, `POST /v1/clients`: mints a credential in the caller's project; the secret
//! is in this answer only.

use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use tollgate_auth::SecretToken;
use tollgate_core::time_fmt::now;
use tollgate_core::NewCredential;

use super::body::CreateCredentialRequest;
use super::view::{with_secret, ApiKeyWithSecret, ClientWithSecret};
use super::{ApiKeys, CredentialRoutes, OAuthClients};
use crate::deprecation::{Deprecated, SCOPES_AS_STRING};
use crate::error::{ApiError, ErrorEnvelope};
use crate::extract::{Admin, AppJson, Auth};
use crate::state::AppState;

/// What a create answers: 201, the deprecation mark when the body used a deprecated form, the
/// credential with its secret.
type Created<T> = (StatusCode, Option<Extension<Deprecated>>, Json<T>);

/// Creates an API key or OAuth client.
pub async fn create_credential<K: CredentialRoutes>(
    auth: Auth<Admin>,
    State(state): State<AppState>,
    AppJson(body): AppJson,
) -> Result<Created<K::WithSecret>, ApiError> {
    let req = CreateCredentialRequest::parse(&body)?;
    let deprecated = body.get("scopes").is_some_and(serde_json::Value::is_string);
    let secret = SecretToken::generate(K::SECRET);
    let new = NewCredential {
        id: K::mint_id(),
        project_id: auth.principal.project_id,
        name: req.name,
        scopes: req.scopes,
        expires_at: req.expires_in.map(|d| now() + d),
        limits: req.limits,
    };
    let cred = state.store.create_credential(new, secret.digest(), secret.hint()).await?;
    let body = with_secret::<K>(cred, &secret, state.settings.key_rotation_period);
    Ok((StatusCode::CREATED, deprecated.then_some(Extension(Deprecated(&SCOPES_AS_STRING))), Json(body)))
}

/// Creates an API key.
#[utoipa::path(post, path = "/v1/keys", tag = "keys", request_body = CreateCredentialRequest,
    responses((status = 201, description = "The secret is in this answer only", body = ApiKeyWithSecret),
              (status = 400, body = ErrorEnvelope), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
              (status = 413, body = ErrorEnvelope), (status = 415, body = ErrorEnvelope), (status = 429, body = ErrorEnvelope)))]
pub async fn create_api_key(
    auth: Auth<Admin>,
    state: State<AppState>,
    body: AppJson,
) -> Result<Created<ApiKeyWithSecret>, ApiError> {
    create_credential::<ApiKeys>(auth, state, body).await
}

/// Creates an OAuth client.
#[utoipa::path(post, path = "/v1/clients", tag = "clients", request_body = CreateCredentialRequest,
    responses((status = 201, description = "The secret is in this answer only", body = ClientWithSecret),
              (status = 400, body = ErrorEnvelope), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
              (status = 413, body = ErrorEnvelope), (status = 415, body = ErrorEnvelope), (status = 429, body = ErrorEnvelope)))]
pub async fn create_client(
    auth: Auth<Admin>,
    state: State<AppState>,
    body: AppJson,
) -> Result<Created<ClientWithSecret>, ApiError> {
    create_credential::<OAuthClients>(auth, state, body).await
}
