//! `Idempotency-Key` on resource writes (draft-ietf-httpapi-idempotency-key-header): a retry
//! with the same key and the same request within 24 hours gets the first response again without
//! a second write; the same key with another request is `422 IDEMPOTENCY_KEY_REUSED`; a retry
//! while the first is still running is `409 IDEMPOTENCY_KEY_IN_USE`. Keys are scoped to the
//! credential, method and route, and recorded by the store in the same transaction as the write,
//! so a crash cannot keep one without the other. Requests that fail are not recorded.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use axum::extract::{FromRequestParts, MatchedPath};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use tollgate_core::time_fmt::now;
use tollgate_core::{ErrorCode, ValidationErrors};
use tollgate_store::{IdempotencyClaim, RenderResponse, StoredResponse};

use crate::error::ApiError;
use crate::middleware::request_id::RequestContext;
use crate::state::AppState;

/// How long a key is remembered.
pub const RETENTION: time::Duration = time::Duration::hours(24);
/// The request header that names a key.
pub(crate) const HEADER: &str = "idempotency-key";

/// Keys being processed on this node right now.
pub type InFlight = Arc<Mutex<HashSet<(String, String)>>>;

/// Reads the header: 1-255 characters of `[A-Za-z0-9_-]`, quoted (a structured-field string,
/// as the draft writes it) or not (as most clients send it).
pub fn parse_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let mut values = headers.get_all(HEADER).iter();
    let Some(v) = values.next() else { return Ok(None) };
    // Two keys: which one a retry matches would depend on who reads first.
    if values.next().is_some() {
        return Err(ApiError::validation(ValidationErrors::single("Idempotency-Key", "is given more than once")));
    }
    let bad = || {
        ApiError::validation(ValidationErrors::single(
            "Idempotency-Key",
            "must be 1-255 characters of A-Z, a-z, 0-9, _ and -, optionally in double quotes",
        ))
    };
    let raw = v.to_str().map_err(|_| bad())?.trim();
    let key = raw.strip_prefix('"').and_then(|k| k.strip_suffix('"')).unwrap_or(raw);
    let ok = (1..=255).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    ok.then(|| Some(key.to_owned())).ok_or_else(bad)
}

/// A key reserved on this node before the body is read, so that a retry sent while the first
/// request is still uploading or running gets `409` rather than a second write. Dropping it
/// releases the key.
pub struct Reservation {
    key: Option<(String, String)>,
    in_flight: InFlight,
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if let Some(k) = self.key.take() {
            self.in_flight.lock().unwrap_or_else(|p| p.into_inner()).remove(&k);
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Reservation {
    type Rejection = ApiError;

    /// Runs after authentication (it reads the credential from the request context).
    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let in_flight = parts
            .extensions
            .get::<InFlight>()
            .cloned()
            .ok_or_else(|| ApiError::internal("idempotency state missing"))?;
        let Some(key) = parse_key(&parts.headers)? else { return Ok(Self { key: None, in_flight }) };
        let credential = parts
            .extensions
            .get::<Arc<RequestContext>>()
            .and_then(|c| c.key_id().map(str::to_owned))
            .ok_or_else(|| ApiError::internal("idempotency before authentication"))?;
        let route = parts.extensions.get::<MatchedPath>().map(|m| m.as_str().to_owned()).unwrap_or_default();
        let scope = format!("{credential}:{}:{route}", parts.method);
        if !in_flight.lock().unwrap_or_else(|p| p.into_inner()).insert((scope.clone(), key.clone())) {
            return Err(ApiError::new(ErrorCode::IdempotencyKeyInUse));
        }
        Ok(Self { key: Some((scope, key)), in_flight })
    }
}

/// A write that may proceed.
pub struct Pending {
    reservation: Reservation,
    fingerprint: [u8; 32],
}

impl Pending {
    /// The claim to hand to the store with the write, if the request had a key.
    pub fn claim<T>(&self, render: RenderResponse<T>) -> Option<IdempotencyClaim<T>> {
        self.reservation.key.as_ref().map(|(scope, key)| IdempotencyClaim {
            scope: scope.clone(),
            key: key.clone(),
            fingerprint: self.fingerprint,
            render,
        })
    }
}

/// Either the first response again, or permission to write.
pub enum Begun {
    /// Send this.
    Replay(Response),
    /// Do the write.
    Proceed(Pending),
}

/// Looks the reserved key up once the body is known.
pub async fn begin(
    state: &AppState,
    reservation: Reservation,
    path: &str,
    body_digest: Option<[u8; 32]>,
) -> Result<Begun, ApiError> {
    // Without a key nothing is recorded or compared, so there is no fingerprint to take.
    let fingerprint: [u8; 32] = match (&reservation.key, body_digest) {
        (None, _) => [0; 32],
        (Some(_), Some(digest)) => {
            let mut hasher = Sha256::new();
            hasher.update(path.as_bytes());
            hasher.update(b"\n");
            hasher.update(digest);
            hasher.finalize().into()
        }
        (Some(_), None) => return Err(ApiError::internal("a keyed write's body was not hashed")),
    };
    if let Some((scope, key)) = &reservation.key {
        if let Some(replay) = replay(state, scope, key, fingerprint).await? {
            return Ok(Begun::Replay(replay));
        }
    }
    Ok(Begun::Proceed(Pending { reservation, fingerprint }))
}

/// After the store refused the key because another node recorded it first: that one's answer.
pub async fn after_conflict(state: &AppState, pending: Pending) -> Result<Response, ApiError> {
    let Some((scope, key)) = pending.reservation.key.clone() else {
        return Err(ApiError::new(ErrorCode::IdempotencyKeyInUse));
    };
    replay(state, &scope, &key, pending.fingerprint).await?.ok_or_else(|| ApiError::new(ErrorCode::IdempotencyKeyInUse))
}

async fn replay(state: &AppState, scope: &str, key: &str, fingerprint: [u8; 32]) -> Result<Option<Response>, ApiError> {
    let Some(record) = state.store.find_idempotency(scope.to_owned(), key.to_owned(), now() - RETENTION).await? else {
        return Ok(None);
    };
    if record.fingerprint != fingerprint {
        return Err(ApiError::new(ErrorCode::IdempotencyKeyReused));
    }
    state.metrics.idempotent_replay();
    let mut response = into_response(record.response);
    response.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
    Ok(Some(response))
}

/// A stored response as an HTTP response.
pub fn into_response(stored: StoredResponse) -> Response {
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK);
    let mut response = (status, stored.body).into_response();
    for (name, value) in stored.headers {
        if let (Ok(n), Ok(v)) = (HeaderName::try_from(name), HeaderValue::try_from(value)) {
            response.headers_mut().insert(n, v);
        }
    }
    response
}
