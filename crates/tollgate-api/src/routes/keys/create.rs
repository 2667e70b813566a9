//! `POST /v1/keys`: mints a key in the caller's project; the secret is in this answer only.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use tollgate_auth::{CredentialKind, SecretToken};
use tollgate_core::time_fmt::now;
use tollgate_core::NewApiKey;

use super::body::CreateKeyRequest;
use super::view::{KeyView, KeyWithSecret};
use crate::error::ApiError;
use crate::extract::{Admin, AppJson, Auth};
use crate::state::AppState;

/// Creates an API key.
pub async fn create_api_key(
    auth: Auth<Admin>,
    State(state): State<AppState>,
    AppJson(body): AppJson,
) -> Result<(StatusCode, Json<KeyWithSecret>), ApiError> {
    let req = CreateKeyRequest::parse(&body)?;
    let secret = SecretToken::generate(CredentialKind::ApiKey);
    let new = NewApiKey {
        project_id: auth.principal.project_id,
        name: req.name,
        scopes: req.scopes,
        expires_at: req.expires_in.map(|d| now() + d),
    };
    let key = state
        .store
        .create_key(new, secret.digest(), secret.hint())
        .await?;
    let view = KeyView::new(key, state.settings.key_rotation_period);
    Ok((
        StatusCode::CREATED,
        Json(KeyWithSecret {
            key: view,
            secret: secret.expose().to_owned(),
        }),
    ))
}
