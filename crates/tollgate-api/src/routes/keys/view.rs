//! The wire form of an API key's metadata (never its secret, except once at creation or rotation).

use serde::Serialize;
use time::Duration;
use tollgate_core::time_fmt::{now, rfc3339};
use tollgate_core::ApiKey;

/// A key as the API sends it.
#[derive(Debug, Serialize)]
pub struct KeyView {
    /// `key_` + ULID.
    pub id: String,
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
}

impl KeyView {
    /// The view of `key`, with "rotation due" judged against `period`.
    pub fn new(key: ApiKey, period: Duration) -> Self {
        let at = now();
        Self {
            id: key.id.to_string(),
            status: key.state(at).as_str(),
            rotation_due: key.rotation_due(at, period),
            scopes: key.scopes.iter().map(|s| s.as_str()).collect(),
            hint: key.hint,
            name: key.name,
            created_at: rfc3339(key.created_at),
            rotated_at: rfc3339(key.rotated_at),
            expires_at: key.expires_at.map(rfc3339),
            last_used_at: key.last_used_at.map(rfc3339),
            revoked_at: key.revoked_at.map(rfc3339),
        }
    }
}

/// A key with its secret, shown once.
#[derive(Debug, Serialize)]
pub struct KeyWithSecret {
    /// The key.
    pub key: KeyView,
    /// The secret; it cannot be shown again.
    pub secret: String,
}
