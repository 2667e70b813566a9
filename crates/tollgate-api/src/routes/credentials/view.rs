//! The wire form of a credential's metadata (never its secret, except once at creation or
//! rotation, in [`with_secret`]).

use serde::Serialize;
use time::Duration;
use tollgate_auth::SecretToken;
use tollgate_core::time_fmt::{now, rfc3339};
use tollgate_core::{Credential, CredentialId, CredentialLimits, CredentialState, Scope};

use super::CredentialRoutes;

/// A credential as the API sends it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CredentialView {
    /// `key_` + ULID, or the client id `tgc_...`.
    pub id: String,
    /// For OAuth clients, the `client_id` to authenticate with (the same as `id`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// Label.
    pub name: String,
    /// Scopes.
    pub scopes: Vec<Scope>,
    /// Prefix and last four characters of the current secret.
    pub hint: String,
    /// `active`, `expired` or `revoked`.
    pub status: CredentialState,
    /// RFC 3339.
    pub created_at: String,
    /// When the current secret was issued.
    pub rotated_at: String,
    /// When it expires, if ever.
    pub expires_at: Option<String>,
    /// Last use (to within a minute).
    pub last_used_at: Option<String>,
    /// When it was revoked.
    pub revoked_at: Option<String>,
    /// True once the secret is older than the rotation period.
    pub rotation_due: bool,
    /// Its own rate limits (`null`: the server's default).
    pub limits: CredentialLimits,
}

impl CredentialView {
    /// The view of `cred`, with "rotation due" judged against `period`.
    pub fn new(cred: Credential, period: Duration) -> Self {
        let at = now();
        Self {
            id: cred.id.to_string(),
            client_id: matches!(cred.id, CredentialId::OAuthClient(_)).then(|| cred.id.to_string()),
            status: cred.state(at),
            rotation_due: cred.rotation_due(at, period),
            scopes: cred.scopes.iter().collect(),
            hint: cred.hint,
            name: cred.name,
            created_at: rfc3339(cred.created_at),
            rotated_at: rfc3339(cred.rotated_at),
            expires_at: cred.expires_at.map(rfc3339),
            last_used_at: cred.last_used_at.map(rfc3339),
            revoked_at: cred.revoked_at.map(rfc3339),
            limits: cred.limits,
        }
    }
}

/// `GET /v1/keys`, `GET /v1/clients`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CredentialList {
    /// Oldest first, revoked ones included.
    pub items: Vec<CredentialView>,
}

/// An API key with its secret, at creation or rotation: the only time the secret is shown.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ApiKeyWithSecret {
    /// The key.
    pub key: CredentialView,
    /// The key itself, `tgk_...`: send it as `X-API-Key`.
    pub secret: String,
}

/// An OAuth client with its secret, at creation or rotation: the only time the secret is shown.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ClientWithSecret {
    /// The client.
    pub client: CredentialView,
    /// The id to authenticate with at `/oauth/token`.
    pub client_id: String,
    /// The secret, `tgs_...`.
    pub client_secret: String,
}

/// The credential with its new secret, in the shape of its kind ([`ApiKeyWithSecret`] or
/// [`ClientWithSecret`]).
pub fn with_secret<K: CredentialRoutes>(cred: Credential, secret: &SecretToken, period: Duration) -> K::WithSecret {
    K::with_secret(CredentialView::new(cred, period), secret.expose().to_owned())
}
