//! Building a client: arguments win over the environment, and an explicit OAuth client wins
//! over `TOLLGATE_API_KEY`. A missing or doubled credential fails at build time, not on the
//! first request, so a configuration mistake shows where it is made.

use std::time::Duration;

use crate::auth::{Auth, OAuthClient};
use crate::retry::RetryPolicy;
use crate::transport::Transport;
use crate::{Client, Error};

/// Where `tollgate serve` listens by default.
pub const DEFAULT_ENDPOINT: &str = "http://127.0.0.1:8080";

/// Configures a [`Client`].
#[derive(Default, Clone)]
pub struct ClientBuilder {
    endpoint: Option<String>,
    api_key: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    scope: Option<String>,
    timeout: Option<Duration>,
    retry: RetryPolicy,
}

impl std::fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientBuilder").field("endpoint", &self.endpoint).finish_non_exhaustive()
    }
}

impl ClientBuilder {
    /// The base URL, e.g. `https://api.example.com` (else `TOLLGATE_ENDPOINT`).
    pub fn endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.endpoint = Some(endpoint.into());
        self
    }

    /// Authenticates with an API key (`tgk_...`).
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// Authenticates with OAuth 2.0 client credentials.
    pub fn oauth_client(mut self, client_id: impl Into<String>, client_secret: impl Into<String>) -> Self {
        self.client_id = Some(client_id.into());
        self.client_secret = Some(client_secret.into());
        self
    }

    /// The scopes to ask tokens for (space-separated); default: all of the client's.
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        self.scope = Some(scope.into());
        self
    }

    /// Time allowed for each attempt (default 30 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Retries after the first attempt (default 3; 0 turns retries off).
    pub fn max_retries(mut self, retries: u32) -> Self {
        self.retry.max_retries = retries;
        self
    }

    /// The first backoff's upper bound, doubled on each retry (default 500 ms).
    pub fn backoff_base(mut self, base: Duration) -> Self {
        self.retry.backoff_base = base;
        self
    }

    /// The largest backoff (default 8 s).
    pub fn backoff_cap(mut self, cap: Duration) -> Self {
        self.retry.backoff_cap = cap;
        self
    }

    /// The longest `Retry-After` to sleep through before retrying (default 60 s); a longer one
    /// is returned at once as a rate-limit error.
    pub fn max_retry_wait(mut self, wait: Duration) -> Self {
        self.retry.max_retry_wait = wait;
        self
    }

    /// The whole retry policy.
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Builds the client; fails when no credential is found or two are given.
    pub fn build(self) -> Result<Client, Error> {
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        if self.api_key.is_some() && self.client_id.is_some() {
            return Err(Error::Config("give either an API key or an OAuth client, not both".into()));
        }
        let auth = match (self.api_key, self.client_id, self.client_secret) {
            (Some(key), None, None) => Auth::ApiKey(key),
            (None, Some(id), Some(secret)) => Auth::OAuth(OAuthClient::new(id, secret, self.scope)),
            (None, None, None) => {
                match (env("TOLLGATE_API_KEY"), env("TOLLGATE_CLIENT_ID"), env("TOLLGATE_CLIENT_SECRET")) {
                    (Some(key), _, _) => Auth::ApiKey(key),
                    (None, Some(id), Some(secret)) => Auth::OAuth(OAuthClient::new(id, secret, self.scope)),
                    _ => {
                        return Err(Error::Config(
                            "no credentials: give an API key or an OAuth client, or set TOLLGATE_API_KEY \
                         (or TOLLGATE_CLIENT_ID and TOLLGATE_CLIENT_SECRET)"
                                .into(),
                        ))
                    }
                }
            }
            _ => return Err(Error::Config("an OAuth client needs both its id and its secret".into())),
        };
        let endpoint = self.endpoint.or_else(|| env("TOLLGATE_ENDPOINT")).unwrap_or_else(|| DEFAULT_ENDPOINT.into());
        let endpoint = normalize_endpoint(&endpoint)?;
        let timeout = self.timeout.unwrap_or(Duration::from_secs(30));
        if timeout.is_zero() {
            return Err(Error::Config("timeout must be positive".into()));
        }
        check_retry_policy(&self.retry)?;
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .user_agent(concat!("tollgate-rust/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::Config(format!("HTTP client: {e}")))?;
        Ok(Client { inner: std::sync::Arc::new(Transport { http, endpoint, auth, retry: self.retry }) })
    }
}

/// The base URL without a trailing `/` or `/v1`: paths already start with `/v1`, and
/// `https://host/v1` is what people copy from the API reference. Only `http` and `https`.
pub(crate) fn normalize_endpoint(endpoint: &str) -> Result<String, Error> {
    let trimmed = endpoint.trim().trim_end_matches('/');
    let trimmed = trimmed.strip_suffix("/v1").unwrap_or(trimmed);
    let parsed =
        url::Url::parse(trimmed).map_err(|e| Error::Config(format!("endpoint {endpoint:?} is not a URL: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(Error::Config(format!("endpoint must be an http:// or https:// URL, not {endpoint:?}")));
    }
    Ok(trimmed.to_owned())
}

/// A policy that could not work as meant is refused when the client is built, not found out
/// on the first retry.
fn check_retry_policy(p: &RetryPolicy) -> Result<(), Error> {
    if p.max_retries > MAX_RETRIES {
        return Err(Error::Config(format!("max_retries must be at most {MAX_RETRIES}, not {}", p.max_retries)));
    }
    if p.backoff_base.is_zero() {
        return Err(Error::Config("backoff_base must be positive".into()));
    }
    if p.backoff_cap < p.backoff_base {
        return Err(Error::Config(format!(
            "backoff_cap ({:?}) must not be below backoff_base ({:?})",
            p.backoff_cap, p.backoff_base
        )));
    }
    Ok(())
}

/// More retries than this would only hide an outage behind minutes of backoff.
const MAX_RETRIES: u32 = 10;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_lose_a_trailing_slash_and_v1() {
        for given in ["http://h:8080", "http://h:8080/", "http://h:8080/v1", "http://h:8080/v1/", " http://h:8080 "] {
            assert_eq!(normalize_endpoint(given).unwrap(), "http://h:8080", "{given}");
        }
        assert_eq!(normalize_endpoint("https://h/api/v1").unwrap(), "https://h/api");
        assert!(normalize_endpoint("h:8080").is_err());
        assert!(normalize_endpoint("ftp://h").is_err());
        assert!(normalize_endpoint("not a url").is_err());
    }

    #[test]
    fn options_that_cannot_work_are_refused_at_build() {
        let b = || Client::builder().endpoint("http://127.0.0.1:9").api_key("tgk_x");
        let refused = |r: Result<Client, Error>| match r {
            Err(Error::Config(m)) => m,
            other => panic!("expected a configuration error, got {other:?}"),
        };
        assert!(refused(b().timeout(Duration::ZERO).build()).contains("timeout"));
        assert!(refused(b().max_retries(11).build()).contains("max_retries"));
        assert!(refused(b().backoff_base(Duration::ZERO).build()).contains("backoff_base"));
        let m = refused(b().backoff_base(Duration::from_secs(2)).backoff_cap(Duration::from_secs(1)).build());
        assert!(m.contains("backoff_cap"), "{m}");
        assert!(refused(b().endpoint("localhost:8080").build()).contains("endpoint"));
        assert!(refused(b().oauth_client("tgc_x", "tgs_y").build()).contains("not both"));
        assert!(b().max_retries(0).build().is_ok());
    }
}
