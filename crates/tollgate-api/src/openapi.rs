//! The OpenAPI 3.1 document, served at `/openapi.json` and checked in as `docs/openapi.json`.
//! Each operation is described on its handler (`#[utoipa::path]` in `routes/`, operationId =
//! the handler's name) and each schema is derived from the type the handler parses or answers
//! with; this file only lists the handlers. The e2e test checks that every operation is routed.

use utoipa::openapi::security::{ApiKey, ApiKeyValue, Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::routes::credentials::{create, get, list, revoke, rotate, update};
use crate::routes::webhooks::{create as webhook_create, deliveries, manage};
use crate::routes::{events, health, history, oauth, resources, types, usage};

/// The document.
#[derive(OpenApi)]
#[openapi(
    info(title = "Tollgate", description = "Typed resources behind a REST API, with API keys, OAuth 2.0 client credentials, quotas and webhooks."),
    paths(
        health::health, health::ready,
        resources::create::create_resource, resources::batch::apply_batch,
        types::manage::create_type, types::manage::list_types, types::manage::get_type, types::manage::update_type,
        types::manage::delete_type, types::project::get_project, types::project::update_project, resources::list::list_resources, resources::get::get_resource,
        resources::update::update_resource, resources::delete::delete_resource,
        create::create_api_key, list::list_api_keys, get::get_api_key, update::update_api_key, revoke::revoke_api_key,
        rotate::rotate_api_key,
        create::create_client, list::list_clients, get::get_client, update::update_client, revoke::revoke_client,
        rotate::rotate_client,
        usage::get_usage, usage::list_credential_usage, history::usage::get_credential_hourly_usage,
        history::metrics::get_metrics_history,
        webhook_create::create_webhook, manage::list_webhooks, manage::get_webhook, manage::delete_webhook,
        manage::test_webhook, deliveries::list_deliveries, deliveries::replay_delivery,
        oauth::token::issue_token, oauth::revoke::revoke_token, oauth::introspect::introspect_token,
        oauth::metadata::server_metadata, oauth::metadata::jwks,
        events::list::list_events, events::get::get_event, events::stream::stream_events,
    ),
    modifiers(&Security),
    security(("api_key" = []), ("bearer" = [])),
    tags(
        (name = "resources", description = "Typed resources"),
        (name = "types", description = "Resource types: JSON Schemas for data, attribute rules (admin)"),
        (name = "keys", description = "API keys of the caller's project (admin)"),
        (name = "clients", description = "OAuth clients of the caller's project (admin)"),
        (name = "oauth", description = "OAuth 2.0 authorization server"),
        (name = "usage", description = "Quota usage"),
        (name = "webhooks", description = "Webhook endpoints and deliveries (admin)"),
        (name = "events", description = "The project's events: a list, one by one, and live as Server-Sent Events"),
        (name = "operations", description = "Health, readiness and the recent request metrics"),
    )
)]
pub struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components
            .add_security_scheme("api_key", SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-API-Key"))));
        components.add_security_scheme("bearer", SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)));
    }
}

/// The document as pretty JSON (what `docs/openapi.json` holds).
pub fn json() -> String {
    let mut doc = ApiDoc::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    doc.to_pretty_json().unwrap_or_default() + "\n"
}

/// The property names of `T`'s object schema and the required ones, each sorted: what the
/// request-body tests compare with the members their parsers read.
#[cfg(test)]
pub(crate) fn schema_fields<T: utoipa::PartialSchema>() -> (Vec<String>, Vec<String>) {
    use utoipa::openapi::schema::Schema;
    use utoipa::openapi::RefOr;
    let RefOr::T(Schema::Object(object)) = T::schema() else {
        panic!("{} is not an object schema", std::any::type_name::<T>());
    };
    let mut fields: Vec<String> = object.properties.keys().cloned().collect();
    let mut required = object.required;
    fields.sort();
    required.sort();
    (fields, required)
}

#[cfg(test)]
mod tests {
    /// `docs/openapi.json` must be what the code generates; regenerate with
    /// `cargo run -p tollgate -- openapi > docs/openapi.json`.
    #[test]
    fn checked_in_document_matches_the_code() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/openapi.json");
        let checked_in = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            checked_in == super::json(),
            "docs/openapi.json is stale: run `cargo run -p tollgate -- openapi > docs/openapi.json`"
        );
    }
}
