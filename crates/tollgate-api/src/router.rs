//! The table of contents: every endpoint once, pointing to `routes/<area>/<verb>.rs`.

use axum::routing::{get, post};
use axum::Router;

use crate::routes::{fallback, health, keys, resources};
use crate::state::AppState;

/// Every route, without middleware.
pub fn routes() -> Router<AppState> {
    Router::new()
        // Operations, no authentication.
        .route("/health", get(health::health))
        .route("/ready", get(health::ready))
        // Resources: resource:read / resource:write.
        .route(
            "/v1/resource",
            post(resources::create::create_resource).get(resources::list::list_resources),
        )
        .route(
            "/v1/resource/{id}",
            get(resources::get::get_resource)
                .patch(resources::update::update_resource)
                .delete(resources::delete::delete_resource),
        )
        // API keys of the caller's project: admin.
        .route(
            "/v1/keys",
            post(keys::create::create_api_key).get(keys::list::list_api_keys),
        )
        .route(
            "/v1/keys/{id}",
            get(keys::get::get_api_key).delete(keys::revoke::revoke_api_key),
        )
        .route("/v1/keys/{id}/rotate", post(keys::rotate::rotate_api_key))
        // Everything else, in the envelope.
        .fallback(fallback::not_found)
        .method_not_allowed_fallback(fallback::method_not_allowed)
}
