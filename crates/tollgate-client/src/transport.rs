//! Sending one call: its attempts, the credential on each, the retry policy between them, and
//! turning an error answer into an [`Error`].

use std::collections::BTreeSet;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use reqwest::header::HeaderMap;
use reqwest::Method;

use crate::auth::Auth;
use crate::retry::RetryPolicy;
use crate::Error;

/// How long a stream's request may live: far longer than any connection will.
const STREAM_LIFETIME: Duration = Duration::from_secs(365 * 24 * 3600);

pub(crate) struct Transport {
    pub(crate) http: reqwest::Client,
    pub(crate) endpoint: String,
    pub(crate) auth: Auth,
    pub(crate) retry: RetryPolicy,
}

/// One API call, as sent on every attempt.
#[derive(Debug, Clone)]
pub(crate) struct Call {
    pub(crate) method: Method,
    pub(crate) path: String,
    pub(crate) query: Vec<(String, String)>,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Option<(&'static str, Vec<u8>)>,
}

impl Call {
    pub(crate) fn new(method: Method, path: impl Into<String>) -> Self {
        Self { method, path: path.into(), query: Vec::new(), headers: Vec::new(), body: None }
    }

    /// Adds a header.
    pub(crate) fn header(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.headers.push((name.into(), value.into()));
    }

    /// Whether sending it twice cannot do something twice.
    fn replayable(&self) -> bool {
        matches!(self.method, Method::GET | Method::HEAD | Method::PUT | Method::DELETE)
            || self.headers.iter().any(|(name, _)| name.eq_ignore_ascii_case("idempotency-key"))
    }
}

impl Transport {
    /// Sends `call`, retrying as the policy allows; returns the body of the 2xx answer.
    pub(crate) async fn send(&self, call: &Call) -> Result<Vec<u8>, Error> {
        let replayable = call.replayable();
        let mut retry = 0;
        let mut renewed_token = false;
        loop {
            let (result, token) = self.attempt(call).await;
            let error = match result {
                Ok(reply) => return Ok(reply),
                Err(e) => e,
            };
            // A refused token (revoked, or the server's signing keys changed): fetch a new one
            // once, without spending a retry.
            if let (Some(token), Auth::OAuth(client), Some(401)) = (&token, &self.auth, error.status()) {
                if !renewed_token {
                    renewed_token = true;
                    client.invalidate(token).await;
                    continue;
                }
            }
            // A connection that was never made carried nothing to the server: safe to resend.
            let never_sent = matches!(&error, Error::Connection(e) if e.is_connect());
            match self.retry.delay(retry, &error, replayable || never_sent) {
                Some(wait) => {
                    tracing::warn!(
                        target: "tollgate_client",
                        method = %call.method,
                        path = %call.path,
                        retry = retry + 1,
                        wait_ms = wait.as_millis() as u64,
                        reason = %error,
                        "retrying {} {} in {:.2} s after: {error}",
                        call.method,
                        call.path,
                        wait.as_secs_f64()
                    );
                    tokio::time::sleep(wait).await;
                    retry += 1;
                }
                None => return Err(error),
            }
        }
    }

    /// One attempt; also returns the OAuth token it used.
    async fn attempt(&self, call: &Call) -> (Result<Vec<u8>, Error>, Option<String>) {
        match self.prepare(call, "application/json").await {
            Ok((request, token)) => (self.receive(call, request).await, token),
            Err(e) => (Err(e), None),
        }
    }

    /// The request for `call` with its credential; also returns the OAuth token it carries.
    async fn prepare(&self, call: &Call, accept: &str) -> Result<(reqwest::RequestBuilder, Option<String>), Error> {
        let mut request =
            self.http.request(call.method.clone(), format!("{}{}", self.endpoint, call.path)).header("accept", accept);
        if !call.query.is_empty() {
            request = request.query(&call.query);
        }
        for (name, value) in &call.headers {
            request = request.header(name.as_str(), value);
        }
        if let Some((content_type, body)) = &call.body {
            request = request.header("content-type", *content_type).body(body.clone());
        }
        let token = match &self.auth {
            Auth::ApiKey(key) => {
                request = request.header("x-api-key", key);
                None
            }
            Auth::OAuth(client) => {
                let token = client.token(&self.http, &self.endpoint).await?;
                request = request.bearer_auth(&token);
                Some(token)
            }
        };
        Ok((request, token))
    }

