//! Events as the outbox stores them: the Standard Webhooks payload `{"type","timestamp","data"}`
//! is rendered once, when the change happens, so every delivery and every retry sends the same
//! bytes.
//!
//! A payload is written straight to text, members in the order serde_json's map keeps them
//! (sorted by name), so that its bytes are those of building the `serde_json::Value` first and
//! writing that, which is how payloads have always been made; building the value copied the
//! whole resource twice and cost more than the rows of its change.

use serde::Serialize;
use serde_json::Value;
use tollgate_core::time_fmt::{now, WireTime};
use tollgate_core::webhook::Event;
use tollgate_core::{Attributes, Data, ProjectId, Resource};

/// `{"data","timestamp","type"}`: the members of a payload, sorted.
#[derive(Serialize)]
struct Payload<'a, D> {
    data: D,
    timestamp: WireTime,
    #[serde(rename = "type")]
    kind: &'a str,
}

/// The resource as the API shows it (`tollgate_core::view::ResourceView`), members sorted.
#[derive(Serialize)]
struct SortedView<'a> {
    attributes: &'a Attributes,
    created_at: WireTime,
    data: &'a Data,
    id: &'a str,
    name: &'a str,
    status: &'a str,
    #[serde(rename = "type")]
    kind: &'a str,
    updated_at: WireTime,
    version: i64,
}

/// A new event of `kind` with `data`.
pub fn new_event(kind: &str, project: ProjectId, data: Value) -> Event {
    event_of(kind, project, &data)
}

fn event_of<D: Serialize>(kind: &str, project: ProjectId, data: D) -> Event {
    let payload = Payload { data, timestamp: WireTime::of(now()), kind };
    Event {
        id: format!("evt_{}", tollgate_core::ids::monotonic_ulid()),
        project_id: project,
        kind: kind.to_owned(),
        // Serialising plain strings, maps and `Value`s to a `String` cannot fail.
        payload: serde_json::to_string(&payload).unwrap_or_default(),
        resource: None,
    }
}

/// The event of a created or updated resource: the whole resource as the API shows it.
pub fn resource_event(kind: &str, r: &Resource) -> Event {
    let id = r.id.to_string();
    let view = SortedView {
        attributes: &r.content.attributes,
        created_at: WireTime::of(r.created_at),
        data: &r.content.data,
        id: &id,
        name: &r.content.name,
        status: r.content.status.as_str(),
        kind: &r.content.kind,
        updated_at: WireTime::of(r.updated_at),
        version: r.version,
    };
    let event = event_of(kind, r.project_id, view);
    Event { resource: Some((id, r.content.kind.clone())), ..event }
}

/// The event of a deleted resource: its id only, as webhooks have always carried it; the type is
/// kept beside it for the events API's `resource_type` filter.
pub fn deleted_event(r: &Resource) -> Event {
    let id = r.id.to_string();
    let event = new_event("resource.deleted", r.project_id, serde_json::json!({"id": id}));
    Event { resource: Some((id, r.content.kind.clone())), ..event }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use tollgate_core::view::ResourceView;
    use tollgate_core::{NewResource, ResourceId};

    use super::*;

    /// The bytes are those of the `Value` built the way payloads were first made.
    #[test]
    fn a_resource_payload_is_the_text_of_its_value() {
        let at = now();
        let body = json!({"name": "n \"q\" é", "type": "machine", "status": "archived",
            "attributes": {"z": "1", "a": "2"}, "data": {"b": [1, 2.5, {"y": null, "x": true}], "a": "s\t/"}});
        let r = Resource {
            id: ResourceId::generate(),
            project_id: ProjectId::generate(),
            content: NewResource::parse(&body).unwrap(),
            created_at: at,
            updated_at: at + time::Duration::microseconds(3),
            version: 7,
        };
        let event = resource_event("resource.updated", &r);
        let written: Value = serde_json::from_str(&event.payload).unwrap();
        let view = serde_json::to_value(ResourceView::from(r.clone())).unwrap();
        let expected = json!({"type": "resource.updated", "timestamp": written["timestamp"], "data": view});
        assert_eq!(event.payload, expected.to_string());
        assert_eq!(event.resource, Some((r.id.to_string(), "machine".to_owned())));
    }
}
