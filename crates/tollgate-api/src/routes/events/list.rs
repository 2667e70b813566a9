//! `GET /v1/events`: a page of the project's events, newest first (or `order=oldest`), with
//! cursor paging and the filters `type`, `resource_id`, `resource_type`, `after`, `before`.

use axum::extract::State;
use axum::Json;
use tollgate_core::event_log::EventQuery;

use super::filter_params::EventFilterParams;
use super::view::{event_json, EventPage};
use crate::error::{ApiError, ErrorEnvelope};
use crate::extract::{Auth, QueryPairs, Read};
use crate::state::AppState;

/// Lists the caller's project's events.
#[utoipa::path(get, path = "/v1/events", tag = "events",
    params(EventFilterParams,
           ("order" = Option<String>, Query, pattern = "^(newest|oldest)$", description = "`newest` (the default) or `oldest`"),
           ("limit" = Option<u32>, Query, minimum = 1, maximum = 100, description = "Default 50"),
           ("cursor" = Option<String>, Query, description = "The previous page's `next_cursor` (empty: the first page)")),
    responses((status = 200, body = EventPage), (status = 400, body = ErrorEnvelope), (status = 401, body = ErrorEnvelope),
              (status = 403, body = ErrorEnvelope), (status = 429, body = ErrorEnvelope)))]
pub async fn list_events(
    auth: Auth<Read>,
    State(state): State<AppState>,
    QueryPairs(pairs): QueryPairs,
) -> Result<Json<EventPage>, ApiError> {
    let query = EventQuery::parse(&pairs)?;
    let page = state.store.list_events(auth.principal.project_id, query).await?;
    let items = page.items.iter().map(event_json).collect::<Result<_, _>>()?;
    Ok(Json(EventPage { items, has_next: page.has_next, next_cursor: page.next_cursor }))
}
