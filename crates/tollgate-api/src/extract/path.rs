//! Path segments. A malformed id, or a segment that is not UTF-8 once percent-decoded (`%ff`),
//! names nothing: it is answered exactly like a missing one (404 with the error envelope),
//! without a query, where axum's own `Path` answers a plain-text 400.

use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use tollgate_core::webhook::{is_delivery_id, is_webhook_id};
use tollgate_core::{CredentialId, ResourceId};

use crate::error::ApiError;

/// Path segments as text (names and ids the handler looks up itself), or a tuple of them.
pub struct PathText<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for PathText<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Path::<T>::from_request_parts(parts, state).await.map(|Path(t)| Self(t)).map_err(|_| ApiError::not_found())
    }
}

/// `{id}` of a resource route.
pub struct ResourcePath(pub ResourceId);

/// `{id}` of a key or client route (either kind parses; the handler checks which it wants).
pub struct CredentialPath(pub CredentialId);

/// `{id}` of a webhook route: `whk_` + ULID.
pub struct WebhookPath(pub String);

/// `{id}` and `{delivery}` of a delivery route: `whk_` + ULID and `dlv_` + ULIDs.
pub struct DeliveryPath {
    /// The endpoint.
    pub endpoint: String,
    /// The delivery.
    pub delivery: String,
}

async fn raw_id<S: Send + Sync>(parts: &mut Parts, state: &S) -> Result<String, ApiError> {
    PathText::<String>::from_request_parts(parts, state).await.map(|PathText(id)| id)
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

impl<S: Send + Sync> FromRequestParts<S> for WebhookPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let raw = raw_id(parts, state).await?;
        is_webhook_id(&raw).then_some(Self(raw)).ok_or_else(ApiError::not_found)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for DeliveryPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let PathText((endpoint, delivery)) = PathText::<(String, String)>::from_request_parts(parts, state).await?;
        let valid = is_webhook_id(&endpoint) && is_delivery_id(&delivery);
        valid.then_some(Self { endpoint, delivery }).ok_or_else(ApiError::not_found)
    }
}
