//! The one error type, with a [`ErrorKind`] per kind of failure a caller handles differently.
//! API errors carry the server's envelope (`code`, `message`, `details`, `request_id`) so that a
//! log line or a support ticket can quote the exact request the server saw.

use std::time::Duration;

use serde_json::Value;

/// What went wrong, as a caller branches on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// 401, or a refused OAuth token request: the credential is missing, wrong, expired or revoked.
    Authentication,
    /// 403: valid credential, missing scope (`details.required_scope`).
    Permission,
    /// 404: no such resource in the credential's project.
    NotFound,
    /// 400, 413, 415 or 422: the request is wrong; `details` names each bad field.
    Validation,
    /// 409: e.g. `IDEMPOTENCY_KEY_IN_USE`.
    Conflict,
    /// 412: the version precondition named an older version.
    PreconditionFailed,
    /// 429: over the credential's limit; see [`Error::retry_after`].
    RateLimit,
    /// 5xx.
    Server,
    /// No response: the connection failed or was dropped.
    Connection,
    /// No response within the timeout.
    Timeout,
    /// The client was built wrong (no credentials, a bad endpoint).
    Config,
    /// A response that is not what the API documents.
    Decode,
    /// Another status.
    Other,
}

/// An error answer from the API.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    /// HTTP status.
    pub status: u16,
    /// The envelope's `code` (e.g. `NOT_FOUND`; for the token endpoint, the OAuth `error`).
    pub code: String,
    /// The envelope's `message`.
    pub message: String,
    /// The envelope's `details` (an object, or null).
    pub details: Value,
    /// The request id (`X-Request-Id`), for support.
    pub request_id: Option<String>,
    /// How long to wait before retrying, from `Retry-After` (429 and some 503s).
    pub retry_after: Option<Duration>,
}

/// Everything the client can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The API answered with an error.
    #[error("{} {}: {}{}", .0.status, .0.code, .0.message, .0.request_id.as_deref().map(|r| format!(" (request_id={r})")).unwrap_or_default())]
    Api(Box<ApiError>),
    /// The request got no response.
    #[error("connection failed: {0}")]
    Connection(#[source] reqwest::Error),
    /// The request timed out.
    #[error("timed out: {0}")]
    Timeout(#[source] reqwest::Error),
    /// The client is misconfigured.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// The response could not be read.
    #[error("unexpected response: {0}")]
    Decode(String),
}

impl Error {
    /// The kind of failure.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Api(e) => match e.status {
                401 => ErrorKind::Authentication,
                403 => ErrorKind::Permission,
                404 => ErrorKind::NotFound,
                400 | 413 | 415 | 422 => ErrorKind::Validation,
                409 => ErrorKind::Conflict,
                412 => ErrorKind::PreconditionFailed,
                429 => ErrorKind::RateLimit,
                500..=599 => ErrorKind::Server,
                _ => ErrorKind::Other,
            },
            Error::Connection(_) => ErrorKind::Connection,
            Error::Timeout(_) => ErrorKind::Timeout,
            Error::Config(_) => ErrorKind::Config,
            Error::Decode(_) => ErrorKind::Decode,
        }
    }

    /// The API error, when the server answered.
    pub fn api(&self) -> Option<&ApiError> {
        match self {
            Error::Api(e) => Some(&**e),
            _ => None,
        }
    }

    /// The HTTP status, when the server answered.
    pub fn status(&self) -> Option<u16> {
        self.api().map(|e| e.status)
    }

    /// The envelope's code, when the server answered.
    pub fn code(&self) -> Option<&str> {
        self.api().map(|e| e.code.as_str())
    }

    /// The request id, when the server answered.
    pub fn request_id(&self) -> Option<&str> {
        self.api().and_then(|e| e.request_id.as_deref())
    }

    /// How long to wait before retrying a rate-limited request.
    pub fn retry_after(&self) -> Option<Duration> {
        self.api().and_then(|e| e.retry_after)
    }

    /// Builds the error for a non-2xx response from its headers and body. The resource API's
    /// envelope and the token endpoint's RFC 6749 body are both understood; anything else
    /// (a proxy's HTML page) keeps its status with a generic code.
    pub(crate) fn from_response(status: u16, headers: &reqwest::header::HeaderMap, body: &[u8]) -> Self {
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let json: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        let envelope = &json["error"];
        let (code, message, details) = if envelope.is_object() {
            (
                envelope["code"].as_str().unwrap_or("UNKNOWN").to_owned(),
                envelope["message"].as_str().unwrap_or("").to_owned(),
                envelope.get("details").cloned().unwrap_or(Value::Null),
            )
        } else if let Some(oauth) = envelope.as_str() {
            let description = json["error_description"].as_str().unwrap_or(oauth).to_owned();
            (oauth.to_owned(), description, Value::Null)
        } else {
            let text = String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned();
            (format!("HTTP_{status}"), text, Value::Null)
        };
        let request_id = envelope["request_id"].as_str().map(str::to_owned).or_else(|| header("x-request-id"));
        let retry_after = header("retry-after")
            .and_then(|v| v.trim().parse::<u64>().ok())
            .or_else(|| details["retry_after"].as_u64())
            .map(Duration::from_secs);
        Error::Api(Box::new(ApiError { status, code, message, details, request_id, retry_after }))
    }
}
