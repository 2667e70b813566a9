//! Client authentication at the OAuth endpoints (RFC 6749 section 2.3.1): HTTP Basic, with the
//! id and secret form-urlencoded before base64, or `client_id` and `client_secret` in the body.
//! Using both is `invalid_request`; any failure is the same `invalid_client`. Limits apply
//! here: failed client authentications per source address, then the client's own write limit.

use std::sync::Arc;

use axum::http::{header, HeaderMap, HeaderValue, Method};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use tollgate_auth::{SecretKind, SecretToken};
use tollgate_core::time_fmt::now;
use tollgate_core::{ClientId, Credential, CredentialId, CredentialState};

use super::params::ClientCredentials;
use crate::error::OAuthError;
use crate::extract::failed_auth::AuthAttempt;
use crate::extract::single_header::{single_header, Repeated};
use crate::extract::{rate_limit, Principal};
use crate::state::AppState;

/// An authenticated, active OAuth client.
pub struct AuthenticatedClient {
    /// Its id.
    pub id: ClientId,
    /// Its metadata (scopes, project).
    pub credential: Credential,
}

/// Authenticates the client of an OAuth request, then counts the request against the
/// client's own write limit (a token costs a signature; introspection and revocation are
/// writes too). A refused client authentication counts against the caller's address, and an
/// address with too many of them gets 429 before any lookup.
pub async fn authenticate_client(
    state: &AppState,
    attempt: &AuthAttempt,
    headers: &HeaderMap,
    params: &ClientCredentials,
) -> Result<AuthenticatedClient, OAuthError> {
    attempt.check(state)?;
    let client = match verify_client(state, headers, params).await {
        Ok(client) => client,
        Err((e, presented)) => {
            if presented {
                state.metrics.auth_failure("invalid_client");
                attempt.failed(state).await;
            }
            return Err(e);
        }
    };
    let c = &client.credential;
    let principal =
        Principal { credential: c.id.clone(), project_id: c.project_id, scopes: c.scopes.clone(), limits: c.limits };
    let id: Arc<str> = c.id.to_string().into();
    if let Some(ctx) = &attempt.ctx {
        ctx.set_credential(id.clone(), c.id.kind(), c.project_id);
    }
    rate_limit::enforce(state, &principal, &id, &Method::POST, attempt.ctx.as_deref()).await?;
    Ok(client)
}

/// Checks the client's credentials; the error says whether any were presented (a request
/// without them is a mistake, not a guess, and is not counted).
async fn verify_client(
    state: &AppState,
    headers: &HeaderMap,
    params: &ClientCredentials,
) -> Result<AuthenticatedClient, (OAuthError, bool)> {
    // Two are two authentication attempts at once, which RFC 6749 (section 2.3) forbids: a
    // mistake to report, not a failed guess to count.
    let authorization = single_header(headers, &header::AUTHORIZATION).map_err(|Repeated| {
        (OAuthError::invalid_request("Authorization is given more than once: use one client authentication"), false)
    })?;
    let basic = basic_credentials(authorization).map_err(|e| (e, true))?;
    let used_basic = basic.is_some();
    let in_body = params.client_secret.is_some();
    let (id, secret) = match basic {
        Some(_) if in_body => {
            return Err((OAuthError::invalid_request("use one client authentication method, not two"), false))
        }
        Some(pair) => pair,
        None => match (&params.client_id, &params.client_secret) {
            (Some(id), Some(secret)) => (id.clone(), secret.clone()),
            _ => return Err((OAuthError::invalid_client(false), false)),
        },
    };
    let fail = || (OAuthError::invalid_client(used_basic), true);
    let client_id = ClientId::parse(&id).ok_or_else(fail)?;
    let secret = SecretToken::parse(SecretKind::ClientSecret, &secret).map_err(|_| fail())?;
    let digest = secret.digest();
    let at = now();
    let found = state.store.find_credential_by_digest(digest, at).await.map_err(|e| (e.into(), false))?;
    let credential = found
        .filter(|m| m.stored_digest.ct_eq(&digest))
        .map(|m| m.credential)
        .filter(|c| c.id == CredentialId::OAuthClient(client_id.clone()) && c.state(at) == CredentialState::Active)
        .ok_or_else(fail)?;
    Ok(AuthenticatedClient { id: client_id, credential })
}

/// `Authorization: Basic base64(urlencode(id) ":" urlencode(secret))`, decoded.
fn basic_credentials(authorization: Option<&HeaderValue>) -> Result<Option<(String, String)>, OAuthError> {
    let Some(value) = authorization else {
        return Ok(None);
    };
    let value = value.to_str().map_err(|_| OAuthError::invalid_client(true))?;
    let Some((scheme, encoded)) = value.split_once(' ') else {
        return Err(OAuthError::invalid_client(true));
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(OAuthError::invalid_client(true));
    }
    let decoded = STANDARD.decode(encoded.trim()).map_err(|_| OAuthError::invalid_client(true))?;
    let text = String::from_utf8(decoded).map_err(|_| OAuthError::invalid_client(true))?;
    let (id, secret) = text.split_once(':').ok_or_else(|| OAuthError::invalid_client(true))?;
    let unescape = |s: &str| form_decode(s).ok_or_else(|| OAuthError::invalid_client(true));
    Ok(Some((unescape(id)?, unescape(secret)?)))
}

/// Reverses application/x-www-form-urlencoded encoding of one value.
fn form_decode(s: &str) -> Option<String> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(&format!("v={}", s.replace('&', "%26"))).ok()?;
    pairs.into_iter().next().map(|(_, v)| v)
}
