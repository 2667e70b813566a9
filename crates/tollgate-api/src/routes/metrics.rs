//! `GET /metrics`: the Prometheus text format. On the main port it needs an `admin` credential;
//! with a separate metrics listener configured it is served there, without authentication, and
//! not on the main port.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;

use crate::extract::{Admin, Auth};
use crate::state::AppState;

fn render(state: &AppState) -> impl IntoResponse {
    if let Some((idle, in_use)) = state.store.pool_state() {
        state.metrics.db_pool_state(idle, in_use);
    }
    if let Some(c) = state.store.auth_cache_stats() {
        state.metrics.credential_cache(c.hits, c.misses, c.emptied, c.lapses, c.fresh);
    }
    if let Some(c) = state.store.coalescer_stats() {
        state.metrics.coalesced_reads(c.reads, c.queries);
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], state.metrics.render())
}

/// On the main port, for admin credentials.
pub async fn metrics_for_admin(_auth: Auth<Admin>, State(state): State<AppState>) -> impl IntoResponse {
    render(&state)
}

/// On the separate metrics listener.
pub async fn metrics_open(State(state): State<AppState>) -> impl IntoResponse {
    render(&state)
}
