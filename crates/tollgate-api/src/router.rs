//! The table of contents: every endpoint once, pointing to `routes/<area>/<verb>.rs`.

use axum::routing::{get, post};
use axum::Router;

use crate::routes::credentials::{create, get as get_one, list, revoke, rotate, update};
use crate::routes::webhooks::{create as wh_create, deliveries as wh_deliveries, manage as wh_manage};
use crate::routes::{console, events, fallback, health, history, metrics, oauth, resources, types, usage};
use crate::state::AppState;

/// Every route, without middleware; `/metrics` only when it is served on this port.
pub fn routes(metrics_here: bool) -> Router<AppState> {
    let router = Router::new();
    // Metrics for admin credentials, unless a separate listener serves them (metrics_router).
    let router = if metrics_here { router.route("/metrics", get(metrics::metrics_for_admin)) } else { router };
    router
        // Operations, no authentication.
        .route("/health", get(health::health))
        .route("/ready", get(health::ready))
        .route("/openapi.json", get(health::openapi))
        // The changelog that deprecation `Link`s point into.
        .route(crate::deprecation::CHANGELOG_PATH, get(health::changelog))
        // Resources: resource:read / resource:write (routes/resources).
        .route("/v1/resource", post(resources::create::create_resource).get(resources::list::list_resources))
        .route(
            "/v1/resource/{id}",
            get(resources::get::get_resource)
                .patch(resources::update::update_resource)
                .delete(resources::delete::delete_resource),
        )
        // Many resource writes in one transaction: resource:write, one write per operation.
        .route("/v1/batch", post(resources::batch::apply_batch))
        // Resource types and the project's rule for them: admin (routes/types).
        .route("/v1/types", post(types::manage::create_type).get(types::manage::list_types))
        .route(
            "/v1/types/{name}",
            get(types::manage::get_type).put(types::manage::update_type).delete(types::manage::delete_type),
        )
        .route("/v1/project", get(types::project::get_project).patch(types::project::update_project))
        // The project's events, listed and live (SSE): resource:read (routes/events).
        .route("/v1/events", get(events::list::list_events))
        .route("/v1/events/stream", get(events::stream::stream_events))
        .route("/v1/events/{id}", get(events::get::get_event))
        // API keys and OAuth clients of the caller's project: admin (routes/credentials).
        .route("/v1/keys", post(create::create_api_key).get(list::list_api_keys))
        .route("/v1/keys/{id}", get(get_one::get_api_key).patch(update::update_api_key).delete(revoke::revoke_api_key))
        .route("/v1/keys/{id}/rotate", post(rotate::rotate_api_key))
        .route("/v1/clients", post(create::create_client).get(list::list_clients))
        .route("/v1/clients/{id}", get(get_one::get_client).patch(update::update_client).delete(revoke::revoke_client))
        .route("/v1/clients/{id}/rotate", post(rotate::rotate_client))
        // Webhook endpoints and their deliveries: admin (routes/webhooks).
        .route("/v1/webhooks", post(wh_create::create_webhook).get(wh_manage::list_webhooks))
        .route("/v1/webhooks/{id}", get(wh_manage::get_webhook).delete(wh_manage::delete_webhook))
        .route("/v1/webhooks/{id}/test", post(wh_manage::test_webhook))
        .route("/v1/webhooks/{id}/deliveries", get(wh_deliveries::list_deliveries))
        .route("/v1/webhooks/{id}/deliveries/{delivery}/replay", post(wh_deliveries::replay_delivery))
        // Quota usage: the caller's own (any scope) and the project's credentials (admin).
        .route("/v1/usage", get(usage::get_usage))
        .route("/v1/usage/credentials", get(usage::list_credential_usage))
        // The console's charts: a credential's requests per hour, the node's last 24 hours
        // per minute with the dependencies' health (admin, routes/history).
        .route("/v1/usage/credentials/{id}/hourly", get(history::usage::get_credential_hourly_usage))
        .route("/v1/metrics/history", get(history::metrics::get_metrics_history))
        // The admin console: a single page and its embedded assets (routes/console).
        .route("/console", get(console::index))
        .route("/console/{*asset}", get(console::asset))
        // OAuth 2.0 authorization server, RFC 6749 error bodies (routes/oauth).
        .route("/oauth/token", post(oauth::token::issue_token))
        .route("/oauth/revoke", post(oauth::revoke::revoke_token))
        .route("/oauth/introspect", post(oauth::introspect::introspect_token))
        .route("/.well-known/oauth-authorization-server", get(oauth::metadata::server_metadata))
        .route("/.well-known/jwks.json", get(oauth::metadata::jwks))
        // Everything else, in the envelope.
        .fallback(fallback::not_found)
        .method_not_allowed_fallback(fallback::method_not_allowed)
}

/// The separate metrics listener's only route.
pub fn metrics_router() -> Router<AppState> {
    Router::new().route("/metrics", get(metrics::metrics_open))
}
