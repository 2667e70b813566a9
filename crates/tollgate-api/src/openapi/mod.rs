//! The OpenAPI 3.1 document, built from `paths.rs` and `schemas.rs` (and the domain's
//! `ResourceView`), served at `/openapi.json` and checked in as `docs/openapi.json`.

pub mod paths;
pub mod schemas;

use utoipa::openapi::security::{ApiKey, ApiKeyValue, Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

/// The document.
#[derive(OpenApi)]
#[openapi(
    info(title = "Tollgate", description = "Typed resources behind a REST API, with API keys, OAuth 2.0 client credentials, quotas and webhooks."),
    paths(
        paths::health, paths::ready,
        paths::create_resource, paths::list_resources, paths::get_resource, paths::update_resource, paths::delete_resource,
        paths::create_api_key, paths::list_api_keys, paths::get_api_key, paths::update_api_key, paths::revoke_api_key, paths::rotate_api_key,
        paths::create_client, paths::list_clients, paths::get_client, paths::update_client, paths::revoke_client, paths::rotate_client,
        paths::get_usage, paths::list_credential_usage,
        paths::create_webhook, paths::list_webhooks, paths::get_webhook, paths::delete_webhook, paths::test_webhook,
        paths::list_deliveries, paths::replay_delivery,
        paths::issue_token, paths::revoke_token, paths::introspect_token, paths::server_metadata, paths::jwks,
    ),
    modifiers(&Security),
    security(("api_key" = []), ("bearer" = [])),
    tags(
        (name = "resources", description = "Typed resources"),
        (name = "keys", description = "API keys of the caller's project (admin)"),
        (name = "clients", description = "OAuth clients of the caller's project (admin)"),
        (name = "oauth", description = "OAuth 2.0 authorization server"),
        (name = "usage", description = "Quota usage"),
        (name = "webhooks", description = "Webhook endpoints and deliveries (admin)"),
        (name = "operations", description = "Health and readiness"),
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
