//! What every handler shares: the store, the API settings and the token keys.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tollgate_auth::jwt::SigningAlgorithm;
use tollgate_core::{CredentialId, Limit};
use tollgate_limits::RateLimiter;
use tollgate_store::Store;
use tollgate_telemetry::emf::EmfAggregator;
use tollgate_telemetry::Metrics;

use crate::oauth::cache::VerifiedTokens;
use crate::oauth::keys::TokenKeys;

/// Settings of the HTTP API.
#[derive(Debug, Clone)]
pub struct ApiSettings {
    /// A request not answered within this gets 408.
    pub request_timeout: Duration,
    /// Credentials whose secret is older than this are marked "rotation due".
    pub key_rotation_period: time::Duration,
    /// OAuth and token settings.
    pub oauth: OAuthSettings,
    /// Default rate limits and failure policy.
    pub limits: LimitSettings,
    /// Record request metrics (false only to measure their cost).
    pub metrics_enabled: bool,
    /// Which addresses webhooks may be sent to.
    pub webhook_policy: tollgate_events::target::TargetPolicy,
    /// Serve `/metrics` on the main port (admin credential required); false when a separate
    /// metrics listener serves it instead.
    pub metrics_on_main_port: bool,
    /// The header a trusted load balancer puts the caller's address in (its last value is
    /// used); `None` uses the TCP peer's address.
    pub trusted_proxy_header: Option<axum::http::HeaderName>,
    /// Whether a NATS sink is configured (the console's health shows it only then).
    pub nats_configured: bool,
}

/// Rate-limit defaults.
#[derive(Debug, Clone, Copy)]
pub struct LimitSettings {
    /// Reads per credential, unless the credential has its own.
    pub read: Limit,
    /// Writes per credential, unless the credential has its own.
    pub write: Limit,
    /// When the limiter's backend is unreachable: admit (true, the default) or refuse with 429.
    pub fail_open: bool,
    /// Failed authentications per source address before further attempts get 429.
    pub failed_auth: Limit,
}

impl Default for LimitSettings {
    fn default() -> Self {
        let q = |limit, secs| Limit::Quota(tollgate_core::Quota { limit, window: Duration::from_secs(secs) });
        Self { read: q(1000, 3600), write: q(100, 3600), fail_open: true, failed_auth: q(20, 60) }
    }
}

/// OAuth 2.0 authorization-server settings.
#[derive(Debug, Clone)]
pub struct OAuthSettings {
    /// The issuer (`iss`), the server's public base URL without a trailing slash.
    pub issuer: String,
    /// The audience (`aud`) tokens are issued for and checked against.
    pub audience: String,
    /// Lifetime of access tokens.
    pub token_ttl: time::Duration,
    /// The one algorithm tokens are signed and verified with.
    pub algorithm: SigningAlgorithm,
    /// Clock skew tolerated on `exp` and `nbf`, in seconds (at most 60).
    pub leeway_seconds: u64,
}

impl OAuthSettings {
    /// Defaults for a server reachable at `issuer`.
    pub fn for_issuer(issuer: &str) -> Self {
        let issuer = issuer.trim_end_matches('/').to_owned();
        Self {
            audience: format!("{issuer}/v1"),
            issuer,
            token_ttl: time::Duration::hours(1),
            algorithm: SigningAlgorithm::RS256,
            leeway_seconds: tollgate_auth::jwt::LEEWAY_SECONDS,
        }
    }
}

/// Shared state of the API, behind one pointer: axum clones it for every layer and handler a
/// request passes through, and one reference count is cheaper than one per part.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// What [`AppState`] points to.
#[derive(Clone)]
pub struct Shared {
    /// Where everything is kept.
    pub store: Arc<dyn Store>,
    /// API settings.
    pub settings: Arc<ApiSettings>,
    /// Signing and verification keys, refreshed from the store.
    pub token_keys: Arc<TokenKeys>,
    /// Tokens whose signatures already verified.
    pub verified_tokens: Arc<VerifiedTokens>,
    /// Counts requests against each credential's limits.
    pub limiter: Arc<dyn RateLimiter>,
    /// Prometheus metrics.
    pub metrics: Arc<Metrics>,
    /// CloudWatch EMF aggregation, when enabled.
    pub emf: Option<Arc<EmfAggregator>>,
    /// Idempotency keys being processed on this node.
    pub idempotency_in_flight: crate::idempotency::InFlight,
    /// When each credential's `last_used_at` was last written, so it is written at most once a minute.
    pub credential_touches: Arc<Mutex<HashMap<CredentialId, Instant>>>,
    /// Source addresses refused for too many failed authentications, on this node.
    pub blocked_addresses: Arc<crate::extract::failed_auth::BlockedAddresses>,
    /// The live event stream's fan-out; `None` serves no streams (503).
    pub event_hub: Option<tollgate_events::EventHub>,
    /// Requests per credential and hour not yet written to the store.
    pub hourly: Arc<crate::hourly::HourlyCounter>,
}

impl AppState {
    /// State over `store`.
    pub fn new(
        store: Arc<dyn Store>,
        limiter: Arc<dyn RateLimiter>,
        metrics: Arc<Metrics>,
        emf: Option<Arc<EmfAggregator>>,
        settings: ApiSettings,
    ) -> Self {
        let token_keys = Arc::new(TokenKeys::new(store.clone(), settings.oauth.algorithm));
        Self(Arc::new(Shared {
            store,
            settings: Arc::new(settings),
            token_keys,
            verified_tokens: Arc::default(),
            limiter,
            metrics,
            emf,
            idempotency_in_flight: Arc::default(),
            credential_touches: Arc::default(),
            blocked_addresses: Arc::default(),
            event_hub: None,
            hourly: Arc::default(),
        }))
    }

    /// Serves live event streams from `hub`.
    pub fn with_event_hub(self, hub: tollgate_events::EventHub) -> Self {
        let mut shared = Arc::unwrap_or_clone(self.0);
        shared.event_hub = Some(hub);
        Self(Arc::new(shared))
    }
}
