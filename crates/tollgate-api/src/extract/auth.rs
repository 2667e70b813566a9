//! Authentication and authorisation as an extractor: `Auth<Write>` in a handler's signature is
//! the permission that handler needs. API keys come in `X-API-Key` or `Authorization: Bearer`;
//! the secret's shape and checksum are checked before any lookup, the stored digest is compared
//! in constant time, and revoked or expired keys are refused on their very next request.

use std::marker::PhantomData;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::HeaderMap;
use tollgate_auth::{AuthError, CredentialKind, SecretToken};
use tollgate_core::time_fmt::now;
use tollgate_core::{KeyId, KeyState, ProjectId, Scope, Scopes};

use crate::error::ApiError;
use crate::middleware::request_id::RequestContext;
use crate::state::AppState;

/// How often `last_used_at` is written for one key.
const TOUCH_EVERY: Duration = Duration::from_secs(60);

/// Who is calling.
#[derive(Debug, Clone)]
pub struct Principal {
    /// The API key.
    pub key_id: KeyId,
    /// The project the key belongs to; it sees nothing else.
    pub project_id: ProjectId,
    /// What it may do.
    pub scopes: Scopes,
}

/// A scope a route requires, as a type.
pub trait RequiredScope: Send + Sync + 'static {
    /// The scope.
    const SCOPE: Scope;
}

/// `resource:read`.
pub struct Read;
/// `resource:write`.
pub struct Write;
/// `admin`.
pub struct Admin;

impl RequiredScope for Read {
    const SCOPE: Scope = Scope::ResourceRead;
}
impl RequiredScope for Write {
    const SCOPE: Scope = Scope::ResourceWrite;
}
impl RequiredScope for Admin {
    const SCOPE: Scope = Scope::Admin;
}

/// An authenticated caller holding scope `S`.
pub struct Auth<S: RequiredScope> {
    /// The caller.
    pub principal: Principal,
    _scope: PhantomData<S>,
}

impl<S: RequiredScope> FromRequestParts<AppState> for Auth<S> {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let principal = authenticate(&parts.headers, state).await?;
        if let Some(ctx) = parts.extensions.get::<Arc<RequestContext>>() {
            ctx.set_key_id(principal.key_id.to_string());
        }
        if !principal.scopes.contains(S::SCOPE) {
            return Err(ApiError::forbidden(S::SCOPE));
        }
        Ok(Self {
            principal,
            _scope: PhantomData,
        })
    }
}

/// Reads the one credential a request carries.
fn presented_key(headers: &HeaderMap) -> Result<&str, AuthError> {
    let api_key = headers
        .get("x-api-key")
        .map(|v| v.to_str().map_err(|_| AuthError::Malformed));
    let bearer = headers.get(axum::http::header::AUTHORIZATION).map(|v| {
        let v = v.to_str().map_err(|_| AuthError::Malformed)?;
        let (scheme, token) = v.split_once(' ').ok_or(AuthError::Malformed)?;
        if scheme.eq_ignore_ascii_case("bearer") {
            Ok(token.trim())
        } else {
            Err(AuthError::Malformed)
        }
    });
    match (api_key, bearer) {
        (None, None) => Err(AuthError::Missing),
        (Some(k), None) => k,
        (None, Some(b)) => b,
        // Two credentials are ambiguous: refuse rather than guess which one counts.
        (Some(_), Some(_)) => Err(AuthError::Malformed),
    }
}

async fn authenticate(headers: &HeaderMap, state: &AppState) -> Result<Principal, ApiError> {
    let raw = presented_key(headers).map_err(ApiError::unauthenticated)?;
    let secret =
        SecretToken::parse(CredentialKind::ApiKey, raw).map_err(ApiError::unauthenticated)?;
    let digest = secret.digest();
    let at = now();
    let found = state.store.find_key_by_digest(digest, at).await?;
    let Some(found) = found.filter(|m| m.stored_digest.ct_eq(&digest)) else {
        return Err(ApiError::unauthenticated(AuthError::Invalid));
    };
    match found.key.state(at) {
        KeyState::Active => {}
        KeyState::Expired => return Err(ApiError::unauthenticated(AuthError::Expired)),
        KeyState::Revoked => return Err(ApiError::unauthenticated(AuthError::Invalid)),
    }
    tracing::debug!(credential.id = %found.key.id, credential.kind = "api_key", "authenticated");
    touch(state, found.key.id);
    Ok(Principal {
        key_id: found.key.id,
        project_id: found.key.project_id,
        scopes: found.key.scopes,
    })
}

/// Records use in the background, at most once a minute per key, so reads stay reads.
fn touch(state: &AppState, id: KeyId) {
    let due = {
        let mut touches = state.key_touches.lock().unwrap_or_else(|p| p.into_inner());
        let due = touches.get(&id).is_none_or(|t| t.elapsed() >= TOUCH_EVERY);
        if due {
            touches.insert(id, Instant::now());
        }
        due
    };
    if due {
        let store = state.store.clone();
        tokio::spawn(async move {
            if let Err(e) = store.touch_key(id, now()).await {
                tracing::warn!(credential.id = %id, error = %e, "could not record key use");
            }
        });
    }
}
