//! Rate limiting, applied right after authentication (limits are per credential): the request's
//! route class (GET/HEAD read, anything else write) picks the credential's own limit or the
//! default; a refused request stops here with 429 before any handler runs. The response
//! headers (IETF `RateLimit-Policy`/`RateLimit` and the `X-RateLimit-*` trio) are rendered from
//! the decision by the `observe` middleware.

use std::cell::RefCell;
use std::io::{Cursor, Write};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rustc_hash::FxHashMap;

use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method};
use tollgate_core::{CredentialLimits, ErrorCode, Limit, RouteClass};
use tollgate_limits::{Decision, Quota};

use crate::error::ApiError;
use crate::extract::Principal;
use crate::middleware::request_id::RequestContext;
use crate::state::AppState;

/// The class a method counts against.
pub fn class_of(method: &Method) -> RouteClass {
    if method == Method::GET || method == Method::HEAD {
        RouteClass::Read
    } else {
        RouteClass::Write
    }
}

/// The limit that applies to `class` for a credential with `own` limits.
pub fn effective_limit(state: &AppState, own: CredentialLimits, class: RouteClass) -> Limit {
    match class {
        RouteClass::Read => own.read.unwrap_or(state.settings.limits.read),
        RouteClass::Write => own.write.unwrap_or(state.settings.limits.write),
        RouteClass::FailedAuth => state.settings.limits.failed_auth,
    }
}

/// The limiter key of a credential's class.
pub fn limiter_key(credential: &str, class: RouteClass) -> String {
    let class = class.as_str();
    let mut key = String::with_capacity(credential.len() + 1 + class.len());
    key.push_str(credential);
    key.push(':');
    key.push_str(class);
    key
}

/// Counts the request; `Err` is the 429 to answer with.
pub async fn enforce(
    state: &AppState,
    principal: &Principal,
    credential: &str,
    method: &Method,
    ctx: Option<&RequestContext>,
) -> Result<(), ApiError> {
    let class = class_of(method);
    let Limit::Quota(quota) = effective_limit(state, principal.limits, class) else { return Ok(()) };
    let key = limiter_key(credential, class);
    let decided = match state.limiter.acquire_now(&key, quota) {
        Some(d) => Ok(d),
        None => state.limiter.acquire(&key, quota).await,
    };
    settle(state, ctx, class, quota, &key, decided)
}

/// What a limiter's answer means for the request: the decision recorded for the response
/// headers and the quota metrics, and the 429 when it was refused (or the backend failed and the
/// policy is to fail closed).
fn settle(
    state: &AppState,
    ctx: Option<&RequestContext>,
    class: RouteClass,
    quota: Quota,
    key: &str,
    decided: Result<Decision, tollgate_limits::LimiterError>,
) -> Result<(), ApiError> {
    let decision = match decided {
        Ok(d) => d,
        Err(e) => {
            state.metrics.ratelimit_backend_error();
            tracing::warn!(error = %e, fail_open = state.settings.limits.fail_open, "rate limiter unavailable");
            if state.settings.limits.fail_open {
                return Ok(());
            }
            return Err(exceeded(class, quota.limit, quota.window, Duration::from_secs(1)));
        }
    };
    if let Some(ctx) = ctx {
        ctx.set_rate_limit(class, decision);
    }
    let ratio = f64::from(decision.used) / f64::from(quota.limit);
    state.metrics.quota.observe(key, class.as_str(), ratio, quota.window);
    if ratio > 0.9 {
        state.metrics.history.quota_alert(tollgate_telemetry::history::current_minute(), key);
    }
    if decision.allowed {
        Ok(())
    } else {
        state.metrics.ratelimit_rejection(class.as_str());
        Err(exceeded(class, quota.limit, quota.window, decision.reset_after))
    }
}

/// Counts `n` writes at once for a request that stands for several (a batch, one per
/// operation): all of them or, with the 429 to answer, none.
pub async fn enforce_writes(
    state: &AppState,
    principal: &Principal,
    n: u32,
    ctx: Option<&RequestContext>,
) -> Result<(), ApiError> {
    let class = RouteClass::Write;
    let Limit::Quota(quota) = effective_limit(state, principal.limits, class) else { return Ok(()) };
    let key = limiter_key(&principal.credential.to_string(), class);
    let decided = state.limiter.acquire_many(&key, quota, n).await;
    let remaining = decided.as_ref().map_or(0, Decision::remaining);
    settle(state, ctx, class, quota, &key, decided).map_err(|e| {
        if e.code() == ErrorCode::RateLimitExceeded && remaining < n {
            e.message(format!("This batch needs {} more writes than the quota has left", n - remaining))
        } else {
            e
        }
    })
}

