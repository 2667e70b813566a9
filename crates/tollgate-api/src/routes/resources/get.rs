//! `GET /v1/resource/{id}`: 200 with an `ETag`, or 304 when `If-None-Match` names it; with
//! `fields=`, a sparse fieldset as lists give. Any other query parameter is refused, as lists
//! refuse theirs, rather than silently ignored.

use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use tollgate_core::precondition::etag;
use tollgate_core::query::{parse_fields, project_fields, FieldPath};
use tollgate_core::ValidationErrors;

use super::list::{FieldsParam, ResourceItem};
use super::view::{json_response, with_etag};
use crate::error::{ApiError, ErrorEnvelope};
use crate::extract::{Auth, QueryPairs, Read, ResourcePath};
use crate::state::AppState;

/// Reads one resource of the caller's project.
#[utoipa::path(get, path = "/v1/resource/{id}", tag = "resources",
    params(("id" = String, Path, description = "res_ + ULID"),
           FieldsParam),
    responses((status = 200, description = "With `ETag` (the resource's version, whichever fields are asked for)", body = ResourceItem),
              (status = 304, description = "Matches If-None-Match"),
              (status = 400, description = "A bad `fields`, or another query parameter", body = ErrorEnvelope), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
              (status = 429, body = ErrorEnvelope)))]
pub async fn get_resource(
    auth: Auth<Read>,
    State(state): State<AppState>,
    ResourcePath(id): ResourcePath,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let fields = match query.as_deref() {
        Some(query) => sparse_fields(query)?,
        None => None,
    };
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
    match fields {
        None => with_etag(&row, &view, &tag),
        Some(fields) => {
            let sparse = project_fields(serde_json::to_value(&view).map_err(ApiError::internal)?, &fields);
            Ok(json_response(serde_json::to_vec(&sparse).map_err(ApiError::internal)?, Some(&tag)))
        }
    }
}

/// The query of a read by id: `fields` at most once, nothing else. (Read from the raw query
/// only when there is one, so that the usual read, without a query, parses nothing.)
fn sparse_fields(query: &str) -> Result<Option<Vec<FieldPath>>, ApiError> {
    let QueryPairs(pairs) = QueryPairs::parse(query)?;
    let mut errors = ValidationErrors::new();
    let mut fields = None;
    for (key, value) in pairs {
        match key.as_str() {
            "fields" if fields.is_some() => errors.add("fields", "given more than once"),
            "fields" => match parse_fields(&value) {
                Ok(f) => fields = Some(f),
                Err(e) => {
                    errors.add("fields", e);
                    fields = Some(Vec::new());
                }
            },
            _ => errors.add(key, "unknown query parameter (a read by id takes only `fields`)"),
        }
    }
    Ok(errors.into_result(fields)?)
}
