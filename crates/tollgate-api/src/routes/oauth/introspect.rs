//! `POST /oauth/introspect` (RFC 7662): an authenticated client asks whether a token is active.
//! Tokens of other projects are reported inactive, exactly like invalid ones.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use serde::Serialize;

use super::client_auth::authenticate_client;
use super::params::{OAuthParams, TokenParams, TokenParamsBody};
use crate::error::{OAuthError, OAuthErrorBody};
use crate::extract::failed_auth::AuthAttempt;
use crate::oauth::verify::verify;
use crate::state::AppState;

/// RFC 7662 section 2.2: `{"active": false}` alone, or `active: true` with the token's claims.
#[derive(Debug, Default, Serialize, utoipa::ToSchema)]
pub struct Introspection {
    /// Whether the token is valid now, for this client's project.
    pub active: bool,
    /// Granted scopes, space-separated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// The client the token was issued to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// The subject (the client id).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    /// The audience.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
    /// The issuer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    /// Expiry, seconds since the epoch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    /// Issued at, seconds since the epoch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    /// Not before, seconds since the epoch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    /// The token's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    /// `Bearer`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_type: Option<String>,
    /// The project's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
}

/// Describes a token.
#[utoipa::path(post, path = "/oauth/introspect", tag = "oauth", security(),
    request_body(content = TokenParamsBody, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, body = Introspection), (status = 400, body = OAuthErrorBody), (status = 401, body = OAuthErrorBody),
              (status = 413, description = "The body is over 1 MiB (`invalid_request`)", body = OAuthErrorBody),
              (status = 415, description = "A `Content-Encoding` other than `identity` (the `/v1` envelope: no body is decoded)", body = crate::error::ErrorEnvelope),
              (status = 429, description = "Too many failed authentications from this address, or over the client's write limit; see `Retry-After`", body = OAuthErrorBody)))]
pub async fn introspect_token(
    State(state): State<AppState>,
    attempt: AuthAttempt,
    headers: HeaderMap,
    params: OAuthParams,
) -> Result<Json<Introspection>, OAuthError> {
    let req = TokenParams::from_params(&params);
    let client = authenticate_client(&state, &attempt, &headers, &req.client).await?;
    let token = req.token()?;
    let inactive = Json(Introspection::default());
    let verified = match verify(&state, token).await {
        Ok(t) if t.project_id == client.credential.project_id => t,
        Ok(_) | Err(Ok(_)) => return Ok(inactive),
        Err(Err(e)) => {
            tracing::warn!(error.code = %e.code(), "could not introspect a token");
            return Ok(inactive);
        }
    };
    let c = verified.claims;
    Ok(Json(Introspection {
        active: true,
        scope: Some(c.scope),
        client_id: Some(c.client_id),
        sub: Some(c.sub),
        aud: Some(c.aud),
        iss: Some(c.iss),
        exp: Some(c.exp),
        iat: Some(c.iat),
        nbf: Some(c.nbf),
        jti: Some(c.jti),
        token_type: Some("Bearer".to_owned()),
        project: Some(c.project),
    }))
}
