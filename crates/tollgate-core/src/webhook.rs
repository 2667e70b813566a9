//! Events and webhooks: the event types, registered endpoints, deliveries and their attempts.

use time::OffsetDateTime;

use crate::ids::ProjectId;

/// The event types a resource change emits.
pub const EVENT_TYPES: [&str; 3] = ["resource.created", "resource.updated", "resource.deleted"];
/// The type of the event `webhooks test` sends to one endpoint.
pub const TEST_EVENT: &str = "webhook.test";

/// Whether `s` is an endpoint id as minted: `whk_` + a ULID in its canonical spelling. Anything
/// else names no endpoint and is never looked up.
pub fn is_webhook_id(s: &str) -> bool {
    crate::ids::is_prefixed_ulid(s, "whk_")
}

/// Whether `s` is a delivery id as minted: `dlv_` + its event's ULID + its endpoint's ULID
/// (deliveries made by the first releases: `dlv_` + one ULID). Anything else is never looked up.
pub fn is_delivery_id(s: &str) -> bool {
    let ulid = crate::ids::canonical_ulid;
    s.strip_prefix("dlv_").is_some_and(|b| match (b.get(..26), b.get(26..)) {
        (Some(first), Some("")) => ulid(first),
        (Some(first), Some(second)) => ulid(first) && ulid(second),
        _ => false,
    })
}

/// A recorded event, as the outbox holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// `evt_` + ULID; also the `webhook-id` and the NATS `Nats-Msg-Id`.
    pub id: String,
    /// The project it happened in.
    pub project_id: ProjectId,
    /// E.g. `resource.created`.
    pub kind: String,
    /// `{"type","timestamp","data"}`, exactly the bytes sent.
    pub payload: String,
    /// The resource the event is about and its type, kept for the events API's filters.
    pub resource: Option<(String, String)>,
}

/// A registered endpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookEndpoint {
    /// `whk_` + ULID.
    pub id: String,
    /// The project whose events it receives.
    pub project_id: ProjectId,
    /// Where to POST.
    pub url: String,
    /// Subscribed event types.
    pub event_types: Vec<String>,
    /// `whsec_` + base64 of 32 random bytes: the HMAC key.
    pub secret: String,
    /// When it was registered.
    pub created_at: OffsetDateTime,
    /// When deliveries stopped (a receiver answered 410).
    pub disabled_at: Option<OffsetDateTime>,
}

/// A delivery due now, with everything needed to make it.
#[derive(Debug, Clone)]
pub struct DeliveryJob {
    /// `dlv_` + ULID.
    pub id: String,
    /// The endpoint.
    pub endpoint_id: String,
    /// Where to POST.
    pub url: String,
    /// The HMAC key.
    pub secret: String,
    /// The event (its id is the `webhook-id`).
    pub event: Event,
    /// Attempts made before this one.
    pub attempts: u32,
}

/// What one attempt came to.
#[derive(Debug, Clone, PartialEq)]
pub struct AttemptResult {
    /// The receiver's status, if it answered.
    pub status_code: Option<u16>,
    /// What went wrong, if anything.
    pub error: Option<String>,
    /// How long it took.
    pub duration_ms: u64,
    /// What happens next.
    pub next: NextStep,
}

/// An attempt's outcome with the delivery it was made for, as the store records it.
#[derive(Debug, Clone, PartialEq)]
pub struct Attempted {
    /// The delivery's endpoint (deliveries are keyed by endpoint, then id).
    pub endpoint_id: String,
    /// The delivery.
    pub delivery_id: String,
    /// What the attempt came to.
    pub result: AttemptResult,
}

/// After an attempt.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum NextStep {
    /// Delivered (2xx).
    Succeeded,
    /// Try again at this time.
    RetryAt(OffsetDateTime),
    /// Out of attempts.
    Failed,
    /// The receiver answered 410 Gone: disable the endpoint and fail the delivery.
    DisableEndpoint,
}

impl NextStep {
    /// The delivery's stored status after this step, and when it is due again (retries only).
    pub fn delivery_status(self) -> (&'static str, Option<OffsetDateTime>) {
        match self {
            NextStep::Succeeded => ("succeeded", None),
            NextStep::RetryAt(t) => ("pending", Some(t)),
            NextStep::Failed | NextStep::DisableEndpoint => ("failed", None),
        }
    }
}

/// A delivery as listed.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
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
    pub next_attempt_at: Option<OffsetDateTime>,
    /// When it was created.
    pub created_at: OffsetDateTime,
    /// Each attempt: when, status code, error, duration.
    pub history: Vec<(OffsetDateTime, Option<u16>, Option<String>, u64)>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_recognised_as_minted() {
        let (a, b) = (ulid::Ulid::new().to_string(), ulid::Ulid::new().to_string());
        assert!(is_webhook_id(&format!("whk_{a}")));
        assert!(is_delivery_id(&format!("dlv_{a}{b}")) && is_delivery_id(&format!("dlv_{a}")));
        for bad in ["whk_", "whk_\0", "x\0", "nope", &format!("whk_{}", a.to_lowercase()), &format!("whk_{a}\0")] {
            assert!(!is_webhook_id(bad), "{bad:?}");
        }
        for bad in ["dlv_", "dlv_\0", &format!("dlv_{a}\0"), &format!("dlv_{a}{}", &b[..25]), &format!("dlv_{a}{b}{b}")]
        {
            assert!(!is_delivery_id(bad), "{bad:?}");
        }
    }
}
