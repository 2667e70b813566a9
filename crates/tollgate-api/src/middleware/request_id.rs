//! Request ids and the per-request context. The id is accepted from a well-formed incoming
//! `X-Request-Id` (so callers can correlate) or minted, and is visible to everything that runs
//! inside the request through a task-local, which is how error envelopes and log lines carry it.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use axum::http::{HeaderMap, HeaderName};

tokio::task_local! {
    static REQUEST_ID: Arc<str>;
}

/// The header carrying the request id, both ways. A `HeaderName` rather than a `&str`: a
/// string is parsed and checked as a name on every lookup and insert.
pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// The current request's id, or `-` outside a request.
pub fn current_request_id() -> String {
    request_id().map_or_else(|| "-".to_owned(), |id| id.to_string())
}

/// The current request's id, if there is one: for log lines, which read it here rather than
/// from a span (building, entering and closing a span per request cost a third of what the
/// request's whole log line did).
pub fn request_id() -> Option<Arc<str>> {
    REQUEST_ID.try_with(Arc::clone).ok()
}

/// Runs `fut` with `id` as the current request id.
pub async fn scope<F: std::future::Future>(id: Arc<str>, fut: F) -> F::Output {
    REQUEST_ID.scope(id, fut).await
}

/// `fut` with the current request's id, if any, for a task spawned on the request's behalf.
pub fn carry<F: std::future::Future>(fut: F) -> impl std::future::Future<Output = F::Output> {
    let id = request_id();
    async move {
        match id {
            Some(id) => scope(id, fut).await,
            None => fut.await,
        }
    }
}

/// Takes a caller's id when it is short and plain, else mints `req_` + ULID.
pub fn pick_request_id(headers: &HeaderMap) -> Arc<str> {
    let incoming = headers.get(REQUEST_ID_HEADER).and_then(|v| v.to_str().ok()).filter(|v| {
        (1..=128).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    });
    match incoming {
        Some(id) => Arc::from(id),
        None => Arc::from(tollgate_core::RequestId::generate().encode(&mut [0; tollgate_core::RequestId::TEXT_LEN])),
    }
}

/// What the layers below learn about a request that the log line needs.
#[derive(Debug)]
pub struct RequestContext {
    started: Instant,
    credential: OnceLock<(Arc<str>, &'static str, tollgate_core::ProjectId)>,
    // A mutex, not a `OnceLock`: set once and read once, and an uncontended lock costs half
    // of a `OnceLock`'s initialisation.
    rate_limit: Mutex<Option<(tollgate_core::RouteClass, tollgate_limits::Decision)>>,
}

impl RequestContext {
    /// The context of a request that arrived at `started`.
    pub fn new(started: Instant) -> Self {
        Self { started, credential: OnceLock::new(), rate_limit: Mutex::new(None) }
    }

    /// When the request arrived: the moment its rate limit is checked at, so that the limiter
    /// does not read the clock again.
    pub fn started(&self) -> Instant {
        self.started
    }

    /// Records the authenticated credential (`id` is its string form, made once per request).
    pub fn set_credential(&self, id: Arc<str>, kind: tollgate_core::CredentialKind, project: tollgate_core::ProjectId) {
        let _ = self.credential.set((id, kind.as_str(), project));
    }

    /// The authenticated credential's project, if any.
    pub fn project(&self) -> Option<tollgate_core::ProjectId> {
        self.credential.get().map(|(_, _, p)| *p)
    }

    /// The authenticated credential's id, if any.
    pub fn key_id(&self) -> Option<&str> {
        self.credential.get().map(|(id, _, _)| &**id)
    }

    /// Records the rate-limit check, for the response headers.
    pub fn set_rate_limit(&self, class: tollgate_core::RouteClass, decision: tollgate_limits::Decision) {
        let mut slot = self.rate_limit.lock().unwrap_or_else(|p| p.into_inner());
        slot.get_or_insert((class, decision));
    }

    /// The rate-limit check, if the request was limited.
    pub fn rate_limit(&self) -> Option<(tollgate_core::RouteClass, tollgate_limits::Decision)> {
        *self.rate_limit.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The authenticated credential's kind (`api_key`, `oauth_client`), if any.
    pub fn credential_kind(&self) -> Option<&'static str> {
        self.credential.get().map(|(_, kind, _)| *kind)
    }
}
