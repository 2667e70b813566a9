//! `DELETE /v1/resource/{id}`: 204, honouring `If-Match`.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};

use super::if_match;
use crate::error::{ApiError, ErrorEnvelope};
use crate::extract::{Auth, ResourcePath, Write};
use crate::state::AppState;

/// Deletes a resource.
#[utoipa::path(delete, path = "/v1/resource/{id}", tag = "resources", params(("id" = String, Path),
    super::headers::IfMatchHeader),
    responses((status = 204, description = "Deleted"), (status = 400, body = ErrorEnvelope), (status = 401, body = ErrorEnvelope),
              (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope), (status = 412, body = ErrorEnvelope),
              (status = 429, body = ErrorEnvelope)))]
pub async fn delete_resource(
    auth: Auth<Write>,
    State(state): State<AppState>,
    ResourcePath(id): ResourcePath,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    let precondition = if_match(&headers)?;
    state.store.delete_resource(auth.principal.project_id, id, precondition).await?;
    Ok(StatusCode::NO_CONTENT)
}
