//! The raw query as ordered pairs, so that list parameters are parsed (and unknown ones refused)
//! by the domain's own rules rather than silently ignored.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use tollgate_core::ValidationErrors;

use crate::error::ApiError;

/// `?a=1&b=2` as `[("a","1"),("b","2")]`, percent-decoded.
pub struct QueryPairs(pub Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for QueryPairs {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Self::parse(parts.uri.query().unwrap_or(""))
    }
}

impl QueryPairs {
    /// The pairs of a raw query (without the `?`).
    pub fn parse(raw: &str) -> Result<Self, ApiError> {
        serde_urlencoded::from_str::<Vec<(String, String)>>(raw)
            .map(Self)
            .map_err(|_| ApiError::validation(ValidationErrors::single("query", "is not valid URL encoding")))
    }
}
