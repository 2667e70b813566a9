//! `POST /v1/resource`: 201 with the resource, `Location` and `ETag`.

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use tollgate_core::NewResource;

use super::view::with_etag;
use crate::error::ApiError;
use crate::extract::{AppJson, Auth, Write};
use crate::state::AppState;

/// Creates a resource in the caller's project.
pub async fn create_resource(
    auth: Auth<Write>,
    State(state): State<AppState>,
    AppJson(body): AppJson,
) -> Result<Response, ApiError> {
    let new = NewResource::parse(&body)?;
    let resource = state.store.create_resource(auth.principal.project_id, new).await?;
    let location = format!("/v1/resource/{}", resource.id);
    let mut response = with_etag(resource);
    *response.status_mut() = StatusCode::CREATED;
    if let Ok(v) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    Ok(response.into_response())
}
