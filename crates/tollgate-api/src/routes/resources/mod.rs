//! `/v1/resource`: create, get, list, update (merge patch) and delete.

pub mod batch;
pub mod create;
pub mod delete;
pub mod get;
pub mod headers;
pub mod list;
pub mod update;
pub mod view;

use axum::http::HeaderMap;
use tollgate_core::{Precondition, ValidationErrors};

use crate::error::ApiError;

/// The `If-Match` precondition, if the request has one; a malformed one is a 400.
pub(crate) fn if_match(headers: &HeaderMap) -> Result<Option<Precondition>, ApiError> {
    let Some(value) = headers.get(axum::http::header::IF_MATCH) else {
        return Ok(None);
    };
    value.to_str().ok().and_then(Precondition::parse_if_match).map(Some).ok_or_else(|| {
        ApiError::validation(ValidationErrors::single("If-Match", "must be * or a list of quoted ETags such as \"3\""))
    })
}
