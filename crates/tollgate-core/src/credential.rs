//! Credentials' metadata: API keys and OAuth clients share one shape (a name, scopes, a
//! current secret and, during a rotation's grace period, previous ones). Everything about a
//! credential except its secret, which only the auth crate mints; only digests are stored.

use std::fmt;

use time::{Duration, OffsetDateTime};

use crate::ids::{ClientId, KeyId, ProjectId};
use crate::limit::Limit;
use crate::scope::Scopes;

/// Which kind of credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CredentialKind {
    /// An API key (`key_` id, `tgk_` secret).
    ApiKey,
    /// An OAuth 2.0 client (`tgc_` client id, `tgs_` secret).
    OAuthClient,
}

impl CredentialKind {
    /// Stored and logged form.
    pub fn as_str(self) -> &'static str {
        match self {
            CredentialKind::ApiKey => "api_key",
            CredentialKind::OAuthClient => "oauth_client",
        }
    }
}

/// Longest credential name, in characters.
pub const MAX_CREDENTIAL_NAME_CHARS: usize = 100;

/// Checks a credential's name (a label for people): 1-100 characters, no control characters.
/// Every path that names a credential (the API, the CLI, import) goes through it.
pub fn check_credential_name(name: &str) -> Result<(), String> {
    if name.chars().any(char::is_control) {
        Err("must not contain control characters".into())
    } else if !(1..=MAX_CREDENTIAL_NAME_CHARS).contains(&name.chars().count()) {
        Err(format!("must be a string of 1-{MAX_CREDENTIAL_NAME_CHARS} characters"))
    } else {
        Ok(())
    }
}

/// A credential's public identifier.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CredentialId {
    /// `key_` + ULID.
    ApiKey(KeyId),
    /// `tgc_` + 24 base62.
    OAuthClient(ClientId),
}

impl CredentialId {
    /// Which kind it identifies.
    pub fn kind(&self) -> CredentialKind {
        match self {
            CredentialId::ApiKey(_) => CredentialKind::ApiKey,
            CredentialId::OAuthClient(_) => CredentialKind::OAuthClient,
        }
    }

    /// The id as text: a key's written into `buf`, a client's borrowed. No allocation.
    pub fn encode<'a>(&'a self, buf: &'a mut [u8; KeyId::TEXT_LEN]) -> &'a str {
        match self {
            CredentialId::ApiKey(id) => id.encode(buf),
            CredentialId::OAuthClient(id) => id.as_str(),
        }
    }

    /// Parses either form by its prefix.
    pub fn parse(s: &str) -> Option<Self> {
        KeyId::parse(s).map(CredentialId::ApiKey).or_else(|| ClientId::parse(s).map(CredentialId::OAuthClient))
    }
}

impl fmt::Display for CredentialId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CredentialId::ApiKey(id) => id.fmt(f),
            CredentialId::OAuthClient(id) => id.fmt(f),
        }
    }
}

/// A credential about to be stored.
#[derive(Debug, Clone)]
pub struct NewCredential {
    /// Its identifier (minted by the caller).
    pub id: CredentialId,
    /// The project it belongs to.
    pub project_id: ProjectId,
    /// A label for people.
    pub name: String,
    /// What it may do.
    pub scopes: Scopes,
    /// When it stops working, if ever.
    pub expires_at: Option<OffsetDateTime>,
    /// Its own limits; `None` uses the server's defaults.
    pub limits: CredentialLimits,
}

/// A credential's own rate limits per route class; `None` (`null`) means the configured default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, utoipa::ToSchema)]
// Other route classes are refused by the parsers; the schema says so.
#[serde(deny_unknown_fields)]
pub struct CredentialLimits {
    /// Reads (GET).
    pub read: Option<Limit>,
    /// Writes (POST, PATCH, DELETE).
    pub write: Option<Limit>,
}

