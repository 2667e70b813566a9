//! `POST /v1/keys/{id}/rotate`: a new secret; the old one works until the grace period ends.

use axum::extract::State;
use axum::Json;
use tollgate_auth::{CredentialKind, SecretToken};

use super::body::RotateKeyRequest;
use super::view::{KeyView, KeyWithSecret};
use crate::error::ApiError;
use crate::extract::{Admin, Auth, KeyPath, MaybeJson};
use crate::state::AppState;

/// Rotates an API key's secret.
pub async fn rotate_api_key(
    auth: Auth<Admin>,
    State(state): State<AppState>,
    KeyPath(id): KeyPath,
    MaybeJson(body): MaybeJson,
) -> Result<Json<KeyWithSecret>, ApiError> {
    let req = RotateKeyRequest::parse(body.as_ref())?;
    let secret = SecretToken::generate(CredentialKind::ApiKey);
    let key = state
        .store
        .rotate_key(
            auth.principal.project_id,
            id,
            secret.digest(),
            secret.hint(),
            req.grace,
        )
        .await?;
    let view = KeyView::new(key, state.settings.key_rotation_period);
    Ok(Json(KeyWithSecret {
        key: view,
        secret: secret.expose().to_owned(),
    }))
}