/// The 429 for `class`: `Retry-After` never earlier than the window frees a slot.
pub fn exceeded(class: RouteClass, limit: u32, window: Duration, reset_after: Duration) -> ApiError {
    let retry = ceil_secs(reset_after).max(1);
    ApiError::new(ErrorCode::RateLimitExceeded)
        .detail("retry_after", retry)
        .detail("limit", limit)
        .detail("window", window.as_secs())
        .detail("policy", class.as_str())
        .header(header::RETRY_AFTER, retry.to_string())
}

fn ceil_secs(d: Duration) -> u64 {
    d.as_secs().saturating_add(u64::from(d.subsec_nanos() > 0))
}

const RATELIMIT_POLICY: HeaderName = HeaderName::from_static("ratelimit-policy");
const RATELIMIT: HeaderName = HeaderName::from_static("ratelimit");
const X_RATELIMIT_LIMIT: HeaderName = HeaderName::from_static("x-ratelimit-limit");
const X_RATELIMIT_REMAINING: HeaderName = HeaderName::from_static("x-ratelimit-remaining");
const X_RATELIMIT_RESET: HeaderName = HeaderName::from_static("x-ratelimit-reset");

/// The two values that depend only on the quota (`RateLimit-Policy` and `X-RateLimit-Limit`),
/// rendered once per distinct quota and worker thread: a clone is a reference-count increment,
/// where rendering costs two allocations on every request. Per thread, so that no lock is
/// shared between the runtime's workers on this path.
fn quota_headers(class: RouteClass, quota: Quota) -> (HeaderValue, HeaderValue) {
    type Rendered = FxHashMap<(RouteClass, u32, u64), (HeaderValue, HeaderValue)>;
    thread_local! {
        static RENDERED: RefCell<Rendered> = RefCell::default();
    }
    let key = (class, quota.limit, quota.window.as_secs());
    RENDERED.with_borrow_mut(|rendered| {
        // Quotas come from configuration and per-credential settings: few, but bound them anyway.
        if rendered.len() >= 4096 && !rendered.contains_key(&key) {
            rendered.clear();
        }
        rendered
            .entry(key)
            .or_insert_with(|| {
                let policy = format!("\"{}\";q={};w={}", class.as_str(), quota.limit, quota.window.as_secs());
                let policy = HeaderValue::try_from(policy).expect("ASCII digits and a class name");
                (policy, HeaderValue::from(quota.limit))
            })
            .clone()
    })
}

/// Adds the response headers for a decision. Runs on every limited response, so it avoids
/// `format!` and runtime header-name parsing: those were most of the limiter's cost.
pub fn write_headers(headers: &mut HeaderMap, class: RouteClass, d: &Decision) {
    let t = ceil_secs(d.reset_after);
    let reset_at = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_secs().saturating_add(t);
    let (policy, limit) = quota_headers(class, d.quota);
    let (mut a, mut b) = (itoa::Buffer::new(), itoa::Buffer::new());
    // Written on the stack, so that the value's one allocation is the header's own. The longest
    // (`"auth_failures";r=` and two integers at their widest) is 51 bytes.
    let mut current = Cursor::new([0u8; 64]);
    let parts = ["\"", class.as_str(), "\";r=", a.format(d.remaining()), ";t=", b.format(t)];
    let fits = parts.iter().all(|part| current.write_all(part.as_bytes()).is_ok());
    let written = usize::try_from(current.position()).unwrap_or(0);
    // At most one growth of the map for all five (none for a resource, which pre-sizes it).
    headers.reserve(5);
    headers.insert(RATELIMIT_POLICY, policy);
    if let (true, Ok(v)) = (fits, HeaderValue::from_bytes(&current.get_ref()[..written])) {
        headers.insert(RATELIMIT, v);
    }
    headers.insert(X_RATELIMIT_LIMIT, limit);
    headers.insert(X_RATELIMIT_REMAINING, HeaderValue::from_str(a.format(d.remaining())).expect("digits"));
    headers.insert(X_RATELIMIT_RESET, HeaderValue::from_str(a.format(reset_at)).expect("digits"));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_widest_ratelimit_field_is_written_whole() {
        let quota = Quota { limit: u32::MAX, window: Duration::MAX };
        let d = Decision { allowed: true, quota, used: 0, reset_after: Duration::MAX };
        let mut headers = HeaderMap::new();
        write_headers(&mut headers, RouteClass::FailedAuth, &d);
        let expected = format!("\"{}\";r={};t={}", RouteClass::FailedAuth.as_str(), u32::MAX, u64::MAX);
        assert_eq!(headers[RATELIMIT], expected.as_str());
        assert_eq!(headers[X_RATELIMIT_REMAINING], u32::MAX.to_string().as_str());
    }
}
