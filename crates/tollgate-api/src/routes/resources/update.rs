//! `PATCH /v1/resource/{id}`: JSON Merge Patch (RFC 7396), honouring `If-Match`.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use tollgate_store::ResourceUpdate;

use super::if_match;
use super::view::with_etag;
use crate::error::ApiError;
use crate::extract::{AppJson, Auth, ResourcePath, Write};
use crate::state::AppState;

/// Changes a resource; 412 when `If-Match` names an older version.
pub async fn update_resource(
    auth: Auth<Write>,
    State(state): State<AppState>,
    ResourcePath(id): ResourcePath,
    headers: HeaderMap,
    AppJson(patch): AppJson,
) -> Result<Response, ApiError> {
    let precondition = if_match(&headers)?;
    let update = ResourceUpdate { patch, precondition };
    let resource = state.store.update_resource(auth.principal.project_id, id, update).await?;
    Ok(with_etag(resource))
}
