//! Authentication and authorisation as an extractor: `Auth<Write>` in a handler's signature is
//! the permission that handler needs. API keys come in `X-API-Key` or `Authorization: Bearer`
//! (recognised by their `tgk_` prefix); any other bearer value is a JWT access token. A request
//! with both headers runs as the bearer credential, and its key must be valid and of the same
//! project. A key's shape and checksum are checked before any lookup, the stored digest is
//! compared in constant time, and revoked or expired credentials are refused on their very next
//! request.

use std::marker::PhantomData;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use tollgate_auth::{AuthError, SecretKind, SecretToken};
use tollgate_core::time_fmt::now;
use tollgate_core::{CredentialId, CredentialLimits, CredentialState, ProjectId, Scope, Scopes};

use super::failed_auth::AuthAttempt;
use super::single_header::{single_header, Repeated};
use crate::error::ApiError;
use crate::middleware::request_id::RequestContext;
use crate::oauth::verify::{verify, Rejection};
use crate::state::AppState;

/// How often `last_used_at` is written for one key.
const TOUCH_EVERY: Duration = Duration::from_secs(60);
/// Looked up on every request: as a `&str` the name would be parsed each time.
const X_API_KEY: HeaderName = HeaderName::from_static("x-api-key");

/// Who is calling.
#[derive(Debug, Clone)]
pub struct Principal {
    /// The API key or OAuth client.
    pub credential: CredentialId,
    /// The project the credential belongs to; it sees nothing else.
    pub project_id: ProjectId,
    /// What it may do.
    pub scopes: Scopes,
    /// Its own rate limits.
    pub limits: CredentialLimits,
}

/// A scope a route requires, as a type.
pub trait RequiredScope: Send + Sync + 'static {
    /// The scope, or `None` when any authenticated credential may call.
    const SCOPE: Option<Scope>;
    /// Whether authentication counts the request against its limit; a route that stands for
    /// several writes (a batch) counts them itself, all at once.
    const COUNTED: bool = true;
}

/// Any authenticated credential.
pub struct Any;
impl RequiredScope for Any {
    const SCOPE: Option<Scope> = None;
}

/// `resource:read`.
pub struct Read;
/// `resource:write`.
pub struct Write;
/// `resource:write`, for a request that counts its own writes.
pub struct WriteMany;
/// `admin`.
pub struct Admin;

impl RequiredScope for Read {
    const SCOPE: Option<Scope> = Some(Scope::ResourceRead);
}
impl RequiredScope for Write {
    const SCOPE: Option<Scope> = Some(Scope::ResourceWrite);
}
impl RequiredScope for WriteMany {
    const SCOPE: Option<Scope> = Some(Scope::ResourceWrite);
    const COUNTED: bool = false;
}
impl RequiredScope for Admin {
    const SCOPE: Option<Scope> = Some(Scope::Admin);
}

/// An authenticated caller holding scope `S`.
pub struct Auth<S: RequiredScope> {
    /// The caller.
    pub principal: Principal,
    _scope: PhantomData<S>,
}

impl<S: RequiredScope> FromRequestParts<AppState> for Auth<S> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        // While no address is blocked (the normal case) this costs one atomic load.
        let attempt = state.blocked_addresses.any().then(|| AuthAttempt::of(parts, state));
        if let Some(attempt) = &attempt {
            attempt.check(state)?;
        }
        let principal = match authenticate(&parts.headers, state).await {
            Ok(p) => p,
            Err(e) => {
                let reason = e.detail_value("reason").and_then(|r| r.as_str());
                if let Some(reason) = reason {
                    state.metrics.auth_failure(reason);
                }
                // A credential was presented and refused: it counts against the address.
                if reason.is_some_and(|r| r != AuthError::Missing.reason()) {
                    attempt.unwrap_or_else(|| AuthAttempt::of(parts, state)).failed(state).await;
                }
                return Err(e);
            }
        };
        // Counted in memory; a background task writes the counts in batches (hourly.rs).
        state.hourly.count(&principal.credential, principal.project_id, now());
        let ctx = parts.extensions.get::<Arc<RequestContext>>().cloned();
        let credential: Arc<str> = principal.credential.encode(&mut [0; tollgate_core::KeyId::TEXT_LEN]).into();
        if let Some(ctx) = &ctx {
            ctx.set_credential(credential.clone(), principal.credential.kind(), principal.project_id);
        }
        if let Some(scope) = S::SCOPE.filter(|s| !principal.scopes.contains(*s)) {
            return Err(ApiError::forbidden(scope));
        }
        if S::COUNTED {
            super::rate_limit::enforce(state, &principal, &credential, &parts.method, ctx.as_deref()).await?;
        }
        Ok(Self { principal, _scope: PhantomData })
    }
}

