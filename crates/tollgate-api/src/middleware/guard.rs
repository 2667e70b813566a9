//! What runs the routes: the request deadline and the panic catcher around the handler. A
//! request not answered within the configured time (30 s by default) gets
//! `408 REQUEST_TIMEOUT`, reading the body included, so a slow sender is cut off too; a panic in
//! a handler becomes a 500 envelope, its message logged, never sent. Both run inside
//! [`super::unread_body`]'s layer rather than as layers of their own: each layer costs every
//! request a boxed future and a clone of every layer inside it.

use std::any::Any;
use std::panic::AssertUnwindSafe;
use std::time::Duration;

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures::FutureExt;
use tollgate_core::ErrorCode;

use crate::error::ApiError;

/// Runs the rest of the stack on `req` within `limit`, catching a panic.
pub async fn run(limit: Duration, req: Request, next: Next) -> Response {
    let answer = AssertUnwindSafe(tokio::time::timeout(limit, next.run(req))).catch_unwind().await;
    match answer {
        Ok(Ok(response)) => response,
        Ok(Err(_elapsed)) => {
            ApiError::new(ErrorCode::RequestTimeout).detail("timeout_seconds", limit.as_secs()).into_response()
        }
        Err(panic) => panic_response(panic),
    }
}

/// A panic in a handler becomes a 500 envelope; the panic message is logged, never sent.
fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response {
    let message = panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into());
    ApiError::internal(format!("handler panicked: {message}")).into_response()
}
