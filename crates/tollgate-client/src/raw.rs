//! Any endpoint the typed methods do not cover (`/v1/usage`, `/v1/keys`, ...), with the
//! client's credentials, retries and typed errors: the `request` escape hatch the Python and
//! Node.js SDKs also have.

use reqwest::Method;
use serde_json::Value;

use crate::transport::Call;
use crate::{Client, Error};

/// A request to any endpoint, sent exactly as given: no `Idempotency-Key` is added, so a POST or
/// PATCH is retried only if [`RawRequest::header`] gives one.
#[derive(Debug, Clone)]
pub struct RawRequest {
    call: Call,
    json: Option<Value>,
}

impl RawRequest {
    /// `method` on `path`, which starts with `/` (e.g. `/v1/usage`).
    pub fn new(method: Method, path: impl Into<String>) -> Self {
        Self { call: Call::new(method, path), json: None }
    }

    /// Adds a query parameter.
    pub fn query(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.call.query.push((name.into(), value.into()));
        self
    }

    /// Adds a header.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.call.header(name, value);
        self
    }

    /// Sends `body` as `application/json`.
    pub fn json(mut self, body: Value) -> Self {
        self.json = Some(body);
        self
    }
}

impl Client {
    /// Sends `request` and returns its JSON body (`Value::Null` when the answer has none).
    pub async fn request(&self, request: RawRequest) -> Result<Value, Error> {
        let RawRequest { mut call, json } = request;
        if !call.path.starts_with('/') {
            return Err(Error::Config(format!("path {:?} must start with /", call.path)));
        }
        if let Some(body) = &json {
            call.body = Some(("application/json", crate::resources::to_json(body)?));
        }
        let body = self.inner.send(&call).await?;
        if body.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&body).map_err(|e| Error::Decode(e.to_string()))
    }
}
