//! `GET /v1/metrics/history`: this node's request rate, error rate, p95 latency and quota
//! alerts per step over the last minutes (at most 24 hours), from the in-memory history the
//! metrics middleware fills, and the health of the database, Redis and NATS where configured.

use axum::extract::State;
use axum::Json;
use serde::Serialize;
use tollgate_core::time_fmt::rfc3339;
use tollgate_telemetry::history::{current_minute, Summary};

use crate::error::{ApiError, ErrorEnvelope};
use crate::extract::{Admin, Auth, QueryPairs};
use crate::state::AppState;

/// How long an event may wait for the NATS sink before it counts as a backlog.
const NATS_BACKLOG_SECONDS: u64 = 60;

/// One step of the history.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MetricsStep {
    /// When the step starts (RFC 3339).
    pub start: String,
    /// Requests answered.
    pub requests: u64,
    /// Of those, answers with a 5xx status.
    pub errors: u64,
    /// `errors / requests`, to three decimals (0 without requests).
    pub error_rate: f64,
    /// Of those, answers refused with 429 (a quota was exhausted).
    pub rate_limited: u64,
    /// The 95th percentile of response time in milliseconds (`null` without requests).
    pub p95_ms: Option<f64>,
    /// Credentials (per route class) seen above 90% of a quota during the step.
    pub quota_alerts: u64,
}

/// The health of what the server depends on: `ok`, `unavailable`, `backlog` (NATS: events
/// waiting longer than a minute) or `not_configured`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DependencyHealth {
    /// The database (SQLite or PostgreSQL).
    #[schema(value_type = String)]
    pub database: &'static str,
    /// The Redis rate limiter.
    #[schema(value_type = String)]
    pub redis: &'static str,
    /// The NATS event sink.
    #[schema(value_type = String)]
    pub nats: &'static str,
}

/// `GET /v1/metrics/history`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MetricsHistory {
    /// Always `node`: the history is kept in memory by the node that answered, since it started.
    #[schema(value_type = String)]
    pub scope: &'static str,
    /// The length of each step.
    pub step_seconds: u32,
    /// Oldest first; the last one is the current, incomplete step.
    pub steps: Vec<MetricsStep>,
    /// The health of the dependencies, checked now.
    pub health: DependencyHealth,
}

/// Reads this node's recent request metrics.
#[utoipa::path(get, path = "/v1/metrics/history", tag = "operations",
    params(("minutes" = Option<u32>, Query, minimum = 1, maximum = 1440, description = "How far back, in minutes (default 60)"),
           ("step" = Option<u32>, Query, minimum = 1, maximum = 60, description = "Minutes per step (default 1)")),
    responses((status = 200, body = MetricsHistory), (status = 400, body = ErrorEnvelope), (status = 401, body = ErrorEnvelope),
              (status = 403, body = ErrorEnvelope), (status = 429, body = ErrorEnvelope)))]
pub async fn get_metrics_history(
    _auth: Auth<Admin>,
    State(state): State<AppState>,
    query: QueryPairs,
) -> Result<Json<MetricsHistory>, ApiError> {
    let [minutes, step] = query.ints([("minutes", 60, 1, 1440), ("step", 1, 1, 60)])?;
    let summaries = state.metrics.history.summaries(current_minute(), minutes as usize, step as usize);
    let steps = summaries.into_iter().map(step_view).collect();
    Ok(Json(MetricsHistory { scope: "node", step_seconds: step * 60, steps, health: health(&state).await }))
}

fn step_view(s: Summary) -> MetricsStep {
    let start =
        time::OffsetDateTime::from_unix_timestamp(s.start_minute * 60).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let error_rate = if s.requests == 0 { 0.0 } else { s.errors as f64 / s.requests as f64 };
    MetricsStep {
        start: rfc3339(start),
        requests: s.requests,
        errors: s.errors,
        error_rate: (error_rate * 1000.0).round() / 1000.0,
        rate_limited: s.rejected,
        p95_ms: s.p95_seconds.map(|p| (p * 1_000_000.0).round() / 1000.0),
        quota_alerts: s.quota_alerts,
    }
}

async fn health(state: &AppState) -> DependencyHealth {
    let database = if state.store.ping().await.is_ok() { "ok" } else { "unavailable" };
    let redis = if state.limiter.backend() != "redis" {
        "not_configured"
    } else {
        let probe = tollgate_limits::Quota { limit: 1, window: std::time::Duration::from_secs(1) };
        if state.limiter.peek("health", probe).await.is_ok() {
            "ok"
        } else {
            "unavailable"
        }
    };
    let nats = if !state.settings.nats_configured {
        "not_configured"
    } else {
        match state.store.unpublished_events(1).await {
            Err(_) => "unavailable",
            Ok(waiting) => {
                // Event ids are `evt_` + ULID: the oldest waiting one says how long it has waited.
                let since =
                    |id: &str| ulid::Ulid::from_string(id.strip_prefix("evt_")?).ok()?.datetime().elapsed().ok();
                let stuck =
                    waiting.first().and_then(|e| since(&e.id)).is_some_and(|d| d.as_secs() > NATS_BACKLOG_SECONDS);
                if stuck {
                    "backlog"
                } else {
                    "ok"
                }
            }
        }
    };
    DependencyHealth { database, redis, nats }
}
