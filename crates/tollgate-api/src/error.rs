//! The one place that knows HTTP status codes and the error envelope
//! `{"error":{"code","message","details","request_id"}}`. Handlers return [`ApiError`]; store
//! and auth errors convert into it here; a 5xx logs its cause once, here, and says nothing
//! internal to the client.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Map, Value};
use tollgate_auth::AuthError;
use tollgate_core::{ErrorCode, Scope, ValidationErrors};
use tollgate_store::{chain, StoreError};

use crate::middleware::request_id::current_request_id;

/// The body of every error answer outside `/oauth`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorEnvelope {
    /// The error.
    pub error: ErrorBody,
}

/// The error itself.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// Machine-readable, one of the table's codes.
    pub code: ErrorCode,
    /// For people.
    pub message: String,
    /// Field -> reason for validation errors; other facts (`retry_after`, `required_scope`,
    /// `current_version`, ...) otherwise.
    #[schema(value_type = Object)]
    pub details: Map<String, Value>,
    /// Also in `X-Request-Id`.
    pub request_id: String,
}

/// An error answer: a public code, a message, details, and extra headers.
#[derive(Debug)]
pub struct ApiError {
    code: ErrorCode,
    message: String,
    details: Map<String, Value>,
    headers: Vec<(header::HeaderName, String)>,
    cause: Option<String>,
}

impl ApiError {
    /// An error with the code's default message.
    pub fn new(code: ErrorCode) -> Self {
        Self { code, message: code.default_message().to_owned(), details: Map::new(), headers: Vec::new(), cause: None }
    }

    /// Replaces the message.
    pub fn message(mut self, message: impl Into<String>) -> Self {
        self.message = message.into();
        self
    }

    /// Adds one `details` member.
    pub fn detail(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.details.insert(key.to_owned(), value.into());
        self
    }

    /// Adds a response header.
    pub fn header(mut self, name: header::HeaderName, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    /// 404 in the envelope.
    pub fn not_found() -> Self {
        Self::new(ErrorCode::NotFound)
    }

    /// A 500 whose cause is logged (once, when the response is built) and never sent.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        let mut e = Self::new(ErrorCode::InternalError);
        e.cause = Some(cause.to_string());
        e
    }

    /// 400 `VALIDATION_FAILED` listing every bad field.
    pub fn validation(errors: ValidationErrors) -> Self {
        let mut e = Self::new(ErrorCode::ValidationFailed);
        for (field, reason) in errors.fields() {
            e.details.insert(field.clone(), Value::String(reason.clone()));
        }
        e
    }

