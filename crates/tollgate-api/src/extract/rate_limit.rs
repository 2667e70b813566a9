//! Rate limiting, applied right after authentication (limits are per credential): the request's
//! route class (GET/HEAD read, anything else write) picks the credential's own limit or the
//! default; a refused request stops here with 429 before any handler runs. The response
//! headers (IETF `RateLimit-Policy`/`RateLimit` and the `X-RateLimit-*` trio) are rendered from
//! the decision by the `observe` middleware.

use std::borrow::Cow;
use std::cell::RefCell;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rustc_hash::FxHashMap;

use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method};
use tollgate_core::{CredentialLimits, ErrorCode, KeyId, Limit, RouteClass, ValidationErrors};
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

/// The stack buffer a limiter key is written into ([`limiter_key`]): room for any minted
/// credential id and its class.
pub const KEY_BUF: usize = 64;

/// The limiter key of a credential's class, `credential:class`: written into `buf` when it fits
/// (every minted credential id does), since one is made on every limited request and a heap copy
/// was a tenth of the limiter's cost; on the heap otherwise.
pub fn limiter_key<'b>(credential: &str, class: RouteClass, buf: &'b mut [u8; KEY_BUF]) -> Cow<'b, str> {
    let parts = [credential, ":", class.as_str()];
    match join_on_stack(buf, &parts) {
        Some(key) => Cow::Borrowed(key),
        None => Cow::Owned(parts.concat()),
    }
}

/// `parts` written one after the other into `buf`, or `None` when they do not fit.
fn join_on_stack<'b, const N: usize>(buf: &'b mut [u8; N], parts: &[&str]) -> Option<&'b str> {
    let mut len = 0;
    for part in parts {
        let end = len + part.len();
        buf.get_mut(len..end)?.copy_from_slice(part.as_bytes());
        len = end;
    }
    std::str::from_utf8(&buf[..len]).ok()
}

