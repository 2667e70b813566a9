//! The one error type, with a [`ErrorKind`] per kind of failure a caller handles differently.
//! API errors carry the server's envelope (`code`, `message`, `details`, `request_id`) so that a
//! log line or a support ticket can quote the exact request the server saw.

use std::time::{Duration, SystemTime};

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
    /// 409: the change conflicts with the current state (`CONFLICT`, e.g. rotating a revoked
    /// key), or `IDEMPOTENCY_KEY_IN_USE`.
    Conflict,
    /// 412: the version precondition named an older version.
    PreconditionFailed,
    /// 410 `GONE`: an event stream was resumed from an id older than the retention window.
    Gone,
    /// 414 `URI_TOO_LONG`: the path and query are longer than the server accepts.
    UriTooLong,
    /// 431 `HEADERS_TOO_LARGE`: the header section is larger than the server accepts.
    HeadersTooLarge,
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

impl ErrorKind {
    /// The kind of an error answer with this envelope `code`, for every code of the server's
    /// table (the `ErrorCode` enum of `docs/openapi.json`; a test checks none is missing).
    /// `None` for a code this client does not know: [`ErrorKind::from_status`] decides then.
    pub fn from_code(code: &str) -> Option<Self> {
        Some(match code {
            "AUTHENTICATION_FAILED" => ErrorKind::Authentication,
            "PERMISSION_DENIED" => ErrorKind::Permission,
            "NOT_FOUND" => ErrorKind::NotFound,
            "VALIDATION_FAILED"
            | "MALFORMED_JSON"
            | "UNSUPPORTED_MEDIA_TYPE"
            | "PAYLOAD_TOO_LARGE"
            | "IDEMPOTENCY_KEY_REUSED" => ErrorKind::Validation,
            "CONFLICT" | "IDEMPOTENCY_KEY_IN_USE" => ErrorKind::Conflict,
            "PRECONDITION_FAILED" => ErrorKind::PreconditionFailed,
            "GONE" => ErrorKind::Gone,
            "URI_TOO_LONG" => ErrorKind::UriTooLong,
            "HEADERS_TOO_LARGE" => ErrorKind::HeadersTooLarge,
            "RATE_LIMIT_EXCEEDED" => ErrorKind::RateLimit,
            "INTERNAL_ERROR" | "SERVICE_UNAVAILABLE" => ErrorKind::Server,
            // A wrong method, or a request the server gave up waiting for: nothing more specific
            // to branch on than the status.
            "METHOD_NOT_ALLOWED" | "REQUEST_TIMEOUT" => ErrorKind::Other,
            _ => return None,
        })
    }

    /// The kind of an error answer with this HTTP status: the fallback for a code this client
    /// does not know (a newer server's) and for answers without the envelope.
    pub fn from_status(status: u16) -> Self {
        match status {
            401 => ErrorKind::Authentication,
            403 => ErrorKind::Permission,
            404 => ErrorKind::NotFound,
            400 | 413 | 415 | 422 => ErrorKind::Validation,
            409 => ErrorKind::Conflict,
            410 => ErrorKind::Gone,
            412 => ErrorKind::PreconditionFailed,
            414 => ErrorKind::UriTooLong,
            431 => ErrorKind::HeadersTooLarge,
            429 => ErrorKind::RateLimit,
            500..=599 => ErrorKind::Server,
            _ => ErrorKind::Other,
        }
    }
}

/// One way a resource breaks its registered type: an entry of a validation error's
/// `details.errors` ([`ApiError::errors`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// Where, as a JSON Pointer (RFC 6901) into the resource: `/data/cpus`, `/attributes/region`.
    pub pointer: String,
    /// What is wrong there.
    pub message: String,
}

/// An error answer from the API.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    /// What kind of failure it is: from the envelope's code, else from the status; a refused
    /// token request (400 or 401 from `/oauth/token`) is always [`ErrorKind::Authentication`].
    pub kind: ErrorKind,
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

impl ApiError {
    /// For a failed batch: the position of the operation that failed (`details.index`).
    pub fn operation_index(&self) -> Option<usize> {
        self.details.get("index").and_then(Value::as_u64).and_then(|i| usize::try_from(i).ok())
    }