    /// 401 for an API request, with the RFC 6750 challenge.
    pub fn unauthenticated(reason: AuthError) -> Self {
        let challenge = match reason {
            AuthError::Missing => r#"Bearer realm="tollgate""#.to_owned(),
            other => format!(r#"Bearer realm="tollgate", error="invalid_token", error_description="{}""#, other),
        };
        Self::new(ErrorCode::AuthenticationFailed)
            .detail("reason", reason.reason())
            .header(header::WWW_AUTHENTICATE, challenge)
    }

    /// 403 naming the missing scope.
    pub fn forbidden(scope: Scope) -> Self {
        Self::new(ErrorCode::PermissionDenied)
            .message(format!("This credential lacks the `{scope}` scope"))
            .detail("required_scope", scope.as_str())
            .header(
                header::WWW_AUTHENTICATE,
                format!(r#"Bearer realm="tollgate", error="insufficient_scope", scope="{scope}""#),
            )
    }

    /// One `details` member, if present.
    pub fn detail_value(&self, key: &str) -> Option<&Value> {
        self.details.get(key)
    }

    /// The public code.
    pub fn code(&self) -> ErrorCode {
        self.code
    }
}

impl From<ValidationErrors> for ApiError {
    fn from(e: ValidationErrors) -> Self {
        ApiError::validation(e)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ApiError::not_found(),
            StoreError::PreconditionFailed(current) => ApiError::new(ErrorCode::PreconditionFailed)
                .message("The resource has changed since the version in If-Match")
                .detail("current_version", current)
                .header(header::ETAG, tollgate_core::precondition::etag(current)),
            StoreError::Validation(v) => ApiError::validation(v),
            StoreError::Conflict(msg) => ApiError::new(ErrorCode::Conflict).message(msg),
            StoreError::SchemaViolations(violations) => ApiError::new(ErrorCode::ValidationFailed)
                .message("The resource does not match its registered type")
                .detail("errors", serde_json::to_value(violations).unwrap_or_default()),
            StoreError::Batch { index, error } => {
                let inner = ApiError::from(*error);
                if inner.code == ErrorCode::InternalError {
                    return inner;
                }
                let message = format!("Operation {index} of the batch failed, so none was applied: {}", inner.message);
                inner.message(message).detail("index", index)
            }
            StoreError::IdempotencyConflict => ApiError::new(ErrorCode::IdempotencyKeyInUse),
            e @ StoreError::Unavailable { .. } => {
                let mut api = ApiError::new(ErrorCode::ServiceUnavailable).header(header::RETRY_AFTER, "1");
                api.cause = Some(chain(&e));
                api
            }
            e @ StoreError::Internal { .. } => ApiError::internal(chain(&e)),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let request_id = current_request_id();
        if let Some(cause) = &self.cause {
            // The request's span adds its `request_id` to the line.
            tracing::error!(error.code = %self.code, error.cause = %cause, "request failed");
        }
        let status = StatusCode::from_u16(self.code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = ErrorEnvelope {
            error: ErrorBody { code: self.code, message: self.message, details: self.details, request_id },
        };
        let mut response = (status, axum::Json(body)).into_response();
        for (name, value) in self.headers {
            if let Ok(v) = HeaderValue::from_str(&value) {
                response.headers_mut().append(name, v);
            }
        }
        response
    }
}

/// The body of an RFC 6749 section 5.2 error.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OAuthErrorBody {
    /// `invalid_request`, `invalid_client`, `invalid_scope`, `unsupported_grant_type`,
    /// `rate_limit_exceeded` or `server_error`.
    #[schema(value_type = String)]
    pub error: &'static str,
    /// For people.
    pub error_description: String,
}

/// An RFC 6749 section 5.2 error, the shape the `/oauth/*` endpoints answer with instead of the
/// envelope: `{"error": "invalid_client", "error_description": "..."}`.
#[derive(Debug)]
pub struct OAuthError {
    error: &'static str,
    description: String,
    status: StatusCode,
    basic_challenge: bool,
    headers: Vec<(header::HeaderName, String)>,
}

impl OAuthError {
    /// `invalid_request` (400): missing or repeated parameters, two client authentications.
    pub fn invalid_request(description: impl Into<String>) -> Self {
        Self {
            error: "invalid_request",
            description: description.into(),
            status: StatusCode::BAD_REQUEST,
            basic_challenge: false,
            headers: Vec::new(),
        }
    }

    /// `invalid_request` with status 413: a body over `max_bytes`. RFC 6749 has no code of its
    /// own for it; the status says what every other endpoint's 413 says.
    pub fn payload_too_large(max_bytes: usize) -> Self {
        Self {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            ..Self::invalid_request(format!("the request body is larger than {max_bytes} bytes"))
        }
    }

    /// `invalid_client` (401): unknown client, wrong secret or no client authentication. The
    /// same answer for all of them, so that client ids cannot be probed.
    pub fn invalid_client(used_basic: bool) -> Self {
        Self {
            error: "invalid_client",
            description: "Client authentication failed".into(),
            status: StatusCode::UNAUTHORIZED,
            basic_challenge: used_basic,
            headers: Vec::new(),
        }
    }

    /// `invalid_scope` (400).
    pub fn invalid_scope(description: impl Into<String>) -> Self {
        Self {
            error: "invalid_scope",
            description: description.into(),
            status: StatusCode::BAD_REQUEST,
            basic_challenge: false,
            headers: Vec::new(),
        }
    }

    /// `server_error` (500); `cause` is logged once, here, and never sent.
    pub fn server_error(cause: &str) -> Self {
        tracing::error!(error.cause = %cause, "oauth request failed");
        Self {
            error: "server_error",
            description: "internal error".into(),
            status: StatusCode::INTERNAL_SERVER_ERROR,
            basic_challenge: false,
            headers: Vec::new(),
        }
    }

    /// `unsupported_grant_type` (400).
    pub fn unsupported_grant_type() -> Self {
        Self {
            error: "unsupported_grant_type",
            description: "Only grant_type=client_credentials is supported".into(),
            status: StatusCode::BAD_REQUEST,
            basic_challenge: false,
            headers: Vec::new(),
        }
    }
}

/// A 429 from the rate limiter (the client's own limit, or its address's failed
/// authentications) in the RFC 6749 shape, with its `Retry-After`; anything else an OAuth
/// endpoint meets in the envelope's world is a server error.
impl From<ApiError> for OAuthError {
    fn from(e: ApiError) -> Self {
        if e.code != ErrorCode::RateLimitExceeded {
            let cause = e.cause.unwrap_or_else(|| e.message.clone());
            return OAuthError::server_error(&cause);
        }
        let retry = e.details.get("retry_after").and_then(Value::as_u64).unwrap_or(1);
        Self {
            error: "rate_limit_exceeded",
            description: format!("Too many requests: retry after {retry} seconds"),
            status: StatusCode::TOO_MANY_REQUESTS,
            basic_challenge: false,
            headers: e.headers,
        }
    }
}

impl From<StoreError> for OAuthError {
    fn from(e: StoreError) -> Self {
        OAuthError::server_error(&chain(&e))
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let body = OAuthErrorBody { error: self.error, error_description: self.description };
        let mut response = (self.status, axum::Json(body)).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
        if self.basic_challenge {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(r#"Basic realm="tollgate""#));
        }
        for (name, value) in self.headers {
            if let Ok(v) = HeaderValue::from_str(&value) {
                headers.append(name, v);
            }
        }
        response
    }
}