/// The credential a request runs as.
enum Presented<'a> {
    ApiKey(&'a str),
    Token(&'a str),
}

/// Reads the credential a request runs as, and the `X-API-Key` sent beside a bearer credential,
/// if one was.
fn presented(headers: &HeaderMap) -> Result<(Presented<'_>, Option<&str>), AuthError> {
    let api_key = one(headers, &X_API_KEY)?.map(|v| v.to_str().map_err(|_| AuthError::Malformed));
    let bearer = one(headers, &axum::http::header::AUTHORIZATION)?.map(|v| {
        let v = v.to_str().map_err(|_| AuthError::Malformed)?;
        let (scheme, token) = v.split_once(' ').ok_or(AuthError::Malformed)?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(AuthError::Malformed);
        }
        let token = token.trim();
        Ok(if token.starts_with(SecretKind::ApiKey.prefix()) {
            Presented::ApiKey(token)
        } else {
            Presented::Token(token)
        })
    });
    match (api_key, bearer) {
        (None, None) => Err(AuthError::Missing),
        (Some(k), None) => Ok((Presented::ApiKey(k?), None)),
        (None, Some(b)) => Ok((b?, None)),
        // Both, as the integration guide template's common headers and API gateways' clients
        // send them: the bearer credential is the caller, and the key must be valid too.
        (Some(k), Some(b)) => Ok((b?, Some(k?))),
    }
}

/// The one value of header `name`, if sent. Sent twice it is malformed: which credential the
/// request ran as would otherwise depend on which copy a reader takes (a proxy the second, this
/// server the first).
fn one<'h>(headers: &'h HeaderMap, name: &HeaderName) -> Result<Option<&'h HeaderValue>, AuthError> {
    single_header(headers, name).map_err(|Repeated| AuthError::Malformed)
}

/// Authenticates the credential `headers` carry (also used again by long requests, such as an
/// event stream, to notice a revocation).
pub(crate) async fn authenticate(headers: &HeaderMap, state: &AppState) -> Result<Principal, ApiError> {
    let (caller, beside) = presented(headers).map_err(ApiError::unauthenticated)?;
    // The same key in both headers is one credential, verified once.
    let beside = beside.filter(|key| !matches!(caller, Presented::ApiKey(bearer) if bearer == *key));
    let principal = match caller {
        Presented::ApiKey(raw) => authenticate_key(raw, state).await?,
        Presented::Token(raw) => authenticate_token(raw, state).await?,
    };
    if let Some(raw) = beside {
        // Never ignored: a revoked or foreign key beside a good token is refused, not skipped.
        let key = authenticate_key(raw, state).await?;
        if key.project_id != principal.project_id {
            return Err(ApiError::unauthenticated(AuthError::Invalid)
                .message("X-API-Key and the bearer credential belong to different projects"));
        }
        if key.credential != principal.credential {
            touch(state, key.credential);
        }
    }
    tracing::debug!(credential.id = %principal.credential, credential.kind = principal.credential.kind().as_str(), "authenticated");
    touch(state, principal.credential.clone());
    Ok(principal)
}

async fn authenticate_key(raw: &str, state: &AppState) -> Result<Principal, ApiError> {
    let secret = SecretToken::parse(SecretKind::ApiKey, raw).map_err(ApiError::unauthenticated)?;
    let digest = secret.digest();
    let at = now();
    let found = state.store.find_credential_by_digest(digest, at).await?;
    let Some(found) = found.filter(|m| m.stored_digest.ct_eq(&digest)) else {
        return Err(ApiError::unauthenticated(AuthError::Invalid));
    };
    let cred = found.credential;
    if cred.id.kind() != tollgate_core::CredentialKind::ApiKey {
        return Err(ApiError::unauthenticated(AuthError::Invalid));
    }
    match cred.state(at) {
        CredentialState::Active => {
            Ok(Principal { credential: cred.id, project_id: cred.project_id, scopes: cred.scopes, limits: cred.limits })
        }
        CredentialState::Expired => Err(ApiError::unauthenticated(AuthError::Expired)),
        CredentialState::Revoked => Err(ApiError::unauthenticated(AuthError::Invalid)),
    }
}

async fn authenticate_token(raw: &str, state: &AppState) -> Result<Principal, ApiError> {
    match verify(state, raw).await {
        Ok(t) => Ok(Principal {
            credential: CredentialId::OAuthClient(t.client),
            project_id: t.project_id,
            scopes: t.scopes,
            limits: t.limits,
        }),
        Err(Ok(Rejection::Token(tollgate_auth::jwt::TokenError::Expired))) => {
            Err(ApiError::unauthenticated(AuthError::Expired))
        }
        Err(Ok(_)) => Err(ApiError::unauthenticated(AuthError::Invalid)),
        Err(Err(e)) => Err(e),
    }
}

/// Records use in the background, at most once a minute per key, so reads stay reads.
fn touch(state: &AppState, id: CredentialId) {
    let due = {
        let mut touches = state.credential_touches.lock().unwrap_or_else(|p| p.into_inner());
        let due = touches.get(&id).is_none_or(|t| t.elapsed() >= TOUCH_EVERY);
        if due {
            touches.insert(id.clone(), Instant::now());
        }
        due
    };
    if due {
        let store = state.store.clone();
        // With the request's id (and span), so that a failure is logged with the request's id.
        let touch = async move {
            if let Err(e) = store.touch_credential(id.clone(), now()).await {
                tracing::warn!(credential.id = %id, error = %e, "could not record credential use");
            }
        };
        tokio::spawn(tracing::Instrument::in_current_span(crate::middleware::request_id::carry(touch)));
    }
}