    /// For a write that breaks its registered type (a validation error): every violation, in
    /// the server's order, from `details.errors`. Empty for other errors.
    pub fn errors(&self) -> Vec<FieldError> {
        if self.kind != ErrorKind::Validation {
            return Vec::new();
        }
        let Some(errors) = self.details.get("errors").and_then(Value::as_array) else { return Vec::new() };
        errors
            .iter()
            .filter_map(|e| {
                let pointer = e.get("pointer").and_then(Value::as_str)?.to_owned();
                let message = e.get("message").and_then(Value::as_str).unwrap_or_default().to_owned();
                Some(FieldError { pointer, message })
            })
            .collect()
    }

    /// For a validation error: each bad field (a parameter name or a JSON Pointer) and why,
    /// from the `details.errors` list ([`ApiError::errors`]) and from the `details` map.
    pub fn fields(&self) -> Vec<(String, String)> {
        if self.kind != ErrorKind::Validation {
            return Vec::new();
        }
        let mut found: Vec<(String, String)> = self.errors().into_iter().map(|e| (e.pointer, e.message)).collect();
        if let Some(map) = self.details.as_object() {
            found.extend(map.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned()))));
        }
        found
    }
}

/// `STATUS CODE: message[: field: why; ...] (operation i) (request_id=...)`, what a log line
/// or a support ticket needs to quote.
impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status, self.code, self.message)?;
        let fields = self.fields();
        for (i, (field, why)) in fields.iter().enumerate() {
            write!(f, "{}{field}: {why}", if i == 0 { ": " } else { "; " })?;
        }
        if let Some(index) = self.operation_index() {
            write!(f, " (operation {index})")?;
        }
        if let Some(id) = &self.request_id {
            write!(f, " (request_id={id})")?;
        }
        Ok(())
    }
}

