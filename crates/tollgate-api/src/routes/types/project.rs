//! `GET /v1/project` and `PATCH /v1/project`: the caller's project and its rule for types.

use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};

use crate::error::{ApiError, ErrorEnvelope};
use crate::extract::{Admin, AppJson, Auth};
use crate::state::AppState;

/// The caller's project.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProjectView {
    /// `prj_` + ULID.
    pub id: String,
    /// Writes of a type that is not registered are refused.
    pub require_registered_types: bool,
}

/// What `PATCH /v1/project` changes.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProjectPatch {
    /// Refuse writes of unregistered types (`true`), or keep accepting them (`false`).
    pub require_registered_types: bool,
}

/// Reads the caller's project.
#[utoipa::path(get, path = "/v1/project", tag = "types",
    responses((status = 200, body = ProjectView), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
              (status = 429, body = ErrorEnvelope)))]
pub async fn get_project(auth: Auth<Admin>, State(state): State<AppState>) -> Result<Json<ProjectView>, ApiError> {
    let project = auth.principal.project_id;
    let require_registered_types = state.store.require_registered_types(project).await?;
    Ok(Json(ProjectView { id: project.to_string(), require_registered_types }))
}

/// Changes the caller's project's rule for types.
#[utoipa::path(patch, path = "/v1/project", tag = "types", request_body = ProjectPatch,
    responses((status = 200, body = ProjectView), (status = 400, body = ErrorEnvelope), (status = 401, body = ErrorEnvelope),
              (status = 403, body = ErrorEnvelope), (status = 413, body = ErrorEnvelope),
              (status = 415, body = ErrorEnvelope), (status = 429, body = ErrorEnvelope)))]
pub async fn update_project(
    auth: Auth<Admin>,
    State(state): State<AppState>,
    AppJson(body): AppJson,
) -> Result<Json<ProjectView>, ApiError> {
    let patch: ProjectPatch = serde_json::from_value(body)
        .map_err(|e| ApiError::validation(tollgate_core::ValidationErrors::single("body", e.to_string())))?;
    let project = auth.principal.project_id;
    state.store.set_require_registered_types(project, patch.require_registered_types).await?;
    Ok(Json(ProjectView { id: project.to_string(), require_registered_types: patch.require_registered_types }))
}
