//! The wire forms of endpoints and deliveries (the signing secret only once, at creation).

use serde_json::{json, Value};
use tollgate_core::time_fmt::rfc3339;
use tollgate_core::webhook::{Delivery, WebhookEndpoint};

/// An endpoint without its secret.
pub fn endpoint(e: &WebhookEndpoint) -> Value {
    json!({
        "id": e.id,
        "url": e.url,
        "event_types": e.event_types,
        "status": if e.disabled_at.is_some() { "disabled" } else { "active" },
        "created_at": rfc3339(e.created_at),
        "disabled_at": e.disabled_at.map(rfc3339),
    })
}

/// A delivery with its attempts.
pub fn delivery(d: &Delivery) -> Value {
    let attempts: Vec<Value> = d
        .history
        .iter()
        .map(|(at, status, error, ms)| json!({"at": rfc3339(*at), "status_code": status, "error": error, "duration_ms": ms}))
        .collect();
    json!({
        "id": d.id,
        "event_id": d.event_id,
        "event_type": d.event_type,
        "status": d.status,
        "attempts": d.attempts,
        "next_attempt_at": d.next_attempt_at.map(rfc3339),
        "created_at": rfc3339(d.created_at),
        "attempt_history": attempts,
    })
}
