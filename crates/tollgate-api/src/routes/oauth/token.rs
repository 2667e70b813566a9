//! `POST /oauth/token`: the client credentials grant (RFC 6749 section 4.4) issuing RFC 9068
//! JWT access tokens. No refresh token is issued for this grant (section 4.4.3).

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use tollgate_auth::jwt::AccessClaims;
use tollgate_core::{Scope, Scopes};

use super::client_auth::authenticate_client;
use super::params::{OAuthParams, TokenRequest, TokenRequestBody};
use crate::error::{OAuthError, OAuthErrorBody};
use crate::extract::failed_auth::AuthAttempt;
use crate::state::AppState;

/// An access token (RFC 6749 section 5.1).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TokenResponse {
    /// The RFC 9068 JWT.
    pub access_token: String,
    /// `Bearer`.
    #[schema(value_type = String)]
    pub token_type: &'static str,
    /// Seconds until it expires.
    pub expires_in: i64,
    /// The granted scopes, space-separated.
    pub scope: String,
}

/// Issues an access token.
#[utoipa::path(post, path = "/oauth/token", tag = "oauth", security(),
    request_body(content = TokenRequestBody, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, body = TokenResponse), (status = 400, body = OAuthErrorBody), (status = 401, body = OAuthErrorBody),
              (status = 413, description = "The body is over 1 MiB (`invalid_request`)", body = OAuthErrorBody),
              (status = 415, description = "A `Content-Encoding` other than `identity` (the `/v1` envelope: no body is decoded)", body = crate::error::ErrorEnvelope),
              (status = 429, description = "Too many failed authentications from this address, or over the client's write limit; see `Retry-After`", body = OAuthErrorBody)))]
pub async fn issue_token(
    State(state): State<AppState>,
    attempt: AuthAttempt,
    headers: HeaderMap,
    params: OAuthParams,
) -> Result<Response, OAuthError> {
    let req = TokenRequest::from_params(&params)?;
    if req.grant_type != "client_credentials" {
        return Err(OAuthError::unsupported_grant_type());
    }
    let client = authenticate_client(&state, &attempt, &headers, &req.client).await?;
    let granted = requested_scopes(req.scope.as_deref(), &client.credential.scopes)?;
    let oauth = &state.settings.oauth;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let ttl = oauth.token_ttl.whole_seconds();
    let claims = AccessClaims {
        iss: oauth.issuer.clone(),
        sub: client.id.to_string(),
        aud: oauth.audience.clone(),
        client_id: client.id.to_string(),
        scope: granted.to_space_separated(),
        iat: now,
        nbf: now,
        exp: now + ttl,
        jti: ulid::Ulid::new().to_string(),
        project: client.credential.project_id.to_string(),
    };
    let keys = state.token_keys.for_signing().await?;
    let token = keys
        .issue(&claims)
        .map_err(|e| OAuthError::from(tollgate_store::StoreError::internal("signing a token", e)))?;
    tracing::info!(credential.id = %client.id, scope = %claims.scope, "issued an access token");
    let body = TokenResponse { access_token: token, token_type: "Bearer", expires_in: ttl, scope: claims.scope };
    let mut response = Json(body).into_response();
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    Ok(response)
}

/// The scopes to grant: all of the client's when none are asked for, else the asked ones, each
/// of which the client must hold.
fn requested_scopes(asked: Option<&str>, allowed: &Scopes) -> Result<Scopes, OAuthError> {
    let Some(asked) = asked else {
        return Ok(allowed.clone());
    };
    let scopes = Scopes::parse(asked).map_err(OAuthError::invalid_scope)?;
    let missing: Vec<Scope> = scopes.iter().filter(|s| !allowed.contains(*s)).collect();
    if let Some(first) = missing.first() {
        return Err(OAuthError::invalid_scope(format!("the client may not request `{first}`")));
    }
    Ok(scopes)
}
