//! Tollgate's HTTP API on axum: the router, the middleware stack, extractors, handlers and the
//! one mapping from errors to the JSON envelope. Dependencies point one way:
//! core <- store, auth <- api <- the `tollgate` binary.

pub mod deprecation;
pub mod error;
pub mod extract;
pub mod hourly;
pub mod idempotency;
pub mod middleware;
pub mod oauth;
pub mod openapi;
pub mod openapi_types;
pub mod router;
pub mod routes;
pub mod state;

use axum::Router;

pub use error::ApiError;
pub use state::{ApiSettings, AppState, OAuthSettings};

/// The whole application: routes plus the middleware stack, outermost last in the code below
/// (axum applies `layer` calls from the inside out). The head limits, the panic catcher and the
/// deadline run inside the unread-body layer (see `middleware`): every layer costs each request
/// a boxed future and a clone of the layers inside it.
pub fn app(state: AppState) -> Router {
    let timeout = state.settings.request_timeout;
    router::routes(state.settings.metrics_on_main_port)
        .layer(axum::middleware::from_fn_with_state(timeout, middleware::unread_body::drain_unread_body))
        .layer(axum::middleware::from_fn_with_state(state.clone(), middleware::observe::observe))
        .layer(axum::Extension(state.idempotency_in_flight.clone()))
        .with_state(state)
}

/// The app of the separate metrics listener.
pub fn metrics_app(state: AppState) -> Router {
    router::metrics_router().with_state(state)
}
