//! `GET /v1/resource`: a page of resources, by page number or by cursor, with filters.

use axum::extract::State;
use axum::Json;
use serde::Serialize;
use tollgate_core::{ListQuery, PageMode};

use super::view::ResourceView;
use crate::error::{ApiError, ErrorEnvelope};
use crate::extract::{Auth, QueryPairs, Read};
use crate::state::AppState;

/// One page.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ResourcePage {
    /// The resources, oldest first.
    pub items: Vec<ResourceView>,
    /// The page number (offset paging), or `null` when paging by cursor.
    pub page: Option<u32>,
    /// Items per page.
    pub per_page: u32,
    /// Whether another page follows.
    pub has_next: bool,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// Lists the caller's project's resources.
#[utoipa::path(get, path = "/v1/resource", tag = "resources",
    params(("page" = Option<u32>, Query, minimum = 1, maximum = 1000000), ("per_page" = Option<u32>, Query, minimum = 1, maximum = 100),
           ("cursor" = Option<String>, Query, description = "Empty for the first page, then `next_cursor`"),
           ("type" = Option<String>, Query), ("status" = Option<String>, Query)),
    responses((status = 200, body = ResourcePage), (status = 400, body = ErrorEnvelope), (status = 401, body = ErrorEnvelope),
              (status = 403, body = ErrorEnvelope), (status = 429, body = ErrorEnvelope)))]
pub async fn list_resources(
    auth: Auth<Read>,
    State(state): State<AppState>,
    QueryPairs(pairs): QueryPairs,
) -> Result<Json<ResourcePage>, ApiError> {
    let query = ListQuery::parse(&pairs)?;
    let page = match query.mode {
        PageMode::Offset { page } => Some(page),
        PageMode::Cursor { .. } => None,
    };
    let per_page = query.per_page;
    let result = state.store.list_resources(auth.principal.project_id, query).await?;
    Ok(Json(ResourcePage {
        items: result.items.into_iter().map(ResourceView::from).collect(),
        page,
        per_page,
        has_next: result.has_next,
        next_cursor: result.next_cursor,
    }))
}
