//! `GET /health` (liveness: the process answers), `GET /ready` (the database answers too), and
//! the unauthenticated documents: `/openapi.json` and `/CHANGELOG.md`.

use axum::extract::State;
use axum::Json;
use serde::Serialize;
use tollgate_core::ErrorCode;

use crate::error::{ApiError, ErrorEnvelope};
use crate::state::AppState;

/// The process answers.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(example = json!({"status": "ok", "version": "0.2.0"}))]
pub struct Health {
    /// `ok`.
    #[schema(value_type = String)]
    pub status: &'static str,
    /// The server's version.
    #[schema(value_type = String)]
    pub version: &'static str,
}

/// The database answers too.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Readiness {
    /// `ready`.
    #[schema(value_type = String)]
    pub status: &'static str,
    /// Each dependency checked.
    pub checks: ReadinessChecks,
}

/// The dependencies `/ready` checks.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ReadinessChecks {
    /// `ok`.
    #[schema(value_type = String)]
    pub database: &'static str,
}

/// Liveness, without authentication.
#[utoipa::path(get, path = "/health", tag = "operations", security(),
    responses((status = 200, description = "The process answers", body = Health)))]
pub async fn health() -> Json<Health> {
    Json(Health { status: "ok", version: env!("CARGO_PKG_VERSION") })
}

/// Readiness: 200 when the database answers, else 503.
#[utoipa::path(get, path = "/ready", tag = "operations", security(),
    responses((status = 200, description = "The database answers", body = Readiness),
              (status = 503, description = "The database does not answer", body = ErrorEnvelope)))]
pub async fn ready(State(state): State<AppState>) -> Result<Json<Readiness>, ApiError> {
    match state.store.ping().await {
        Ok(()) => Ok(Json(Readiness { status: "ready", checks: ReadinessChecks { database: "ok" } })),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            Err(ApiError::new(ErrorCode::ServiceUnavailable).detail("database", "unavailable"))
        }
    }
}

/// `GET /openapi.json`: the OpenAPI 3.1 document. With a credential (any scope), the caller's
/// project's registered types are in it as components (see `openapi_types`); a credential that
/// is presented must be valid.
pub async fn openapi(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
) -> Result<impl axum::response::IntoResponse, ApiError> {
    let presented = headers.contains_key("x-api-key") || headers.contains_key(axum::http::header::AUTHORIZATION);
    let body = if presented {
        let principal = crate::extract::auth::authenticate(&headers, &state).await?;
        crate::openapi_types::document(&state.store.list_types(principal.project_id).await?)
    } else {
        crate::openapi::json()
    };
    Ok(([(axum::http::header::CONTENT_TYPE, "application/json")], body))
}

/// `GET /CHANGELOG.md`: the changelog this server was built with, where the `Link` of a
/// `Deprecation` header points. No authentication, like the OpenAPI document.
pub async fn changelog() -> impl axum::response::IntoResponse {
    ([(axum::http::header::CONTENT_TYPE, "text/markdown; charset=utf-8")], crate::deprecation::CHANGELOG)
}
