//! `POST /v1/types`, `GET /v1/types`, `GET /v1/types/{name}`, `PUT /v1/types/{name}` and
//! `DELETE /v1/types/{name}`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use tollgate_core::resource_type::{parse_type_name, TypeDefinition, TypeRequest, TypeUpdateRequest};

use super::{TypeList, TypeView};
use crate::error::{ApiError, ErrorEnvelope};
use crate::extract::{Admin, AppJson, Auth, NoQuery, PathText};
use crate::state::AppState;

/// Registers a type in the caller's project.
#[utoipa::path(post, path = "/v1/types", tag = "types", request_body = TypeRequest,
    responses((status = 201, body = TypeView), (status = 400, body = ErrorEnvelope), (status = 401, body = ErrorEnvelope),
              (status = 403, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope), (status = 413, body = ErrorEnvelope),
              (status = 415, body = ErrorEnvelope), (status = 429, body = ErrorEnvelope)))]
pub async fn create_type(
    auth: Auth<Admin>,
    State(state): State<AppState>,
    AppJson(body): AppJson,
) -> Result<(StatusCode, Json<TypeView>), ApiError> {
    let (name, definition) = TypeDefinition::parse(&body, true)?;
    let created = state.store.create_type(auth.principal.project_id, name.unwrap_or_default(), definition).await?;
    Ok((StatusCode::CREATED, Json(created.into())))
}

/// Lists the project's types.
#[utoipa::path(get, path = "/v1/types", tag = "types",
    responses((status = 200, body = TypeList), (status = 400, body = ErrorEnvelope), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
              (status = 429, body = ErrorEnvelope)))]
pub async fn list_types(
    auth: Auth<Admin>,
    State(state): State<AppState>,
    _query: NoQuery,
) -> Result<Json<TypeList>, ApiError> {
    let items = state.store.list_types(auth.principal.project_id).await?.into_iter().map(TypeView::from).collect();
    Ok(Json(TypeList { items }))
}

/// Reads one type.
#[utoipa::path(get, path = "/v1/types/{name}", tag = "types", params(("name" = String, Path)),
    responses((status = 200, body = TypeView), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
              (status = 404, body = ErrorEnvelope), (status = 429, body = ErrorEnvelope)))]
pub async fn get_type(
    auth: Auth<Admin>,
    State(state): State<AppState>,
    PathText(name): PathText<String>,
) -> Result<Json<TypeView>, ApiError> {
    let name = parse_type_name(&name).map_err(|_| ApiError::not_found())?;
    Ok(Json(state.store.get_type(auth.principal.project_id, name).await?.into()))
}

/// A new version of a type's definition.
#[utoipa::path(put, path = "/v1/types/{name}", tag = "types", params(("name" = String, Path)), request_body = TypeUpdateRequest,
    responses((status = 200, body = TypeView), (status = 400, body = ErrorEnvelope), (status = 401, body = ErrorEnvelope),
              (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope), (status = 413, body = ErrorEnvelope),
              (status = 415, body = ErrorEnvelope), (status = 429, body = ErrorEnvelope)))]
pub async fn update_type(
    auth: Auth<Admin>,
    State(state): State<AppState>,
    PathText(name): PathText<String>,
    AppJson(body): AppJson,
) -> Result<Json<TypeView>, ApiError> {
    let name = parse_type_name(&name).map_err(|_| ApiError::not_found())?;
    let (_, definition) = TypeDefinition::parse(&body, false)?;
    Ok(Json(state.store.update_type(auth.principal.project_id, name, definition).await?.into()))
}

/// Removes a type; refused while resources of it exist.
#[utoipa::path(delete, path = "/v1/types/{name}", tag = "types", params(("name" = String, Path)),
    responses((status = 204, description = "Removed"), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
              (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope), (status = 429, body = ErrorEnvelope)))]
pub async fn delete_type(
    auth: Auth<Admin>,
    State(state): State<AppState>,
    PathText(name): PathText<String>,
) -> Result<StatusCode, ApiError> {
    let name = parse_type_name(&name).map_err(|_| ApiError::not_found())?;
    state.store.delete_type(auth.principal.project_id, name).await?;
    Ok(StatusCode::NO_CONTENT)
}
