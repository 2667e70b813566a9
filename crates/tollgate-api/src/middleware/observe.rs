//! The outermost middleware: assigns the request id, makes it the request's task-local and the
//! field of its `tracing` span (every log line written inside the request carries it), shares a
//! [`RequestContext`] with the extractors, records the request's metrics (Prometheus and, when enabled, EMF), and writes
//! one structured log line per request (never bodies or credentials). Every field of that line
//! is bounded: the method is one of the standard nine or `_OTHER`, the route is a template, the
//! request id is at most 128 plain characters, the rest are ids and numbers. It also stamps
//! every answer with `Tollgate-Version` and, when a handler marked the answer [`Deprecated`],
//! with the deprecation headers, counting the call.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

use super::request_id::{pick_request_id, scope, RequestContext, REQUEST_ID_HEADER};
use crate::deprecation::Deprecated;
use crate::state::AppState;

/// Every answer names the server's version, so that a client's bug report or log can say which
/// server it talked to. One static value: no formatting per request.
pub const TOLLGATE_VERSION_HEADER: HeaderName = HeaderName::from_static("tollgate-version");
const TOLLGATE_VERSION: HeaderValue = HeaderValue::from_static(env!("CARGO_PKG_VERSION"));

/// Wraps one request.
pub async fn observe(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let started = Instant::now();
    let _in_flight = state.settings.metrics_enabled.then(|| state.metrics.request_started());
    let id = pick_request_id(req.headers());
    let ctx = Arc::new(RequestContext::new(started));
    req.extensions_mut().insert(ctx.clone());
    // Bounded here, once, for the log line, Prometheus and EMF alike.
    let method = tollgate_telemetry::metrics::method_label(req.method().as_str());
    let matched = req.extensions().get::<MatchedPath>().cloned();
    let route = matched.as_ref().map_or("unmatched", MatchedPath::as_str);
    // Every line logged while the request is served (auth, limiter, store, handler) carries its
    // id: JSON lines from the task-local `scope` sets, readable lines from this span. Its one
    // field is the id, and it is an ERROR-level span so that it is on whenever any readable
    // logging is: at `log_level = warn` the warnings still name their request. The JSON layer
    // refuses spans, so there it costs nothing.
    let span = tracing::error_span!("request", request_id = &*id);
    let mut response = scope(id.clone(), next.run(req)).instrument(span).await;
    if let Ok(v) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID_HEADER, v);
    }
    response.headers_mut().insert(TOLLGATE_VERSION_HEADER, TOLLGATE_VERSION);
    let deprecated = response.extensions().get::<Deprecated>().copied();
    if let Some(Deprecated(deprecation)) = deprecated {
        deprecation.write_headers(response.headers_mut());
        if state.settings.metrics_enabled {
            state.metrics.deprecated_request(route, deprecation.name);
        }
    }
    let rate_limit = ctx.rate_limit();
    if let Some((class, decision)) = &rate_limit {
        crate::extract::rate_limit::write_headers(response.headers_mut(), *class, decision);
    }
    let status = response.status().as_u16();
    let elapsed = started.elapsed();
    if state.settings.metrics_enabled {
        state.metrics.observe_request(method, route, status, elapsed);
    }
    if let Some(emf) = &state.emf {
        emf.record(method, route, status, elapsed);
    }
    let elapsed_ms = elapsed.as_secs_f64() * 1000.0;
    let project = ctx.project();
    let mut project_text = [0; tollgate_core::ProjectId::TEXT_LEN];
    tracing::info!(
        target: "tollgate::request",
        request_id = &*id,
        method,
        route,
        status_code = status,
        response_time_ms = (elapsed_ms * 1000.0).round() / 1000.0,
        key_id = ctx.key_id(),
        // Spelled out on the stack, and logged as a string: as a `Display` field it went
        // through the log's formatter piece by piece, at several times the cost. (Only made
        // when the line is.)
        project = project.as_ref().map(|p| p.encode(&mut project_text)),
        credential_kind = ctx.credential_kind(),
        rate_limit_remaining = rate_limit.map(|(_, d)| d.remaining()),
        "request"
    );
    response
}
