//! API keys' metadata: everything about a key except its secret, which only the auth crate
//! mints and only its SHA-256 digest is ever stored.

use time::{Duration, OffsetDateTime};

use crate::ids::{KeyId, ProjectId};
use crate::scope::Scopes;

/// A key about to be stored.
#[derive(Debug, Clone)]
pub struct NewApiKey {
    /// The project it belongs to.
    pub project_id: ProjectId,
    /// A label for people.
    pub name: String,
    /// What it may do.
    pub scopes: Scopes,
    /// When it stops working, if ever.
    pub expires_at: Option<OffsetDateTime>,
}

/// A stored key's metadata.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiKey {
    /// `key_` + ULID; not secret.
    pub id: KeyId,
    /// The project it belongs to.
    pub project_id: ProjectId,
    /// A label for people.
    pub name: String,
    /// What it may do.
    pub scopes: Scopes,
    /// Prefix and last four characters of the current secret, to recognise it.
    pub hint: String,
    /// When it was created.
    pub created_at: OffsetDateTime,
    /// When its current secret was issued (creation or last rotation).
    pub rotated_at: OffsetDateTime,
    /// When it stops working, if ever.
    pub expires_at: Option<OffsetDateTime>,
    /// When it last authenticated a request (updated at most once a minute).
    pub last_used_at: Option<OffsetDateTime>,
    /// When it was revoked.
    pub revoked_at: Option<OffsetDateTime>,
}

/// Whether a key can be used now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyState {
    /// It authenticates requests.
    Active,
    /// Its `expires_at` has passed.
    Expired,
    /// It was revoked.
    Revoked,
}

impl KeyState {
    /// The wire form.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyState::Active => "active",
            KeyState::Expired => "expired",
            KeyState::Revoked => "revoked",
        }
    }
}

impl ApiKey {
    /// The key's state at `now`.
    pub fn state(&self, now: OffsetDateTime) -> KeyState {
        if self.revoked_at.is_some() {
            KeyState::Revoked
        } else if self.expires_at.is_some_and(|e| e <= now) {
            KeyState::Expired
        } else {
            KeyState::Active
        }
    }

    /// True once the current secret is older than the rotation period.
    pub fn rotation_due(&self, now: OffsetDateTime, period: Duration) -> bool {
        self.state(now) == KeyState::Active && now - self.rotated_at >= period
    }
}
