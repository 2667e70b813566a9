//! An event on the wire: the payload webhooks carry, `{"id","type","timestamp","data"}`.

use serde::Serialize;
use serde_json::Value;
use tollgate_core::event_log::LoggedEvent;

use crate::error::ApiError;

/// A page of events.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EventPage {
    /// The events, in the order asked for: each `{"id","type","timestamp","data"}`, the payload
    /// webhooks carry with its id.
    #[schema(value_type = Vec<Object>)]
    pub items: Vec<Value>,
    /// Whether another page follows.
    pub has_next: bool,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// The event as JSON.
pub fn event_json(e: &LoggedEvent) -> Result<Value, ApiError> {
    serde_json::from_str(&e.to_json())
        .map_err(|err| ApiError::internal(format!("stored event {} is not JSON: {err}", e.id)))
}