    /// Opens a long-lived `text/event-stream` answer: one attempt (the caller reconnects), with
    /// the client's timeout on the answer's headers only, and a refused OAuth token renewed once.
    pub(crate) async fn open_stream(&self, call: &Call, timeout: Duration) -> Result<reqwest::Response, Error> {
        let mut renewed_token = false;
        loop {
            let (request, token) = self.prepare(call, "text/event-stream").await?;
            // The body may stay open for days: only the wait for the headers is bounded.
            let send = request.timeout(STREAM_LIFETIME).send();
            let response = match tokio::time::timeout(timeout, send).await {
                Ok(sent) => sent.map_err(transport_error)?,
                Err(_) => return Err(Error::Stalled(timeout)),
            };
            let status = response.status().as_u16();
            if (200..300).contains(&status) {
                return Ok(response);
            }
            let headers = response.headers().clone();
            let body = response.bytes().await.map_err(transport_error)?;
            let error = Error::from_response(status, &headers, &body);
            if let (Some(token), Auth::OAuth(client), 401, false) = (&token, &self.auth, status, renewed_token) {
                renewed_token = true;
                client.invalidate(token).await;
                continue;
            }
            return Err(error);
        }
    }

    async fn receive(&self, call: &Call, request: reqwest::RequestBuilder) -> Result<Vec<u8>, Error> {
        let started = Instant::now();
        let response = request.send().await.map_err(transport_error)?;
        let status = response.status().as_u16();
        log_response(call, status, response.headers(), started);
        warn_deprecation(call, response.headers());
        if (200..300).contains(&status) {
            return Ok(response.bytes().await.map_err(transport_error)?.to_vec());
        }
        // Only an error answer needs its headers (request id, Retry-After) after the body.
        let headers: HeaderMap = response.headers().clone();
        let body = response.bytes().await.map_err(transport_error)?;
        Err(Error::from_response(status, &headers, &body))
    }
}

/// One debug event per response: method, path, status, request id and duration; never a header
/// value that could be a credential, never a body.
fn log_response(call: &Call, status: u16, headers: &HeaderMap, started: Instant) {
    let request_id = headers.get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-");
    let duration_ms = started.elapsed().as_secs_f64() * 1000.0;
    tracing::debug!(
        target: "tollgate_client",
        method = %call.method,
        path = %call.path,
        status,
        request_id,
        duration_ms,
        "{} {} -> {status} (request_id={request_id}, {duration_ms:.1} ms)",
        call.method,
        call.path
    );
}

/// Once per process and endpoint: the server said this call is deprecated (RFC 9745, with the
/// RFC 8594 sunset and the changelog link when it sends them).
fn warn_deprecation(call: &Call, headers: &HeaderMap) {
    let Some(deprecation) = headers.get("deprecation").and_then(|v| v.to_str().ok()) else { return };
    static WARNED: Mutex<BTreeSet<(String, String)>> = Mutex::new(BTreeSet::new());
    let first = WARNED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .insert((call.method.to_string(), call.path.clone()));
    if !first {
        return;
    }
    let header = |name| headers.get(name).and_then(|v| v.to_str().ok());
    let sunset = header("sunset").map(|s| format!("; Sunset: {s}")).unwrap_or_default();
    let link = header("link").map(|l| format!("; see {l}")).unwrap_or_default();
    tracing::warn!(
        target: "tollgate_client",
        method = %call.method,
        path = %call.path,
        deprecation,
        "{} {} is deprecated (Deprecation: {deprecation}{sunset}{link})",
        call.method,
        call.path
    );
}

/// A failure with no answer: timed out, or the connection failed (or the request could not be
/// built, e.g. a header value with a newline in it).
pub(crate) fn transport_error(e: reqwest::Error) -> Error {
    if e.is_builder() {
        Error::Config(format!("request: {e}"))
    } else if e.is_timeout() {
        Error::Timeout(e)
    } else {
        Error::Connection(e)
    }
}
