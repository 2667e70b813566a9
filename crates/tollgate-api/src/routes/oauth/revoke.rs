//! `POST /oauth/revoke` (RFC 7009): a client revokes one of its own access tokens. The answer
//! is 200 whatever the token was (unknown, expired, someone else's), as the RFC asks.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use tollgate_core::time_fmt::from_unix_micros;

use super::client_auth::authenticate_client;
use super::params::{OAuthParams, TokenParams, TokenParamsBody};
use crate::error::{OAuthError, OAuthErrorBody};
use crate::extract::failed_auth::AuthAttempt;
use crate::oauth::verify::verify;
use crate::state::AppState;

/// Revokes a token.
#[utoipa::path(post, path = "/oauth/revoke", tag = "oauth", security(),
    request_body(content = TokenParamsBody, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, description = "Revoked (or nothing to revoke)"), (status = 400, body = OAuthErrorBody),
              (status = 401, body = OAuthErrorBody),
              (status = 413, description = "The body is over 1 MiB (`invalid_request`)", body = OAuthErrorBody),
              (status = 415, description = "A `Content-Encoding` other than `identity` (the `/v1` envelope: no body is decoded)", body = crate::error::ErrorEnvelope),
              (status = 429, description = "Too many failed authentications from this address, or over the client's write limit; see `Retry-After`", body = OAuthErrorBody)))]
pub async fn revoke_token(
    State(state): State<AppState>,
    attempt: AuthAttempt,
    headers: HeaderMap,
    params: OAuthParams,
) -> Result<StatusCode, OAuthError> {
    let req = TokenParams::from_params(&params);
    let client = authenticate_client(&state, &attempt, &headers, &req.client).await?;
    let token = req.token()?;
    match verify(&state, token).await {
        Ok(t) if t.client == client.id => {
            // Verifiers accept a token until `exp` plus the leeway, so it stays denied until then.
            let leeway = i64::try_from(state.settings.oauth.leeway_seconds).unwrap_or(i64::MAX);
            let keep_until = from_unix_micros(t.claims.exp.saturating_add(leeway).saturating_mul(1_000_000));
            state.store.revoke_token(t.claims.jti.clone(), keep_until).await?;
            tracing::info!(credential.id = %client.id, "revoked an access token");
        }
        Err(Err(e)) => {
            tracing::warn!(error.code = %e.code(), "could not check a token to revoke");
        }
        _ => {}
    }
    Ok(StatusCode::OK)
}