/// When the request arrived: the time its limits are checked at (one clock reading per request).
pub(crate) fn arrival(ctx: Option<&RequestContext>) -> Instant {
    ctx.map_or_else(Instant::now, RequestContext::started)
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
    let mut buf = [0; KEY_BUF];
    let key = limiter_key(credential, class, &mut buf);
    let now = arrival(ctx);
    let decided = match state.limiter.acquire_now(&key, quota, now) {
        Some(d) => Ok(d),
        None => state.limiter.acquire(&key, quota).await,
    };
    settle(state, ctx, class, quota, &key, now, decided)
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
    now: Instant,
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
    state.metrics.quota.observe(key, class.as_str(), ratio, quota.window, now);
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
    if n > quota.limit {
        // More than the whole window holds: waiting would never help, so this is not a 429 with
        // a `Retry-After` that clients (the SDKs among them) would follow for ever.
        let message = format!(
            "has {n} operations, and this credential may write {} times per {} s: no quota ever holds this batch; send smaller batches",
            quota.limit,
            quota.window.as_secs()
        );
        return Err(ApiError::from(ValidationErrors::single("operations", message))
            .detail("limit", quota.limit)
            .detail("window", quota.window.as_secs()));
    }
    let mut buf = [0; KEY_BUF];
    let key = limiter_key(principal.credential.encode(&mut [0; KeyId::TEXT_LEN]), class, &mut buf);
    let decided = state.limiter.acquire_many(&key, quota, n).await;
    let remaining = decided.as_ref().map_or(0, Decision::remaining);
    settle(state, ctx, class, quota, &key, arrival(ctx), decided).map_err(|e| {
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

/// Header values rendered before, per worker thread (so that no lock is shared between the
/// runtime's workers on this path): a clone is a reference-count increment, where rendering
/// costs an allocation and a copy on every request.
#[derive(Default)]
struct Rendered {
    /// The two values that depend only on the quota (`RateLimit-Policy` and
    /// `X-RateLimit-Limit`), per distinct quota.
    quotas: FxHashMap<(RouteClass, u32, u64), (HeaderValue, HeaderValue)>,
    /// The last `X-RateLimit-Reset`: a moment in whole seconds, the same for a key until its
    /// oldest request leaves the window, so consecutive requests mostly repeat it.
    reset: Option<(u64, HeaderValue)>,
}

thread_local! {
    static RENDERED: RefCell<Rendered> = RefCell::default();
}

/// `RateLimit-Policy` and `X-RateLimit-Limit` for a quota, and `X-RateLimit-Reset` for a moment.
fn rendered_headers(class: RouteClass, quota: Quota, reset_at: u64) -> (HeaderValue, HeaderValue, HeaderValue) {
    let key = (class, quota.limit, quota.window.as_secs());
    RENDERED.with_borrow_mut(|rendered| {
        // Quotas come from configuration and per-credential settings: few, but bound them anyway.
        if rendered.quotas.len() >= 4096 && !rendered.quotas.contains_key(&key) {
            rendered.quotas.clear();
        }
        let (policy, limit) = rendered
            .quotas
            .entry(key)
            .or_insert_with(|| {
                let policy = format!("\"{}\";q={};w={}", class.as_str(), quota.limit, quota.window.as_secs());
                let policy = HeaderValue::try_from(policy).expect("ASCII digits and a class name");
                (policy, HeaderValue::from(quota.limit))
            })
            .clone();
        let reset = match &rendered.reset {
            Some((at, value)) if *at == reset_at => value.clone(),
            _ => {
                let value = HeaderValue::from(reset_at);
                rendered.reset = Some((reset_at, value.clone()));
                value
            }
        };
        (policy, limit, reset)
    })
}

/// Adds the response headers for a decision. Runs on every limited response, so it avoids
/// `format!` and runtime header-name parsing: those were most of the limiter's cost.
pub fn write_headers(headers: &mut HeaderMap, class: RouteClass, d: &Decision) {
    let t = ceil_secs(d.reset_after);
    let reset_at = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_secs().saturating_add(t);
    let (policy, limit, reset) = rendered_headers(class, d.quota, reset_at);
    let (mut a, mut b) = (itoa::Buffer::new(), itoa::Buffer::new());
    let remaining = a.format(d.remaining());
    // Written on the stack, so that the value's one allocation is the header's own. The longest
    // (`"auth_failures";r=` and two integers at their widest) is 51 bytes.
    let mut current = [0u8; 64];
    let current = join_on_stack(&mut current, &["\"", class.as_str(), "\";r=", remaining, ";t=", b.format(t)]);
    // At most one growth of the map for all five (none for a resource, which pre-sizes it).
    headers.reserve(5);
    headers.insert(RATELIMIT_POLICY, policy);
    if let Some(Ok(v)) = current.map(HeaderValue::from_str) {
        headers.insert(RATELIMIT, v);
    }
    headers.insert(X_RATELIMIT_LIMIT, limit);
    headers.insert(X_RATELIMIT_REMAINING, HeaderValue::from_str(remaining).expect("digits"));
    headers.insert(X_RATELIMIT_RESET, reset);
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

    #[test]
    fn limiter_keys_are_the_credential_and_class_whatever_their_length() {
        let id = "key_01JF8ZQ6M3V5W7X9Y1Z3A5B7C9";
        assert_eq!(&*limiter_key(id, RouteClass::Read, &mut [0; KEY_BUF]), format!("{id}:read"));
        assert_eq!(&*limiter_key(id, RouteClass::Write, &mut [0; KEY_BUF]), format!("{id}:write"));
        // Longer than the inline buffer: kept whole on the heap, never cut.
        let long = "k".repeat(200);
        assert_eq!(&*limiter_key(&long, RouteClass::Read, &mut [0; KEY_BUF]), format!("{long}:read"));
        let edge = "e".repeat(KEY_BUF - ":read".len());
        assert_eq!(&*limiter_key(&edge, RouteClass::Read, &mut [0; KEY_BUF]), format!("{edge}:read"));
        let over = "o".repeat(KEY_BUF - ":read".len() + 1);
        assert_eq!(&*limiter_key(&over, RouteClass::Read, &mut [0; KEY_BUF]), format!("{over}:read"));
    }

    /// `X-RateLimit-Reset` is reused from the last answer on the same thread only when it is the
    /// same moment.
    #[test]
    fn each_answer_carries_its_own_reset_moment() {
        let quota = Quota { limit: 10, window: Duration::from_secs(3600) };
        let reset = |after: u64| {
            let d = Decision { allowed: true, quota, used: 1, reset_after: Duration::from_secs(after) };
            let mut headers = HeaderMap::new();
            write_headers(&mut headers, RouteClass::Read, &d);
            headers[X_RATELIMIT_RESET].to_str().unwrap().parse::<u64>().unwrap()
        };
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
        let (a, b, c) = (reset(100), reset(100), reset(2000));
        assert!((now + 100..=now + 101).contains(&a), "{a} against {now}");
        assert!(b == a || b == a + 1, "the same moment again: {b} after {a}");
        assert!((now + 2000..=now + 2001).contains(&c), "{c} against {now}");
        assert!((a..=a + 1).contains(&reset(100)), "back to the first moment");
    }
}
