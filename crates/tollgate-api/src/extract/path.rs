//! Path ids. A malformed id is answered exactly like a missing one (404), without a query.

use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use tollgate_core::{CredentialId, ResourceId};

use crate::error::ApiError;

/// `{id}` of a resource route.
pub struct ResourcePath(pub ResourceId);

/// `{id}` of a key or client route (either kind parses; the handler checks which it wants).
pub struct CredentialPath(pub CredentialId);

async fn raw_id<S: Send + Sync>(parts: &mut Parts, state: &S) -> Result<String, ApiError> {
    Path::<String>::from_request_parts(parts, state).await.map(|Path(id)| id).map_err(|_| ApiError::not_found())
}

impl<S: Send + Sync> FromRequestParts<S> for ResourcePath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let raw = raw_id(parts, state).await?;
        ResourceId::parse(&raw).map(Self).ok_or_else(ApiError::not_found)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for CredentialPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let raw = raw_id(parts, state).await?;
        CredentialId::parse(&raw).map(Self).ok_or_else(ApiError::not_found)
    }
}