/// Everything the client can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The API answered with an error.
    #[error("{0}")]
    Api(Box<ApiError>),
    /// The request got no response.
    #[error("connection failed: {0}")]
    Connection(#[source] reqwest::Error),
    /// The request timed out.
    #[error("timed out: {0}")]
    Timeout(#[source] reqwest::Error),
    /// An event stream's server sent nothing, not even its keep-alive, for this long.
    #[error("timed out: nothing received for {0:?}")]
    Stalled(std::time::Duration),
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
            Error::Api(e) => e.kind,
            Error::Connection(_) => ErrorKind::Connection,
            Error::Timeout(_) | Error::Stalled(_) => ErrorKind::Timeout,
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

    /// For a failed batch: the position of the operation that failed.
    pub fn operation_index(&self) -> Option<usize> {
        self.api().and_then(ApiError::operation_index)
    }

    /// For a write that breaks its registered type: every violation ([`ApiError::errors`]).
    pub fn errors(&self) -> Vec<FieldError> {
        self.api().map(ApiError::errors).unwrap_or_default()
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
        let retry_after =
            header("retry-after").and_then(|v| crate::retry_after::parse(&v, SystemTime::now())).or_else(|| {
                details["retry_after"].as_f64().filter(|s| s.is_finite() && *s >= 0.0).map(Duration::from_secs_f64)
            });
        let kind = ErrorKind::from_code(&code).unwrap_or_else(|| ErrorKind::from_status(status));
        Error::Api(Box::new(ApiError { kind, status, code, message, details, request_id, retry_after }))
    }
}

#[cfg(test)]
mod tests {
    use reqwest::header::{HeaderMap, HeaderValue};

    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs.iter().map(|(k, v)| (reqwest::header::HeaderName::from_static(k), HeaderValue::from_static(v))).collect()
    }

    #[test]
    fn the_envelope_is_read_whole() {
        let body = br#"{"error":{"code":"RATE_LIMIT_EXCEEDED","message":"slow down","details":{"retry_after":7,"limit":2},"request_id":"req_1"}}"#;
        let e = Error::from_response(429, &headers(&[("x-request-id", "req_header")]), body);
        let api = e.api().unwrap();
        assert_eq!(
            (api.kind, api.code.as_str(), api.message.as_str()),
            (ErrorKind::RateLimit, "RATE_LIMIT_EXCEEDED", "slow down")
        );
        assert_eq!(api.details["limit"], 2);
        assert_eq!(e.request_id(), Some("req_1"), "the envelope's id wins over the header's");
        assert_eq!(e.retry_after(), Some(Duration::from_secs(7)), "details.retry_after without a header");
        let e = Error::from_response(429, &headers(&[("retry-after", "3")]), body);
        assert_eq!(e.retry_after(), Some(Duration::from_secs(3)), "the header wins");
    }

    #[test]
    fn oauth_and_foreign_bodies_keep_their_status() {
        let e = Error::from_response(
            400,
            &HeaderMap::new(),
            br#"{"error":"invalid_scope","error_description":"no such scope"}"#,
        );
        assert_eq!((e.code(), e.api().unwrap().message.as_str()), (Some("invalid_scope"), "no such scope"));
        let e = Error::from_response(502, &headers(&[("x-request-id", "req_2")]), b"<html>Bad Gateway</html>");
        assert_eq!((e.kind(), e.code(), e.request_id()), (ErrorKind::Server, Some("HTTP_502"), Some("req_2")));
    }

    /// Every code of the server's table, as the checked-in OpenAPI document lists it, has a kind.
    #[test]
    fn every_code_of_the_servers_table_is_mapped() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/openapi.json");
        let doc: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let codes = doc["components"]["schemas"]["ErrorCode"]["enum"].as_array().expect("the ErrorCode enum");
        assert!(codes.len() >= 18, "{codes:?}");
        let unmapped: Vec<&str> =
            codes.iter().filter_map(Value::as_str).filter(|c| ErrorKind::from_code(c).is_none()).collect();
        assert!(unmapped.is_empty(), "codes the client does not map: {unmapped:?}");
    }

    #[test]
    fn the_code_decides_and_the_status_is_the_fallback() {
        let envelope = |code: &str| {
            format!(r#"{{"error":{{"code":"{code}","message":"m","details":{{}},"request_id":"req_1"}}}}"#)
        };
        let cases = [
            (409, "CONFLICT", ErrorKind::Conflict),
            (414, "URI_TOO_LONG", ErrorKind::UriTooLong),
            (431, "HEADERS_TOO_LARGE", ErrorKind::HeadersTooLarge),
            (413, "PAYLOAD_TOO_LARGE", ErrorKind::Validation),
            (408, "REQUEST_TIMEOUT", ErrorKind::Other),
            (409, "SOMETHING_NEWER", ErrorKind::Conflict),
            (418, "SOMETHING_NEWER", ErrorKind::Other),
        ];
        for (status, code, kind) in cases {
            let e = Error::from_response(status, &HeaderMap::new(), envelope(code).as_bytes());
            assert_eq!((e.kind(), e.code()), (kind, Some(code)), "{status} {code}");
        }
        let e = Error::from_response(431, &HeaderMap::new(), envelope("HEADERS_TOO_LARGE").as_bytes());
        assert_eq!(e.to_string(), "431 HEADERS_TOO_LARGE: m (request_id=req_1)");
    }

    #[test]
    fn the_string_form_names_fields_and_the_failed_operation() {
        let body = br#"{"error":{"code":"VALIDATION_FAILED","message":"Validation failed","details":{"sort":"unknown key","errors":[{"pointer":"/data/cpus","message":"must be an integer"}]},"request_id":"req_1"}}"#;
        let e = Error::from_response(400, &HeaderMap::new(), body);
        let errors = e.errors();
        assert_eq!(errors, [FieldError { pointer: "/data/cpus".into(), message: "must be an integer".into() }]);
        assert_eq!(
            e.to_string(),
            "400 VALIDATION_FAILED: Validation failed: /data/cpus: must be an integer; sort: unknown key (request_id=req_1)"
        );
        let body = br#"{"error":{"code":"NOT_FOUND","message":"Operation 2 failed","details":{"index":2},"request_id":"req_2"}}"#;
        let e = Error::from_response(404, &HeaderMap::new(), body);
        assert_eq!(e.operation_index(), Some(2));
        assert_eq!(e.to_string(), "404 NOT_FOUND: Operation 2 failed (operation 2) (request_id=req_2)");
    }

    #[test]
    fn statuses_map_to_kinds() {
        let kinds = [
            (400, ErrorKind::Validation),
            (401, ErrorKind::Authentication),
            (403, ErrorKind::Permission),
            (404, ErrorKind::NotFound),
            (409, ErrorKind::Conflict),
            (412, ErrorKind::PreconditionFailed),
            (422, ErrorKind::Validation),
            (429, ErrorKind::RateLimit),
            (503, ErrorKind::Server),
            (418, ErrorKind::Other),
        ];
        for (status, kind) in kinds {
            assert_eq!(ErrorKind::from_status(status), kind, "{status}");
        }
    }
}
