//! Events as the outbox stores them: the Standard Webhooks payload `{"type","timestamp","data"}`
//! is rendered once, when the change happens, so every delivery and every retry sends the same
//! bytes.

use serde_json::{json, Value};
use tollgate_core::time_fmt::{now, rfc3339};
use tollgate_core::view::ResourceView;
use tollgate_core::webhook::Event;
use tollgate_core::{ProjectId, Resource};

/// A new event of `kind` with `data`.
pub fn new_event(kind: &str, project: ProjectId, data: Value) -> Event {
    let payload = json!({"type": kind, "timestamp": rfc3339(now()), "data": data});
    Event {
        id: format!("evt_{}", tollgate_core::ids::monotonic_ulid()),
        project_id: project,
        kind: kind.to_owned(),
        payload: payload.to_string(),
        resource: None,
    }
}

/// The event of a created or updated resource: the whole resource as the API shows it.
pub fn resource_event(kind: &str, r: &Resource) -> Event {
    let view = serde_json::to_value(ResourceView::from(r.clone())).unwrap_or(Value::Null);
    Event { resource: Some((r.id.to_string(), r.content.kind.clone())), ..new_event(kind, r.project_id, view) }
}

/// The event of a deleted resource: its id only, as webhooks have always carried it; the type is
/// kept beside it for the events API's `resource_type` filter.
pub fn deleted_event(r: &Resource) -> Event {
    let id = r.id.to_string();
    let event = new_event("resource.deleted", r.project_id, serde_json::json!({"id": id}));
    Event { resource: Some((id, r.content.kind.clone())), ..event }
}
