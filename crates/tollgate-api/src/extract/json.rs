//! JSON bodies: the content type must be JSON (`application/json` or `application/*+json`,
//! such as `application/merge-patch+json`), the body at most 1 MiB, valid UTF-8 and valid JSON.
//! The body is kept as a `serde_json::Value` for the domain's parsers, which name every bad
//! field rather than the first one serde meets. An object that names a member twice is refused
//! as malformed, naming the member, and so is an integer beyond 64 bits
//! ([`super::unique_members`]).

use axum::body::Body;
use axum::extract::{FromRequest, Request};
use axum::http::{header, HeaderMap};
use serde_json::Value;
use tollgate_core::ErrorCode;

use super::single_header::{single_header, Repeated};
use crate::error::ApiError;

/// Largest accepted body.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// Most bytes of an oversized body read before the connection is given up on.
const DRAIN_BYTES: usize = 16 * 1024 * 1024;

/// A required JSON body.
pub struct AppJson(pub Value);

/// A required JSON body with the SHA-256 of its bytes (an idempotency fingerprint), taken only
/// when the request carries an `Idempotency-Key`: nothing else uses it, and hashing every body
/// was an eighth of a create's instructions.
pub struct HashedJson(pub Value, pub Option<[u8; 32]>);

/// An optional JSON body: `None` when the request has no body at all.
pub struct MaybeJson(pub Option<Value>);

impl<S: Send + Sync> FromRequest<S> for AppJson {
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        check_content_type(req.headers())?;
        let bytes = read_body(req.into_body()).await?;
        parse(&bytes).map(Self)
    }
}

impl<S: Send + Sync> FromRequest<S> for HashedJson {
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        use sha2::Digest;
        check_content_type(req.headers())?;
        let keyed = req.headers().contains_key(crate::idempotency::HEADER);
        let bytes = read_body(req.into_body()).await?;
        let digest = keyed.then(|| sha2::Sha256::digest(&bytes).into());
        parse(&bytes).map(|v| Self(v, digest))
    }
}

impl<S: Send + Sync> FromRequest<S> for MaybeJson {
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let has_type = req.headers().contains_key(header::CONTENT_TYPE);
        let type_ok = check_content_type(req.headers());
        let bytes = read_body(req.into_body()).await?;
        if bytes.is_empty() && !has_type {
            return Ok(Self(None));
        }
        type_ok?;
        parse(&bytes).map(|v| Self(Some(v)))
    }
}

fn check_content_type(headers: &HeaderMap) -> Result<(), ApiError> {
    let first = single_header(headers, &header::CONTENT_TYPE).map_err(|Repeated| {
        ApiError::new(ErrorCode::UnsupportedMediaType).message("Content-Type is given more than once")
    })?;
    let ok = first
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or("").trim().to_ascii_lowercase())
        .is_some_and(|m| m == "application/json" || (m.starts_with("application/") && m.ends_with("+json")));
    if ok {
        Ok(())
    } else {
        Err(ApiError::new(ErrorCode::UnsupportedMediaType))
    }
}

/// Reads the body whole. A body over the limit is still read (and discarded) up to
/// [`DRAIN_BYTES`], so that a client that sends everything before reading the answer gets the
/// 413 instead of a reset connection.
pub(crate) async fn read_body(body: Body) -> Result<axum::body::Bytes, ApiError> {
    use http_body_util::BodyExt;
    let mut body = body;
    let mut buf = Vec::new();
    let mut seen = 0usize;
    while let Some(frame) = body.frame().await {
        let frame =
            frame.map_err(|_| ApiError::new(ErrorCode::MalformedJson).message("The request body could not be read"))?;
        let Ok(data) = frame.into_data() else { continue };
        seen += data.len();
        if seen <= MAX_BODY_BYTES {
            buf.extend_from_slice(&data);
        } else if seen > DRAIN_BYTES {
            break;
        }
    }
    if seen > MAX_BODY_BYTES {
        return Err(ApiError::new(ErrorCode::PayloadTooLarge).detail("max_bytes", MAX_BODY_BYTES));
    }
    Ok(buf.into())
}

fn parse(bytes: &[u8]) -> Result<Value, ApiError> {
    use super::unique_members::Refused;
    let malformed = |line: usize, column: usize, reason: String| {
        ApiError::new(ErrorCode::MalformedJson).detail("line", line).detail("column", column).detail("reason", reason)
    };
    super::unique_members::from_slice(bytes).map_err(|refused| match refused {
        Refused::Syntax(e) => malformed(e.line(), e.column(), e.to_string()),
        Refused::Duplicate { error: e, member } => malformed(e.line(), e.column(), e.to_string())
            .message(format!("The member `{member}` appears twice in one object"))
            .detail("member", member),
        Refused::Inexact(n) => {
            let reason = format!("integer out of range at line {} column {}", n.line, n.column);
            malformed(n.line, n.column, reason)
                .message(format!(
                    "The integer {} has more digits than 64 bits hold, and would be stored rounded; send it as a string",
                    shortened(&n.literal)
                ))
                .detail("number", shortened(&n.literal))
        }
    })
}

/// A number quoted in an error, cut to a readable length (a body may hold a megabyte of digits).
fn shortened(literal: &str) -> String {
    match literal.get(..40) {
        Some(head) if literal.len() > 40 => format!("{head}..."),
        _ => literal.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::parse;

    /// A long integer is named by its first 40 digits, not echoed whole (past about 309 digits
    /// it is not even a float, and serde_json's "number out of range" refuses it).
    #[test]
    fn a_huge_integer_is_named_shortly() {
        let body = format!("{{\"n\":{}}}", "9".repeat(300));
        let error = parse(body.as_bytes()).unwrap_err();
        let number = error.detail_value("number").and_then(|n| n.as_str()).unwrap().to_owned();
        assert_eq!(number, format!("{}...", "9".repeat(40)));
        assert!(error.detail_value("column").is_some());
        let beyond = format!("{{\"n\":{}}}", "9".repeat(100_000));
        assert!(parse(beyond.as_bytes()).unwrap_err().detail_value("reason").is_some());
    }
}
