//! The raw query as ordered pairs, so that list parameters are parsed (and unknown ones refused)
//! by the domain's own rules rather than silently ignored; [`NoQuery`] for the routes that take
//! none, which refuse every parameter by the same rule.

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

    /// Reads the integer parameters `allowed` (name, default, least, most), refusing any other
    /// parameter, a repeated one and a value out of range, each named in `details`.
    pub fn ints<const N: usize>(&self, allowed: [(&str, u32, u32, u32); N]) -> Result<[u32; N], ApiError> {
        let mut values = allowed.map(|(_, default, _, _)| default);
        let mut seen = [false; N];
        let mut errors = ValidationErrors::new();
        for (name, value) in &self.0 {
            let Some(i) = allowed.iter().position(|(n, ..)| n == name) else {
                errors.add(name.clone(), "is not a parameter of this endpoint");
                continue;
            };
            let (_, _, least, most) = allowed[i];
            if std::mem::replace(&mut seen[i], true) {
                errors.add(name.clone(), "is given more than once");
            }
            match value.parse::<u32>() {
                Ok(v) if (least..=most).contains(&v) => values[i] = v,
                _ => errors.add(name.clone(), format!("must be a whole number from {least} to {most}")),
            }
        }
        errors.into_result(values).map_err(ApiError::validation)
    }
}

/// A route that takes no query parameter: any parameter is a 400 naming it, never ignored (as
/// on the routes that take some).
pub struct NoQuery;

impl<S: Send + Sync> FromRequestParts<S> for NoQuery {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        match parts.uri.query() {
            None => Ok(Self),
            Some(raw) => QueryPairs::parse(raw)?.ints([]).map(|[]| Self),
        }
    }
}
