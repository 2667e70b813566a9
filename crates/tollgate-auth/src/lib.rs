//! Credentials: minting and parsing API-key secrets (`tgk_` + 40 base62 + 6-character CRC32
//! checksum), hashing them for storage, and comparing digests in constant time. A malformed
//! secret is refused here, before any database lookup.

pub mod base62;
pub mod jwt;
pub mod secret;

pub use secret::{generate_client_id, SecretDigest, SecretKind, SecretToken};

/// Why a presented credential was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No credential was sent.
    #[error("no credential was sent")]
    Missing,
    /// The credential does not have the documented shape or its checksum is wrong.
    #[error("the credential is malformed")]
    Malformed,
    /// No such credential, or it was revoked.
    #[error("the credential is not valid")]
    Invalid,
    /// The credential has expired.
    #[error("the credential has expired")]
    Expired,
}

impl AuthError {
    /// A short machine-readable reason for logs, metrics and `details.reason`.
    pub fn reason(self) -> &'static str {
        match self {
            AuthError::Missing => "missing",
            AuthError::Malformed => "malformed",
            AuthError::Invalid => "invalid",
            AuthError::Expired => "expired",
        }
    }
}
