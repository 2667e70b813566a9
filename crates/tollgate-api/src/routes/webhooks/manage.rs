//! `GET /v1/webhooks`, `GET /v1/webhooks/{id}`, `DELETE /v1/webhooks/{id}` and
//! `POST /v1/webhooks/{id}/test`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Serialize;

use super::view::{endpoint, WebhookList, WebhookView};
use crate::error::{ApiError, ErrorEnvelope};
use crate::extract::{Admin, Auth, NoQuery, WebhookPath};
use crate::state::AppState;

/// The answer to a test: the event queued for the endpoint.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TestEventQueued {
    /// `evt_` + ULID.
    pub event_id: String,
    /// `webhook.test`.
    #[serde(rename = "type")]
    pub kind: String,
}

/// Lists the project's endpoints.
#[utoipa::path(get, path = "/v1/webhooks", tag = "webhooks",
    responses((status = 200, body = WebhookList), (status = 400, body = ErrorEnvelope), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
              (status = 429, body = ErrorEnvelope)))]
pub async fn list_webhooks(
    auth: Auth<Admin>,
    State(state): State<AppState>,
    _query: NoQuery,
) -> Result<Json<WebhookList>, ApiError> {
    let items = state.store.list_webhooks(auth.principal.project_id).await?.iter().map(endpoint).collect();
    Ok(Json(WebhookList { items }))
}

/// Reads one endpoint.
#[utoipa::path(get, path = "/v1/webhooks/{id}", tag = "webhooks", params(("id" = String, Path, description = "`whk_` + ULID")),
    responses((status = 200, body = WebhookView), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
              (status = 404, body = ErrorEnvelope), (status = 429, body = ErrorEnvelope)))]
pub async fn get_webhook(
    auth: Auth<Admin>,
    State(state): State<AppState>,
    WebhookPath(id): WebhookPath,
) -> Result<Json<WebhookView>, ApiError> {
    Ok(Json(endpoint(&state.store.get_webhook(auth.principal.project_id, id).await?)))
}

/// Removes an endpoint and its deliveries.
#[utoipa::path(delete, path = "/v1/webhooks/{id}", tag = "webhooks", params(("id" = String, Path, description = "`whk_` + ULID")),
    responses((status = 204, description = "Removed"), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
              (status = 404, body = ErrorEnvelope), (status = 429, body = ErrorEnvelope)))]
pub async fn delete_webhook(
    auth: Auth<Admin>,
    State(state): State<AppState>,
    WebhookPath(id): WebhookPath,
) -> Result<StatusCode, ApiError> {
    state.store.delete_webhook(auth.principal.project_id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Sends a `webhook.test` event to this endpoint only.
#[utoipa::path(post, path = "/v1/webhooks/{id}/test", tag = "webhooks", params(("id" = String, Path, description = "`whk_` + ULID")),
    responses((status = 202, body = TestEventQueued), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
              (status = 404, body = ErrorEnvelope), (status = 429, body = ErrorEnvelope)))]
pub async fn test_webhook(
    auth: Auth<Admin>,
    State(state): State<AppState>,
    WebhookPath(id): WebhookPath,
) -> Result<(StatusCode, Json<TestEventQueued>), ApiError> {
    let event = state.store.send_test_event(auth.principal.project_id, id).await?;
    Ok((StatusCode::ACCEPTED, Json(TestEventQueued { event_id: event.id, kind: event.kind })))
}
