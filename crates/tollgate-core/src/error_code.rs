//! The one table of public error codes. Each code has its HTTP status and a default message;
//! the HTTP layer, the OpenAPI document, the integration guide and the SDKs all read from here.

use std::fmt;

/// A machine-readable error code, sent as `error.code` in every error envelope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// The credential is missing, malformed, unknown, revoked or expired.
    AuthenticationFailed,
    /// The credential is valid but lacks the scope the endpoint needs.
    PermissionDenied,
    /// The resource or route does not exist (or belongs to another project).
    NotFound,
    /// The request parsed but some fields break the rules; `details` names each.
    ValidationFailed,
    /// The body is not valid JSON (or not UTF-8).
    MalformedJson,
    /// The body's `Content-Type` is missing or not one the endpoint accepts.
    UnsupportedMediaType,
    /// The body is larger than the server accepts.
    PayloadTooLarge,
    /// The route exists but not for this method.
    MethodNotAllowed,
    /// The request target (path and query) is longer than the server accepts.
    UriTooLong,
    /// The request's header section is larger than the server accepts.
    HeadersTooLarge,
    /// An `If-Match` precondition did not hold.
    PreconditionFailed,
    /// The change conflicts with the current state (a revoked key cannot be rotated, a name is
    /// taken, a delivery that has not failed cannot be replayed); the message says which.
    Conflict,
    /// The same `Idempotency-Key` was sent with a different request.
    IdempotencyKeyReused,
    /// A request with this `Idempotency-Key` is still being processed.
    IdempotencyKeyInUse,
    /// The credential has used up its quota for this route class; see `Retry-After`.
    RateLimitExceeded,
    /// The client took too long to send its request, or the request took too long to serve.
    RequestTimeout,
    /// Something failed inside the server; nothing internal is exposed.
    InternalError,
    /// A dependency (the database) is not available right now.
    ServiceUnavailable,
    /// What was asked for is no longer kept: a `Last-Event-ID` older than the event retention.
    Gone,
}

impl ErrorCode {
    /// Every code, in the order the documentation lists them.
    pub const ALL: [ErrorCode; 19] = [
        ErrorCode::AuthenticationFailed,
        ErrorCode::PermissionDenied,
        ErrorCode::NotFound,
        ErrorCode::ValidationFailed,
        ErrorCode::MalformedJson,
        ErrorCode::UnsupportedMediaType,
        ErrorCode::PayloadTooLarge,
        ErrorCode::MethodNotAllowed,
        ErrorCode::UriTooLong,
        ErrorCode::HeadersTooLarge,
        ErrorCode::PreconditionFailed,
        ErrorCode::Conflict,
        ErrorCode::IdempotencyKeyReused,
        ErrorCode::IdempotencyKeyInUse,
        ErrorCode::RateLimitExceeded,
        ErrorCode::RequestTimeout,
        ErrorCode::InternalError,
        ErrorCode::ServiceUnavailable,
        ErrorCode::Gone,
    ];

