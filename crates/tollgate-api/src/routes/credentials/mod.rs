//! `/v1/keys` and `/v1/clients`: the API keys and OAuth clients of the caller's project, for
//! `admin` credentials. Both kinds share one shape, so one generic handler per verb serves both,
//! parametrised by [`CredentialRoutes`]; each verb file also holds the two routed handlers
//! (`create_api_key`, `create_client`, ...) that name the operation and carry its description.

pub mod body;
pub mod create;
pub mod get;
pub mod list;
pub mod revoke;
pub mod rotate;
pub mod update;
pub mod view;

use serde::Serialize;
use tollgate_auth::{generate_client_id, SecretKind};
use tollgate_core::{CredentialId, CredentialKind, KeyId};

use self::view::{ApiKeyWithSecret, ClientWithSecret, CredentialView};
use crate::error::ApiError;

/// What differs between the key and the client endpoints.
pub trait CredentialRoutes: Send + Sync + 'static {
    /// The kind served.
    const KIND: CredentialKind;
    /// The kind of secret minted.
    const SECRET: SecretKind;
    /// The create and rotate answer: the credential with its new secret.
    type WithSecret: Serialize + Send;
    /// Mints an id.
    fn mint_id() -> CredentialId;
    /// The create and rotate answer for `view` and its new `secret`.
    fn with_secret(view: CredentialView, secret: String) -> Self::WithSecret;
}

/// `/v1/keys`.
pub struct ApiKeys;
/// `/v1/clients`.
pub struct OAuthClients;

impl CredentialRoutes for ApiKeys {
    const KIND: CredentialKind = CredentialKind::ApiKey;
    const SECRET: SecretKind = SecretKind::ApiKey;
    type WithSecret = ApiKeyWithSecret;
    fn mint_id() -> CredentialId {
        CredentialId::ApiKey(KeyId::generate())
    }
    fn with_secret(key: CredentialView, secret: String) -> ApiKeyWithSecret {
        ApiKeyWithSecret { key, secret }
    }
}

impl CredentialRoutes for OAuthClients {
    const KIND: CredentialKind = CredentialKind::OAuthClient;
    const SECRET: SecretKind = SecretKind::ClientSecret;
    type WithSecret = ClientWithSecret;
    fn mint_id() -> CredentialId {
        CredentialId::OAuthClient(generate_client_id())
    }
    fn with_secret(client: CredentialView, client_secret: String) -> ClientWithSecret {
        ClientWithSecret { client_id: client.id.clone(), client, client_secret }
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
