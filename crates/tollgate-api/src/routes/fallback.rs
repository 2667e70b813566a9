//! Answers for requests no route takes: unknown paths and unsupported methods, in the envelope.

use tollgate_core::ErrorCode;

use crate::error::ApiError;

/// No route matches the path.
pub async fn not_found() -> ApiError {
    ApiError::not_found().message("No such endpoint")
}

/// The path exists, the method does not.
pub async fn method_not_allowed() -> ApiError {
    ApiError::new(ErrorCode::MethodNotAllowed)
}
