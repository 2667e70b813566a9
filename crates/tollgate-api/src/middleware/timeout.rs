//! The request deadline: a request not answered within the configured time (30 s by default)
//! gets `408 REQUEST_TIMEOUT`. Reading the body happens inside it, so a slow sender is cut off too.

use std::time::Duration;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tollgate_core::ErrorCode;

use crate::error::ApiError;

/// Applies the deadline in `limit`.
pub async fn timeout(State(limit): State<Duration>, req: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(response) => response,
        Err(_) => ApiError::new(ErrorCode::RequestTimeout).detail("timeout_seconds", limit.as_secs()).into_response(),
    }
}
