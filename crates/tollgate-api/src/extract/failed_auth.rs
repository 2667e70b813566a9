//! The failed-authentication limit, per source address: every refused credential (API key,
//! bearer token, OAuth client authentication) counts against `rate_limit_failed_auth` in the
//! shared limiter, and once an address has used it up, every authentication attempt from it is
//! answered 429 before any lookup, until the oldest failure leaves the window. Guessing keys,
//! including fakes with a valid public checksum, then costs the database nothing.
//!
//! The "blocked" verdict is kept on each node, so a successful request pays one atomic load
//! while nothing is blocked; with Redis the failures are counted across nodes, and another node
//! blocks the address at its first failure there.
//!
//! The source address is the TCP peer, or with `trusted_proxy_header` the last address of that
//! header: the one the operator's load balancer appended (earlier ones are the caller's to
//! invent).

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName};
use rustc_hash::FxHashMap;
use tollgate_core::{Limit, RouteClass};
use tollgate_limits::Decision;

use super::rate_limit::{arrival, exceeded};
use crate::error::ApiError;
use crate::middleware::request_id::RequestContext;
use crate::state::AppState;

/// Most addresses remembered as blocked; beyond it, expired ones are dropped first.
const MAX_BLOCKED: usize = 100_000;

/// Addresses blocked on this node, and until when.
#[derive(Default)]
pub struct BlockedAddresses {
    until: Mutex<FxHashMap<IpAddr, (Instant, Decision)>>,
    // Read without the lock on every authentication: zero means nothing to look up.
    count: AtomicUsize,
}

impl BlockedAddresses {
    /// Whether any address is blocked (without taking the lock).
    pub fn any(&self) -> bool {
        self.count.load(Ordering::Relaxed) > 0
    }

    /// The decision that blocked `ip`, with its time left at `now`, if it is still blocked.
    fn check_at(&self, ip: IpAddr, now: Instant) -> Option<Decision> {
        if self.count.load(Ordering::Relaxed) == 0 {
            return None;
        }
        let mut until = self.until.lock().unwrap_or_else(|p| p.into_inner());
        match until.get(&ip) {
            Some((at, d)) if *at > now => Some(Decision { reset_after: *at - now, ..*d }),
            Some(_) => {
                until.remove(&ip);
                self.count.store(until.len(), Ordering::Relaxed);
                None
            }
            None => None,
        }
    }

    /// Blocks `ip` from `now` until the decision's reset (at least a second).
    fn block_at(&self, ip: IpAddr, decision: Decision, now: Instant) {
        let mut until = self.until.lock().unwrap_or_else(|p| p.into_inner());
        if until.len() >= MAX_BLOCKED {
            until.retain(|_, (at, _)| *at > now);
        }
        until.insert(ip, (now + decision.reset_after.max(Duration::from_secs(1)), decision));
        self.count.store(until.len(), Ordering::Relaxed);
    }
}

/// Who is attempting to authenticate: the source address and the request's context.
pub struct AuthAttempt {
    /// The source address, when known.
    pub ip: Option<IpAddr>,
    /// The request's context, for the rate-limit headers.
    pub ctx: Option<Arc<RequestContext>>,
}

impl FromRequestParts<AppState> for AuthAttempt {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        Ok(Self::of(parts, state))
    }
}

impl AuthAttempt {
    /// The attempt a request makes.
    pub fn of(parts: &Parts, state: &AppState) -> Self {
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
        let ip = client_ip(&parts.headers, peer, state.settings.trusted_proxy_header.as_ref());
        Self { ip, ctx: parts.extensions.get::<Arc<RequestContext>>().cloned() }
    }

    /// `Err(429)` while the address is blocked.
    pub fn check(&self, state: &AppState) -> Result<(), ApiError> {
        let now = arrival(self.ctx.as_deref());
        let Some(blocked) = self.ip.and_then(|ip| state.blocked_addresses.check_at(ip, now)) else {
            return Ok(());
        };
        if let Some(ctx) = &self.ctx {
            ctx.set_rate_limit(RouteClass::FailedAuth, blocked);
        }
        state.metrics.ratelimit_rejection(RouteClass::FailedAuth.as_str());
        tracing::debug!(client.address = ?self.ip, "refused an authentication attempt: too many failures");
        Err(exceeded(RouteClass::FailedAuth, blocked.quota.limit, blocked.quota.window, blocked.reset_after))
    }