impl CredentialLimits {
    /// Parses `read=5000/h,write=500/1m` (either part may be left out; `unlimited` allowed), or
    /// one limit for both classes: `unlimited`, `5000/h`.
    pub fn parse(s: &str) -> Result<Self, String> {
        let mut limits = Self::default();
        if !s.contains('=') && !s.trim().is_empty() {
            let both = Limit::parse(s.trim())?;
            return Ok(Self { read: Some(both), write: Some(both) });
        }
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (class, value) = part.split_once('=').ok_or_else(|| format!("`{part}` is not CLASS=LIMIT"))?;
            let limit = Limit::parse(value)?;
            match class.trim() {
                "read" => limits.read = Some(limit),
                "write" => limits.write = Some(limit),
                other => return Err(format!("unknown route class `{other}` (expected read or write)")),
            }
        }
        Ok(limits)
    }
}

/// A change to a credential's limits (`PATCH /v1/keys/{id}`): per class, `None` keeps the
/// current limit, `Some(None)` returns the class to the configured default (a JSON `null`, as in
/// a merge patch), `Some(Some(limit))` sets it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LimitsPatch {
    /// Reads.
    pub read: Option<Option<Limit>>,
    /// Writes.
    pub write: Option<Option<Limit>>,
}

impl LimitsPatch {
    /// The limits after this change to `current`.
    pub fn apply(self, current: CredentialLimits) -> CredentialLimits {
        CredentialLimits { read: self.read.unwrap_or(current.read), write: self.write.unwrap_or(current.write) }
    }
}

/// Sets the classes that `limits` gives and keeps the others (the CLI's `--limit`).
impl From<CredentialLimits> for LimitsPatch {
    fn from(limits: CredentialLimits) -> Self {
        Self { read: limits.read.map(Some), write: limits.write.map(Some) }
    }
}

/// A stored credential's metadata.
#[derive(Debug, Clone, PartialEq)]
pub struct Credential {
    /// Its identifier; not secret.
    pub id: CredentialId,
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
    /// When it last authenticated (updated at most once a minute).
    pub last_used_at: Option<OffsetDateTime>,
    /// When it was revoked.
    pub revoked_at: Option<OffsetDateTime>,
    /// Its own limits.
    pub limits: CredentialLimits,
}

/// Whether a credential can be used now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialState {
    /// It authenticates requests.
    Active,
    /// Its `expires_at` has passed.
    Expired,
    /// It was revoked.
    Revoked,
}

impl CredentialState {
    /// The wire form.
    pub fn as_str(self) -> &'static str {
        match self {
            CredentialState::Active => "active",
            CredentialState::Expired => "expired",
            CredentialState::Revoked => "revoked",
        }
    }
}

impl serde::Serialize for CredentialState {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// An enum of the wire forms.
impl utoipa::PartialSchema for CredentialState {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        let all = [CredentialState::Active, CredentialState::Expired, CredentialState::Revoked];
        crate::schema::string_enum(all.iter().map(|s| s.as_str()), "Whether a credential can be used now.")
    }
}

impl utoipa::ToSchema for CredentialState {}

impl Credential {
    /// The credential's state at `now`.
    pub fn state(&self, now: OffsetDateTime) -> CredentialState {
        if self.revoked_at.is_some() {
            CredentialState::Revoked
        } else if self.expires_at.is_some_and(|e| e <= now) {
            CredentialState::Expired
        } else {
            CredentialState::Active
        }
    }

    /// True once the current secret is older than the rotation period.
    pub fn rotation_due(&self, now: OffsetDateTime, period: Duration) -> bool {
        self.state(now) == CredentialState::Active && now - self.rotated_at >= period
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_per_class_or_one_for_both() {
        let both = CredentialLimits::parse("unlimited").unwrap();
        assert_eq!((both.read, both.write), (Some(Limit::Unlimited), Some(Limit::Unlimited)));
        let hourly = CredentialLimits::parse("5000/h").unwrap();
        assert_eq!(hourly.read, hourly.write);
        assert!(hourly.read.is_some());
        let split = CredentialLimits::parse("read=5000/h, write=unlimited").unwrap();
        assert_eq!(split.write, Some(Limit::Unlimited));
        assert!(split.read.is_some_and(|r| r != Limit::Unlimited));
        assert_eq!(CredentialLimits::parse("write=2/1m").unwrap().read, None);
        assert!(CredentialLimits::parse("lots").is_err());
        assert!(CredentialLimits::parse("admin=unlimited").is_err());
    }
}
