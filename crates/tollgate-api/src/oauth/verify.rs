//! Access-token verification beyond the signature: the token's client must still exist and be
//! active, and its `jti` must not be revoked. Both are read from the store on every request,
//! so revoking a client or a token takes effect on the next request, on every node.

use tollgate_auth::jwt::{AccessClaims, TokenError};
use tollgate_core::time_fmt::now;
use tollgate_core::{ClientId, CredentialId, CredentialLimits, CredentialState, ProjectId, Scopes};

use crate::error::ApiError;
use crate::state::AppState;

/// A token that passed every check.
#[derive(Debug, Clone)]
pub struct VerifiedToken {
    /// Its claims.
    pub claims: AccessClaims,
    /// The client it was issued to.
    pub client: ClientId,
    /// The client's project.
    pub project_id: ProjectId,
    /// The scopes the token grants.
    pub scopes: Scopes,
    /// The client's own rate limits.
    pub limits: CredentialLimits,
}

/// Why a token was refused, for `WWW-Authenticate` and introspection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// Signature, claims or type checks failed.
    Token(TokenError),
    /// The token or its client was revoked (or the client is gone).
    Revoked,
}

/// Verifies `token` completely. `Err(Ok(rejection))` is a refused token; `Err(Err(e))` is a
/// failure of the server (the store did not answer).
pub async fn verify(state: &AppState, token: &str) -> Result<VerifiedToken, Result<Rejection, ApiError>> {
    let oauth = &state.settings.oauth;
    let now_s = time::OffsetDateTime::now_utc().unix_timestamp();
    let claims = match state.verified_tokens.get(token, now_s, oauth.leeway_seconds) {
        Some(claims) => claims,
        None => {
            let keys = state.token_keys.current().await.map_err(|e| Err(e.into()))?;
            let claims = match keys.verify(token, &oauth.issuer, &oauth.audience, oauth.leeway_seconds) {
                Err(TokenError::UnknownKey) => {
                    let keys = state.token_keys.reload_for_unknown_kid().await.map_err(|e| Err(e.into()))?;
                    keys.verify(token, &oauth.issuer, &oauth.audience, oauth.leeway_seconds)
                }
                other => other,
            }
            .map_err(|e| Ok(Rejection::Token(e)))?;
            state.verified_tokens.insert(token, &claims);
            claims
        }
    };
    let malformed = || Ok(Rejection::Token(TokenError::Malformed));
    let client = ClientId::parse(&claims.client_id).ok_or_else(malformed)?;
    let project_id = ProjectId::parse(&claims.project).ok_or_else(malformed)?;
    let scopes = Scopes::parse(&claims.scope).map_err(|_| malformed())?;
    let check = state
        .store
        .check_token(CredentialId::OAuthClient(client.clone()), claims.jti.clone())
        .await
        .map_err(|e| Err(e.into()))?;
    let live = check.client.filter(|c| c.state(now()) == CredentialState::Active && c.project_id == project_id);
    let Some(live) = live.filter(|_| !check.revoked) else {
        return Err(Ok(Rejection::Revoked));
    };
    Ok(VerifiedToken { claims, client, project_id, scopes, limits: live.limits })
}
