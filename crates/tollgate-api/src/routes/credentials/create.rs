//! `POST /v1/keys`, `POST /v1/clients`: mints a credential in the caller's project; the secret
//! is in this answer only.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde_json::Value;
use tollgate_auth::SecretToken;
use tollgate_core::time_fmt::now;
use tollgate_core::NewCredential;

use super::body::CreateCredentialRequest;
use super::view::with_secret;
use super::CredentialRoutes;
use crate::error::ApiError;
use crate::extract::{Admin, AppJson, Auth};
use crate::state::AppState;

/// Creates an API key or OAuth client.
pub async fn create_credential<K: CredentialRoutes>(
    auth: Auth<Admin>,
    State(state): State<AppState>,
    AppJson(body): AppJson,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let req = CreateCredentialRequest::parse(&body)?;
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
    Ok((StatusCode::CREATED, Json(body)))
}
