//! `/v1/keys` and `/v1/clients`: the API keys and OAuth clients of the caller's project, for
//! `admin` credentials. Both kinds share one shape, so one set of handlers serves both,
//! parametrised by [`CredentialRoutes`].

pub mod body;
pub mod create;
pub mod get;
pub mod list;
pub mod revoke;
pub mod rotate;
pub mod update;
pub mod view;

use tollgate_auth::{generate_client_id, SecretKind};
use tollgate_core::{CredentialId, CredentialKind, KeyId};

use crate::error::ApiError;

/// What differs between the key and the client endpoints.
pub trait CredentialRoutes: Send + Sync + 'static {
    /// The kind served.
    const KIND: CredentialKind;
    /// The kind of secret minted.
    const SECRET: SecretKind;
    /// The JSON member holding the credential in create and rotate answers.
    const NOUN: &'static str;
    /// The JSON member holding the secret in create and rotate answers.
    const SECRET_FIELD: &'static str;
    /// Mints an id.
    fn mint_id() -> CredentialId;
}

/// `/v1/keys`.
pub struct ApiKeys;
/// `/v1/clients`.
pub struct OAuthClients;

impl CredentialRoutes for ApiKeys {
    const KIND: CredentialKind = CredentialKind::ApiKey;
    const SECRET: SecretKind = SecretKind::ApiKey;
    const NOUN: &'static str = "key";
    const SECRET_FIELD: &'static str = "secret";
    fn mint_id() -> CredentialId {
        CredentialId::ApiKey(KeyId::generate())
    }
}

impl CredentialRoutes for OAuthClients {
    const KIND: CredentialKind = CredentialKind::OAuthClient;
    const SECRET: SecretKind = SecretKind::ClientSecret;
    const NOUN: &'static str = "client";
    const SECRET_FIELD: &'static str = "client_secret";
    fn mint_id() -> CredentialId {
        CredentialId::OAuthClient(generate_client_id())
    }
}

/// A path id of the other kind is answered like a missing one.
pub(crate) fn check_kind<K: CredentialRoutes>(id: &CredentialId) -> Result<(), ApiError> {
    if id.kind() == K::KIND {
        Ok(())
    } else {
        Err(ApiError::not_found())
    }
}
