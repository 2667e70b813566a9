//! `POST /v1/keys/{id}/rotate`, `POST /v1/clients/{id}/rotate`: a new secret; the old one works
//! until the grace period ends.

use axum::extract::State;
use axum::Json;
use serde_json::Value;
use tollgate_auth::SecretToken;

use super::body::RotateRequest;
use super::view::with_secret;
use super::{check_kind, CredentialRoutes};
use crate::error::ApiError;
use crate::extract::{Admin, Auth, CredentialPath, MaybeJson};
use crate::state::AppState;

/// Rotates a credential's secret.
pub async fn rotate_credential<K: CredentialRoutes>(
    auth: Auth<Admin>,
    State(state): State<AppState>,
    CredentialPath(id): CredentialPath,
    MaybeJson(body): MaybeJson,
) -> Result<Json<Value>, ApiError> {
    check_kind::<K>(&id)?;
    let req = RotateRequest::parse(body.as_ref())?;
    let secret = SecretToken::generate(K::SECRET);
    let cred =
        state.store.rotate_credential(auth.principal.project_id, id, secret.digest(), secret.hint(), req.grace).await?;
    Ok(Json(with_secret::<K>(cred, &secret, state.settings.key_rotation_period)))
}
