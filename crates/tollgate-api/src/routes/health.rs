//! `GET /health` (liveness: the process answers) and `GET /ready` (the database answers too).

use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};
use tollgate_core::ErrorCode;

use crate::error::ApiError;
use crate::state::AppState;

/// Liveness, without authentication.
pub async fn health() -> Json<Value> {
    Json(json!({"status": "ok", "version": env!("CARGO_PKG_VERSION")}))
}

/// Readiness: 200 when the database answers, else 503.
pub async fn ready(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    match state.store.ping().await {
        Ok(()) => Ok(Json(json!({"status": "ready", "checks": {"database": "ok"}}))),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            Err(ApiError::new(ErrorCode::ServiceUnavailable).detail("database", "unavailable"))
        }
    }
}

/// `GET /openapi.json`: the OpenAPI 3.1 document.
pub async fn openapi() -> impl axum::response::IntoResponse {
    ([(axum::http::header::CONTENT_TYPE, "application/json")], crate::openapi::json())
}
