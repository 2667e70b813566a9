//! An event on the wire: the payload webhooks carry, `{"id","type","timestamp","data"}`.

use serde::Serialize;
use serde_json::value::RawValue;
use tollgate_core::event_log::LoggedEvent;

use crate::error::ApiError;

/// One change: the payload webhooks carry (Standard Webhooks' `{"type","timestamp","data"}`)
/// with the event's id first. Described here for the OpenAPI document; the bytes come from the
/// store as they were rendered when the change happened.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(example = json!({"id": "evt_01JD3Z9T6W4X8Y2K5M7N9P1Q3S", "type": "resource.deleted",
    "timestamp": "2026-11-24T12:00:00.123456Z", "data": {"id": "res_01JD3Z9T6W4X8Y2K5M7N9P1Q3R"}}))]
pub struct Event {
    /// `evt_` + ULID; ids grow in commit order, and a stream's `id:` is this id.
    pub id: String,
    /// What happened.
    #[serde(rename = "type")]
    pub kind: EventType,
    /// When it happened: RFC 3339, UTC, microseconds.
    #[schema(format = DateTime)]
    pub timestamp: String,
    /// The resource after the change (`resource.created`, `resource.updated`), or only its id
    /// (`resource.deleted`).
    pub data: EventData,
}

/// The type of an event.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub enum EventType {
    /// A resource was created (`data`: the resource).
    #[serde(rename = "resource.created")]
    Created,
    /// A resource was changed (`data`: the resource as it now is).
    #[serde(rename = "resource.updated")]
    Updated,
    /// A resource was deleted (`data`: `{"id"}`).
    #[serde(rename = "resource.deleted")]
    Deleted,
}

/// An event's `data`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum EventData {
    /// The resource, as `GET /v1/resource/{id}` shows it.
    Resource(tollgate_core::view::ResourceView),
    /// The id of a deleted resource.
    Deleted(DeletedResource),
}

/// What a `resource.deleted` event carries.
#[derive(Debug, Serialize, utoipa::ToSchema)]
// Closed, so that a whole resource (a created or updated event's data) matches only the other
// branch of the `oneOf`.
#[serde(deny_unknown_fields)]
pub struct DeletedResource {
    /// `res_` + ULID.
    pub id: String,
}

/// A page of events.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EventPage {
    /// The events, in the order asked for.
    #[schema(value_type = Vec<Event>)]
    pub items: Vec<Box<RawValue>>,
    /// Whether another page follows.
    pub has_next: bool,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// The event as JSON, passed through as it was rendered: checked, not rebuilt. A resource's
/// `data` nests at most `MAX_DATA_DEPTH` levels, but one stored before that limit may nest as
/// deep as the request parser allowed; rebuilt as a `Value`, with the event's levels on top,
/// it went past serde_json's own limit and the whole page failed.
pub fn event_json(e: &LoggedEvent) -> Result<Box<RawValue>, ApiError> {
    RawValue::from_string(e.to_json())
        .map_err(|err| ApiError::internal(format!("stored event {} is not JSON: {err}", e.id)))
}

#[cfg(test)]
mod tests {
    use tollgate_core::ProjectId;

    use super::*;

    fn event(data: &str) -> LoggedEvent {
        LoggedEvent {
            seq: 1,
            id: "evt_01JD3Z9T6W4X8Y2K5M7N9P1Q3S".into(),
            project_id: ProjectId::generate(),
            kind: "resource.created".into(),
            resource_id: None,
            resource_type: None,
            created_at: time::OffsetDateTime::UNIX_EPOCH,
            payload: format!(
                r#"{{"type":"resource.created","timestamp":"1970-01-01T00:00:00Z","data":{{"data":{data}}}}}"#
            ),
        }
    }

    /// `data` stored before its depth was limited nests up to what the request parser allowed
    /// (127 levels in a body); its event, levels more, still reads, as would any deeper one.
    #[test]
    fn an_event_reads_whatever_its_data_nests() {
        let deep = format!("{}1{}", "[".repeat(1000), "]".repeat(1000));
        let json = event_json(&event(&deep)).unwrap();
        assert!(json.get().starts_with(r#"{"id":"evt_01JD3Z9T6W4X8Y2K5M7N9P1Q3S","type""#));
        assert!(json.get().contains(&deep));
        assert!(serde_json::from_str::<serde_json::Value>(json.get()).is_err(), "beyond serde_json's own limit");
        assert!(event_json(&event("[1,")).is_err(), "not JSON");
        assert!(event_json(&event("1} {")).is_err(), "two values");
    }
}
