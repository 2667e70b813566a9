//! The wire forms of endpoints and deliveries (the signing secret only once, at creation).

use serde::Serialize;
use tollgate_core::time_fmt::rfc3339;
use tollgate_core::webhook::{Delivery, WebhookEndpoint};

/// A webhook endpoint, without its secret.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WebhookView {
    /// `whk_` + ULID.
    pub id: String,
    /// Where deliveries are POSTed.
    pub url: String,
    /// Subscribed event types.
    pub event_types: Vec<String>,
    /// `active`, or `disabled` once a receiver answered 410 Gone.
    #[schema(value_type = String)]
    pub status: &'static str,
    /// RFC 3339.
    pub created_at: String,
    /// When deliveries stopped, if they did.
    pub disabled_at: Option<String>,
}

/// A new endpoint with its signing secret, shown once.
#[derive(Serialize, utoipa::ToSchema)]
pub struct WebhookWithSecret {
    /// The endpoint.
    pub webhook: WebhookView,
    /// `whsec_...`: the Standard Webhooks signing key.
    pub secret: String,
}

/// `GET /v1/webhooks`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WebhookList {
    /// The project's endpoints.
    pub items: Vec<WebhookView>,
}

/// One attempt at a delivery.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AttemptView {
    /// RFC 3339.
    pub at: String,
    /// The receiver's status, if it answered.
    pub status_code: Option<u16>,
    /// What went wrong, if anything.
    pub error: Option<String>,
    /// How long it took.
    pub duration_ms: u64,
}

/// A delivery of one event to one endpoint, with its attempts.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DeliveryView {
    /// `dlv_` + ULID.
    pub id: String,
    /// The event.
    pub event_id: String,
    /// The event's type.
    pub event_type: String,
    /// `pending`, `succeeded` or `failed`.
    pub status: String,
    /// Attempts made.
    pub attempts: u32,
    /// When the next attempt is due (pending ones).
    pub next_attempt_at: Option<String>,
    /// RFC 3339.
    pub created_at: String,
    /// Each attempt, oldest first.
    pub attempt_history: Vec<AttemptView>,
}

/// `GET /v1/webhooks/{id}/deliveries`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DeliveryList {
    /// The 100 most recent, newest first.
    pub items: Vec<DeliveryView>,
}

/// An endpoint without its secret.
pub fn endpoint(e: &WebhookEndpoint) -> WebhookView {
    WebhookView {
        id: e.id.clone(),
        url: e.url.clone(),
        event_types: e.event_types.clone(),
        status: if e.disabled_at.is_some() { "disabled" } else { "active" },
        created_at: rfc3339(e.created_at),
        disabled_at: e.disabled_at.map(rfc3339),
    }
}

/// A delivery with its attempts.
pub fn delivery(d: &Delivery) -> DeliveryView {
    let attempt_history = d
        .history
        .iter()
        .map(|(at, status_code, error, duration_ms)| AttemptView {
            at: rfc3339(*at),
            status_code: *status_code,
            error: error.clone(),
            duration_ms: *duration_ms,
        })
        .collect();
    DeliveryView {
        id: d.id.clone(),
        event_id: d.event_id.clone(),
        event_type: d.event_type.clone(),
        status: d.status.clone(),
        attempts: d.attempts,
        next_attempt_at: d.next_attempt_at.map(rfc3339),
        created_at: rfc3339(d.created_at),
        attempt_history,
    }
}