    /// Counts a failed authentication; the address is blocked once it has used up the limit.
    pub async fn failed(&self, state: &AppState) {
        let (Some(ip), Limit::Quota(quota)) = (self.ip, state.settings.limits.failed_auth) else { return };
        let key = format!("authfail:{ip}");
        // The request's arrival, for the limiter and the block alike: the block ends when the
        // limiter's window frees a place, not a moment after.
        let now = arrival(self.ctx.as_deref());
        let decided = match state.limiter.acquire_now(&key, quota, now) {
            Some(d) => Ok(d),
            None => state.limiter.acquire(&key, quota).await,
        };
        let decision = match decided {
            Ok(d) => d,
            Err(e) => {
                // Unknown: the failure goes uncounted rather than blocking anyone.
                state.metrics.ratelimit_backend_error();
                tracing::warn!(error = %e, "rate limiter unavailable: a failed authentication was not counted");
                return;
            }
        };
        if let Some(ctx) = &self.ctx {
            ctx.set_rate_limit(RouteClass::FailedAuth, decision);
        }
        if !decision.allowed || decision.remaining() == 0 {
            tracing::info!(
                client.address = %ip,
                limit = quota.limit,
                window_s = quota.window.as_secs(),
                "too many failed authentications: the address is refused until the oldest leaves the window"
            );
            let blocked = Decision { allowed: false, used: quota.limit, ..decision };
            state.blocked_addresses.block_at(ip, blocked, now);
        }
    }
}

/// The caller's address: the last one in `trusted` (a header the load balancer sets, such as
/// `X-Forwarded-For`) when that names a valid one, else the TCP peer.
pub fn client_ip(headers: &HeaderMap, peer: Option<IpAddr>, trusted: Option<&HeaderName>) -> Option<IpAddr> {
    let from_header = trusted.and_then(|name| {
        let last = headers.get_all(name).iter().next_back()?.to_str().ok()?;
        let last = last.rsplit(',').next()?.trim();
        // `1.2.3.4`, `[::1]` or `[::1]:443`; `1.2.3.4:443` too, as some balancers write it.
        last.parse::<IpAddr>()
            .ok()
            .or_else(|| last.parse::<SocketAddr>().ok().map(|s| s.ip()))
            .or_else(|| last.trim_start_matches('[').trim_end_matches(']').parse().ok())
    });
    from_header.or(peer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_trusted_header_is_read_from_its_last_address_only_when_configured() {
        let mut h = HeaderMap::new();
        let xff = HeaderName::from_static("x-forwarded-for");
        h.append(&xff, "6.6.6.6, 10.0.0.1".parse().unwrap());
        h.append(&xff, "203.0.113.9".parse().unwrap());
        let peer: Option<IpAddr> = Some("10.1.1.1".parse().unwrap());
        assert_eq!(client_ip(&h, peer, None), peer, "off by default: the header is anyone's to write");
        assert_eq!(client_ip(&h, peer, Some(&xff)), Some("203.0.113.9".parse().unwrap()));
        let mut h = HeaderMap::new();
        h.insert(&xff, "spoofed, [2001:db8::1]:443".parse().unwrap());
        assert_eq!(client_ip(&h, peer, Some(&xff)), Some("2001:db8::1".parse().unwrap()));
        h.insert(&xff, "garbage".parse().unwrap());
        assert_eq!(client_ip(&h, peer, Some(&xff)), peer, "an unreadable header falls back to the peer");
    }

    #[test]
    fn a_blocked_address_stays_blocked_until_its_time_is_up() {
        let blocked = BlockedAddresses::default();
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let quota = tollgate_core::Quota { limit: 3, window: Duration::from_secs(60) };
        let t0 = Instant::now();
        assert!(blocked.check_at(ip, t0).is_none());
        let d = Decision { allowed: false, quota, used: 3, reset_after: Duration::from_secs(30) };
        blocked.block_at(ip, d, t0);
        let left = blocked.check_at(ip, t0 + Duration::from_secs(10)).expect("blocked");
        assert_eq!(left.reset_after, Duration::from_secs(20));
        assert!(blocked.check_at("192.0.2.2".parse().unwrap(), t0).is_none(), "only that address");
        assert!(blocked.check_at(ip, t0 + Duration::from_secs(30)).is_none(), "unblocked when its time is up");
        assert_eq!(blocked.count.load(Ordering::Relaxed), 0);
        blocked.block_at(ip, Decision { reset_after: Duration::ZERO, ..d }, t0);
        assert!(blocked.check_at(ip, t0 + Duration::from_millis(999)).is_some(), "at least a second");
    }
}
