//! The wire form of a credential's metadata (never its secret, except once at creation or
//! rotation, in [`with_secret`]).

use serde::Serialize;
use serde_json::{json, Value};
use time::Duration;
use tollgate_auth::SecretToken;
use tollgate_core::time_fmt::{now, rfc3339};
use tollgate_core::{Credential, CredentialId};

use super::CredentialRoutes;

/// A credential as the API sends it.
#[derive(Debug, Serialize)]
pub struct CredentialView {
    /// `key_` + ULID, or the client id `tgc_...`.
    pub id: String,
    /// For OAuth clients, the `client_id` to authenticate with (the same as `id`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// Label.
    pub name: String,
    /// Scopes.
    pub scopes: Vec<&'static str>,
    /// Prefix and last four characters of the current secret.
    pub hint: String,
    /// `active`, `expired` or `revoked`.
    pub status: &'static str,
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
    pub limits: Value,
}

impl CredentialView {
    /// The view of `cred`, with "rotation due" judged against `period`.
    pub fn new(cred: Credential, period: Duration) -> Self {
        let at = now();
        Self {
            id: cred.id.to_string(),
            client_id: matches!(cred.id, CredentialId::OAuthClient(_)).then(|| cred.id.to_string()),
            status: cred.state(at).as_str(),
            rotation_due: cred.rotation_due(at, period),
            scopes: cred.scopes.iter().map(|s| s.as_str()).collect(),
            hint: cred.hint,
            name: cred.name,
            created_at: rfc3339(cred.created_at),
            rotated_at: rfc3339(cred.rotated_at),
            expires_at: cred.expires_at.map(rfc3339),
            last_used_at: cred.last_used_at.map(rfc3339),
            revoked_at: cred.revoked_at.map(rfc3339),
            limits: json!({
                "read": cred.limits.read.map(|l| l.to_string()),
                "write": cred.limits.write.map(|l| l.to_string()),
            }),
        }
    }
}

/// `{"key": view, "secret": "tgk_..."}` or `{"client": view, "client_id": .., "client_secret": ..}`.
pub fn with_secret<K: CredentialRoutes>(cred: Credential, secret: &SecretToken, period: Duration) -> Value {
    let id = cred.id.to_string();
    let mut body = json!({ K::NOUN: CredentialView::new(cred, period), K::SECRET_FIELD: secret.expose() });
    if K::NOUN == "client" {
        body["client_id"] = json!(id);
    }
    body
}
