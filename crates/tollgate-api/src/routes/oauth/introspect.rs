//! `POST /oauth/introspect` (RFC 7662): an authenticated client asks whether a token is active.
//! Tokens of other projects are reported inactive, exactly like invalid ones.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use serde_json::{json, Value};

use super::client_auth::authenticate_client;
use super::params::OAuthParams;
use crate::error::OAuthError;
use crate::extract::failed_auth::AuthAttempt;
use crate::oauth::verify::verify;
use crate::state::AppState;

/// Describes a token.
pub async fn introspect_token(
    State(state): State<AppState>,
    attempt: AuthAttempt,
    headers: HeaderMap,
    params: OAuthParams,
) -> Result<Json<Value>, OAuthError> {
    let client = authenticate_client(&state, &attempt, &headers, &params).await?;
    let token = params.get("token").ok_or_else(|| OAuthError::invalid_request("token is required"))?;
    let inactive = Json(json!({"active": false}));
    let verified = match verify(&state, token).await {
        Ok(t) if t.project_id == client.credential.project_id => t,
        Ok(_) | Err(Ok(_)) => return Ok(inactive),
        Err(Err(e)) => {
            tracing::warn!(error.code = %e.code(), "could not introspect a token");
            return Ok(inactive);
        }
    };
    let c = verified.claims;
    Ok(Json(json!({
        "active": true,
        "scope": c.scope,
        "client_id": c.client_id,
        "sub": c.sub,
        "aud": c.aud,
        "iss": c.iss,
        "exp": c.exp,
        "iat": c.iat,
        "nbf": c.nbf,
        "jti": c.jti,
        "token_type": "Bearer",
        "project": c.project,
    })))
}
