//! `GET /v1/resource/{id}`: 200 with an `ETag`, or 304 when `If-None-Match` names it.

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use tollgate_core::precondition::etag;

use super::view::{with_etag, ResourceView};
use crate::error::{ApiError, ErrorEnvelope};
use crate::extract::{Auth, Read, ResourcePath};
use crate::state::AppState;

/// Reads one resource of the caller's project.
#[utoipa::path(get, path = "/v1/resource/{id}", tag = "resources", params(("id" = String, Path, description = "res_ + ULID")),
    responses((status = 200, description = "With `ETag`", body = ResourceView), (status = 304, description = "Matches If-None-Match"),
              (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
              (status = 429, body = ErrorEnvelope)))]
pub async fn get_resource(
    auth: Auth<Read>,
    State(state): State<AppState>,
    ResourcePath(id): ResourcePath,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let row = state.store.get_resource_row(auth.principal.project_id, id).await?;
    // Checked before anything is answered, a 304 included, as reading the resource checked it.
    let view = row.view()?;
    let tag = etag(row.version);
    let unchanged = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim().trim_start_matches("W/") == tag || t.trim() == "*"));
    if unchanged {
        return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, tag)]).into_response());
    }
    with_etag(&row, &view, &tag)
}
