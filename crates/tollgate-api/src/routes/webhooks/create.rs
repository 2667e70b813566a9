//! `POST /v1/webhooks`: registers an endpoint; the answer holds its signing secret, once.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde_json::Value;
use tollgate_core::time_fmt::now;
use tollgate_core::webhook::{WebhookEndpoint, EVENT_TYPES};
use tollgate_core::ValidationErrors;
use tollgate_events::signing::generate_secret;
use tollgate_events::target::{resolve, TargetPolicy};

use super::view::{endpoint, WebhookWithSecret};
use crate::error::{ApiError, ErrorEnvelope};
use crate::extract::{Admin, AppJson, Auth};
use crate::state::AppState;

/// `POST /v1/webhooks`, as [`parse_registration`] reads it.
#[derive(Debug, utoipa::ToSchema)]
// Unknown members are refused by its parser; the schema says so (`additionalProperties: false`).
#[serde(deny_unknown_fields)]
pub struct CreateWebhookRequest {
    /// An http(s) URL of at most 2048 characters, with no white space or control character
    /// and a port other than 0, not resolving to internal addresses unless the server allows
    /// them.
    #[schema(
        max_length = 2048,
        pattern = "^[Hh][Tt][Tt][Pp][Ss]?:[^\\u0000-\\u0020\\u007F-\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000]*$"
    )]
    pub url: String,
    /// Some of `resource.created`, `resource.updated`, `resource.deleted`, each at most once
    /// (default: all).
    #[schema(schema_with = event_types_schema, required = false)]
    pub event_types: Vec<String>,
}

/// `event_types`: a non-empty list of distinct event types, or `null` for all of them (the
/// derive has no `uniqueItems`).
fn event_types_schema() -> utoipa::openapi::schema::Array {
    use utoipa::openapi::schema::{ArrayBuilder, SchemaType, Type};
    use utoipa::ToSchema;
    ArrayBuilder::new()
        .schema_type(SchemaType::from_iter([Type::Array, Type::Null]))
        .items(utoipa::openapi::Ref::from_schema_name(crate::routes::events::view::EventType::name()))
        .description(Some(
            "Some of `resource.created`, `resource.updated`, `resource.deleted`, each at most once (default: all).",
        ))
        .min_items(Some(1))
        .unique_items(true)
        .build()
}

impl CreateWebhookRequest {
    /// The members the body may have.
    pub const FIELDS: &[&str] = &["url", "event_types"];
}

/// Checks a registration: an allowed URL and known event types (all of them by default).
pub async fn parse_registration(body: &Value, policy: TargetPolicy) -> Result<CreateWebhookRequest, ValidationErrors> {
    let mut errors = ValidationErrors::new();
    let Some(obj) = body.as_object() else { return Err(ValidationErrors::single("body", "must be a JSON object")) };
    for key in obj.keys().filter(|k| !CreateWebhookRequest::FIELDS.contains(&k.as_str())) {
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
            } else if let Some(repeated) =
                types.iter().enumerate().find_map(|(i, t)| types[..i].contains(t).then_some(t))
            {
                errors.add("event_types", format!("names `{repeated}` more than once"));
            }
            types
        }
        Some(_) => {
            errors.add("event_types", "must be a non-empty list");
            Vec::new()
        }
    };
    match url {
        Some(url) if errors.is_empty() => Ok(CreateWebhookRequest { url, event_types: types }),
        _ => Err(errors),
    }
}

/// Registers an endpoint.
#[utoipa::path(post, path = "/v1/webhooks", tag = "webhooks", request_body = CreateWebhookRequest,
    responses((status = 201, description = "The signing secret is in this answer only", body = WebhookWithSecret),
              (status = 400, body = ErrorEnvelope), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
              (status = 413, body = ErrorEnvelope), (status = 415, body = ErrorEnvelope), (status = 429, body = ErrorEnvelope)))]
pub async fn create_webhook(
    auth: Auth<Admin>,
    State(state): State<AppState>,
    AppJson(body): AppJson,
) -> Result<(StatusCode, Json<WebhookWithSecret>), ApiError> {
    let CreateWebhookRequest { url, event_types } = parse_registration(&body, state.settings.webhook_policy).await?;
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
    Ok((StatusCode::CREATED, Json(WebhookWithSecret { webhook: endpoint(&e), secret })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::openapi::schema_fields;

    /// The schema names exactly the members `parse_registration` reads; only `url` is required.
    #[test]
    fn schema_names_the_fields_the_parser_reads() {
        let (fields, required) = schema_fields::<CreateWebhookRequest>();
        let mut expected: Vec<String> = CreateWebhookRequest::FIELDS.iter().map(|s| s.to_string()).collect();
        expected.sort();
        assert_eq!((fields, required), (expected, vec!["url".to_owned()]));
    }
}
