//! `POST /v1/webhooks`: registers an endpoint; the answer holds its signing secret, once.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};
use tollgate_core::time_fmt::now;
use tollgate_core::webhook::{WebhookEndpoint, EVENT_TYPES};
use tollgate_core::ValidationErrors;
use tollgate_events::signing::generate_secret;
use tollgate_events::target::{resolve, TargetPolicy};

use super::view::endpoint;
use crate::error::ApiError;
use crate::extract::{Admin, AppJson, Auth};
use crate::state::AppState;

/// Checks a registration: an allowed URL and known event types (all of them by default).
pub async fn parse_registration(body: &Value, policy: TargetPolicy) -> Result<(String, Vec<String>), ValidationErrors> {
    let mut errors = ValidationErrors::new();
    let Some(obj) = body.as_object() else { return Err(ValidationErrors::single("body", "must be a JSON object")) };
    for key in obj.keys().filter(|k| !["url", "event_types"].contains(&k.as_str())) {
        errors.add(key.clone(), "unknown field");
    }
    let url = match obj.get("url").and_then(Value::as_str) {
        Some(u) if u.len() <= 2048 => match resolve(u, policy).await {
            Ok(_) => Some(u.to_owned()),
            Err(e) => {
                errors.add("url", e);
                None
            }
        },
        _ => {
            errors.add("url", "is required: an http(s) URL of at most 2048 characters");
            None
        }
    };
    let types = match obj.get("event_types") {
        None | Some(Value::Null) => EVENT_TYPES.iter().map(|t| t.to_string()).collect(),
        Some(Value::Array(items)) if !items.is_empty() => {
            let types: Vec<String> = items.iter().filter_map(Value::as_str).map(str::to_owned).collect();
            if types.len() != items.len() || types.iter().any(|t| !EVENT_TYPES.contains(&t.as_str())) {
                errors.add("event_types", format!("must be a list of {}", EVENT_TYPES.join(", ")));
            }
            types
        }
        Some(_) => {
            errors.add("event_types", "must be a non-empty list");
            Vec::new()
        }
    };
    match url {
        Some(url) if errors.is_empty() => Ok((url, types)),
        _ => Err(errors),
    }
}

/// Registers an endpoint.
pub async fn create_webhook(
    auth: Auth<Admin>,
    State(state): State<AppState>,
    AppJson(body): AppJson,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let (url, event_types) = parse_registration(&body, state.settings.webhook_policy).await?;
    let secret = generate_secret();
    let e = WebhookEndpoint {
        id: format!("whk_{}", ulid::Ulid::new()),
        project_id: auth.principal.project_id,
        url,
        event_types,
        secret: secret.clone(),
        created_at: now(),
        disabled_at: None,
    };
    let e = state.store.create_webhook(e).await?;
    Ok((StatusCode::CREATED, Json(json!({"webhook": endpoint(&e), "secret": secret}))))
}
