//! Credentials on the wire. An API key goes in `X-API-Key`. An OAuth client's token is fetched
//! on first use (building a client does no I/O), shared by every request and clone of the
//! client, and renewed shortly before it expires, so that no request leaves with a token that
//! dies in flight; concurrent callers wait for one renewal instead of each fetching a token.

use std::time::{Duration, Instant};

use tokio::sync::Mutex;

use crate::Error;

/// Renew this long before expiry (at most half the token's lifetime).
const REFRESH_MARGIN: Duration = Duration::from_secs(60);

pub(crate) enum Auth {
    ApiKey(String),
    OAuth(OAuthClient),
}

pub(crate) struct OAuthClient {
    client_id: String,
    client_secret: String,
    scope: Option<String>,
    token: Mutex<Option<Token>>,
}

#[derive(Clone)]
struct Token {
    value: String,
    refresh_at: Instant,
}

impl OAuthClient {
    pub(crate) fn new(client_id: String, client_secret: String, scope: Option<String>) -> Self {
        Self { client_id, client_secret, scope, token: Mutex::new(None) }
    }

    /// A token that is good for a while, fetching one if needed.
    pub(crate) async fn token(&self, http: &reqwest::Client, endpoint: &str) -> Result<String, Error> {
        let mut slot = self.token.lock().await;
        if let Some(t) = slot.as_ref().filter(|t| Instant::now() < t.refresh_at) {
            return Ok(t.value.clone());
        }
        let fresh = self.fetch(http, endpoint).await?;
        let value = fresh.value.clone();
        *slot = Some(fresh);
        Ok(value)
    }

    /// Forgets `value` after the server refused it (revoked, or the server's keys rotated),
    /// unless another request already replaced it.
    pub(crate) async fn invalidate(&self, value: &str) {
        let mut slot = self.token.lock().await;
        if slot.as_ref().is_some_and(|t| t.value == value) {
            *slot = None;
        }
    }

    /// `POST /oauth/token` with HTTP Basic client authentication (RFC 6749 section 2.3.1: id and
    /// secret form-urlencoded before base64).
    async fn fetch(&self, http: &reqwest::Client, endpoint: &str) -> Result<Token, Error> {
        let encode = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let mut form = vec![("grant_type", "client_credentials")];
        if let Some(scope) = &self.scope {
            form.push(("scope", scope));
        }
        let started = Instant::now();
        let response = http
            .post(format!("{endpoint}/oauth/token"))
            .basic_auth(encode(&self.client_id), Some(encode(&self.client_secret)))
            .form(&form)
            .send()
            .await
            .map_err(crate::transport::transport_error)?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.bytes().await.map_err(crate::transport::transport_error)?;
        if !(200..300).contains(&status) {
            return Err(match Error::from_response(status, &headers, &body) {
                // RFC 6749 refusals (invalid_client, invalid_scope, ...) come as 400 or 401: both
                // mean these credentials cannot be used. Server errors stay what they are.
                Error::Api(mut e) if status == 400 || status == 401 => {
                    e.kind = crate::ErrorKind::Authentication;
                    Error::Api(e)
                }
                e => e,
            });
        }
        #[derive(serde::Deserialize)]
        struct TokenResponse {
            access_token: String,
            expires_in: Option<u64>,
        }
        let token: TokenResponse =
            serde_json::from_slice(&body).map_err(|e| Error::Decode(format!("token response: {e}")))?;
        let lifetime = Duration::from_secs(token.expires_in.unwrap_or(3600));
        let margin = REFRESH_MARGIN.min(lifetime / 2);
        Ok(Token { value: token.access_token, refresh_at: started + lifetime - margin })
    }
}
