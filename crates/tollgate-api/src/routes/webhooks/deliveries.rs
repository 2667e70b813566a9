//! `GET /v1/webhooks/{id}/deliveries` and `POST /v1/webhooks/{id}/deliveries/{delivery}/replay`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Serialize;

use super::view::{delivery, DeliveryList};
use crate::error::{ApiError, ErrorEnvelope};
use crate::extract::{Admin, Auth, DeliveryPath, NoQuery, WebhookPath};
use crate::state::AppState;

/// The answer to a replay: the delivery, pending again.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DeliveryReplayed {
    /// `dlv_` + ULID.
    pub id: String,
    /// `pending`.
    #[schema(value_type = String)]
    pub status: &'static str,
}

/// The endpoint's 100 most recent deliveries, newest first, with their attempts.
#[utoipa::path(get, path = "/v1/webhooks/{id}/deliveries", tag = "webhooks", params(("id" = String, Path, description = "`whk_` + ULID")),
    responses((status = 200, body = DeliveryList), (status = 400, body = ErrorEnvelope), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
              (status = 404, body = ErrorEnvelope), (status = 429, body = ErrorEnvelope)))]
pub async fn list_deliveries(
    auth: Auth<Admin>,
    State(state): State<AppState>,
    WebhookPath(id): WebhookPath,
    _query: NoQuery,
) -> Result<Json<DeliveryList>, ApiError> {
    let items = state.store.list_deliveries(auth.principal.project_id, id, 100).await?.iter().map(delivery).collect();
    Ok(Json(DeliveryList { items }))
}

/// Makes a failed delivery pending again (and re-enables its endpoint).
#[utoipa::path(post, path = "/v1/webhooks/{id}/deliveries/{delivery}/replay", tag = "webhooks",
    params(("id" = String, Path, description = "`whk_` + ULID"), ("delivery" = String, Path, description = "`dlv_` + ULID")),
    responses((status = 202, body = DeliveryReplayed), (status = 400, body = ErrorEnvelope), (status = 401, body = ErrorEnvelope),
              (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope),
              (status = 429, body = ErrorEnvelope)))]
pub async fn replay_delivery(
    auth: Auth<Admin>,
    State(state): State<AppState>,
    DeliveryPath { endpoint, delivery }: DeliveryPath,
) -> Result<(StatusCode, Json<DeliveryReplayed>), ApiError> {
    state.store.replay_delivery(auth.principal.project_id, endpoint, delivery.clone()).await?;
    Ok((StatusCode::ACCEPTED, Json(DeliveryReplayed { id: delivery, status: "pending" })))
}
