//! The parameters of an OAuth request, from `application/x-www-form-urlencoded` (as RFC 6749
//! requires) or a JSON object of strings (as the integration guide's curl example sends).
//! A repeated parameter is `invalid_request`, as RFC 6749 section 3.2 says.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::header;
use serde_json::Value;

use crate::error::OAuthError;
use crate::extract::json::MAX_BODY_BYTES;

/// The request's parameters by name.
pub struct OAuthParams(pub HashMap<String, String>);

impl OAuthParams {
    /// A parameter, if present and non-empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str).filter(|v| !v.is_empty())
    }
}

impl<S: Send + Sync> FromRequest<S> for OAuthParams {
    type Rejection = OAuthError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let media = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(';').next().unwrap_or("").trim().to_ascii_lowercase())
            .unwrap_or_default();
        let body: Bytes = axum::body::to_bytes(req.into_body(), MAX_BODY_BYTES)
            .await
            .map_err(|_| OAuthError::invalid_request("the request body could not be read"))?;
        let pairs: Vec<(String, String)> = match media.as_str() {
            "application/x-www-form-urlencoded" => serde_urlencoded::from_bytes(&body)
                .map_err(|_| OAuthError::invalid_request("the body is not valid form encoding"))?,
            "application/json" => json_pairs(&body)?,
            _ => {
                return Err(OAuthError::invalid_request(
                    "Content-Type must be application/x-www-form-urlencoded or application/json",
                ))
            }
        };
        let mut map = HashMap::new();
        for (k, v) in pairs {
            if map.insert(k.clone(), v).is_some() {
                return Err(OAuthError::invalid_request(format!("parameter `{k}` is repeated")));
            }
        }
        Ok(Self(map))
    }
}

fn json_pairs(body: &[u8]) -> Result<Vec<(String, String)>, OAuthError> {
    // A repeated member is a repeated parameter, as in the form encoding.
    let value = crate::extract::unique_members::from_slice(body).map_err(|refused| match refused.duplicate {
        Some(k) => OAuthError::invalid_request(format!("parameter `{k}` is repeated")),
        None => OAuthError::invalid_request("the body is not valid JSON"),
    })?;
    let obj = value.as_object().ok_or_else(|| OAuthError::invalid_request("the body must be a JSON object"))?;
    obj.iter()
        .map(|(k, v)| match v {
            Value::String(s) => Ok((k.clone(), s.clone())),
            _ => Err(OAuthError::invalid_request(format!("parameter `{k}` must be a string"))),
        })
        .collect()
}