    /// The wire form, e.g. `AUTHENTICATION_FAILED`.
    pub fn as_str(self) -> &'static str {
        self.row().0
    }

    /// The HTTP status that goes with the code.
    pub fn http_status(self) -> u16 {
        self.row().1
    }

    /// The message sent when the handler has nothing more specific to say.
    pub fn default_message(self) -> &'static str {
        self.row().2
    }

    fn row(self) -> (&'static str, u16, &'static str) {
        match self {
            ErrorCode::AuthenticationFailed => ("AUTHENTICATION_FAILED", 401, "Authentication failed"),
            ErrorCode::PermissionDenied => ("PERMISSION_DENIED", 403, "Permission denied"),
            ErrorCode::NotFound => ("NOT_FOUND", 404, "Not found"),
            ErrorCode::ValidationFailed => ("VALIDATION_FAILED", 400, "Validation failed"),
            ErrorCode::MalformedJson => ("MALFORMED_JSON", 400, "Request body is not valid JSON"),
            ErrorCode::UnsupportedMediaType => ("UNSUPPORTED_MEDIA_TYPE", 415, "Content-Type must be application/json"),
            ErrorCode::PayloadTooLarge => ("PAYLOAD_TOO_LARGE", 413, "Request body is too large"),
            ErrorCode::MethodNotAllowed => ("METHOD_NOT_ALLOWED", 405, "Method not allowed"),
            ErrorCode::UriTooLong => ("URI_TOO_LONG", 414, "Request URI is too long"),
            ErrorCode::HeadersTooLarge => ("HEADERS_TOO_LARGE", 431, "Request headers are too large"),
            ErrorCode::PreconditionFailed => ("PRECONDITION_FAILED", 412, "Precondition failed"),
            ErrorCode::Conflict => ("CONFLICT", 409, "The request conflicts with the current state"),
            ErrorCode::IdempotencyKeyReused => {
                ("IDEMPOTENCY_KEY_REUSED", 422, "This Idempotency-Key was used with a different request")
            }
            ErrorCode::IdempotencyKeyInUse => {
                ("IDEMPOTENCY_KEY_IN_USE", 409, "A request with this Idempotency-Key is still being processed")
            }
            ErrorCode::RateLimitExceeded => ("RATE_LIMIT_EXCEEDED", 429, "Rate limit exceeded"),
            ErrorCode::RequestTimeout => ("REQUEST_TIMEOUT", 408, "Request timed out"),
            ErrorCode::InternalError => ("INTERNAL_ERROR", 500, "Internal error"),
            ErrorCode::ServiceUnavailable => ("SERVICE_UNAVAILABLE", 503, "Service unavailable"),
            ErrorCode::Gone => ("GONE", 410, "The requested history is no longer kept"),
        }
    }
}

impl serde::Serialize for ErrorCode {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// In the OpenAPI document the code is an enum of this table's codes, so that clients (and the
/// SDKs' tests) read the table from the document rather than from a copy.
impl utoipa::PartialSchema for ErrorCode {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        let statuses: Vec<String> =
            ErrorCode::ALL.iter().map(|c| format!("`{}` ({})", c.as_str(), c.http_status())).collect();
        let description = format!("Machine-readable error code, with its HTTP status: {}.", statuses.join(", "));
        crate::schema::string_enum(ErrorCode::ALL.iter().map(|c| c.as_str()), &description)
    }
}

impl utoipa::ToSchema for ErrorCode {}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_upper_snake() {
        let mut seen = std::collections::HashSet::new();
        for code in ErrorCode::ALL {
            let s = code.as_str();
            assert!(seen.insert(s), "duplicate {s}");
            assert!(s.chars().all(|c| c.is_ascii_uppercase() || c == '_'), "{s}");
            assert!((400..600).contains(&code.http_status()));
        }
    }

    /// `docs/INTEGRATION.md`'s error table has a row `| `CODE` | STATUS |` for every code.
    #[test]
    fn integration_guide_lists_every_code() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/INTEGRATION.md");
        let guide = std::fs::read_to_string(path).expect("docs/INTEGRATION.md");
        let missing: Vec<String> = ErrorCode::ALL
            .iter()
            .map(|c| format!("| `{}` | {} |", c.as_str(), c.http_status()))
            .filter(|row| !guide.lines().any(|line| line.starts_with(row.as_str())))
            .collect();
        assert!(missing.is_empty(), "docs/INTEGRATION.md's error table lacks {missing:?}");
    }

    #[test]
    fn the_schema_is_an_enum_of_the_table() {
        let schema = serde_json::to_value(<ErrorCode as utoipa::PartialSchema>::schema()).unwrap();
        let listed: Vec<&str> = schema["enum"].as_array().unwrap().iter().filter_map(|v| v.as_str()).collect();
        let table: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(listed, table);
        assert_eq!(serde_json::to_value(ErrorCode::Conflict).unwrap(), "CONFLICT");
    }
}
