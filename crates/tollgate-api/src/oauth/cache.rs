//! Tokens whose signature and claims already verified, by SHA-256 of the token, so that a
//! client reusing its token (the common case) costs one hash instead of an RSA verification.
//! Only the signature work is cached: expiry and revocation are still checked every time.

use std::collections::HashMap;
use std::sync::Mutex;

use sha2::{Digest, Sha256};
use tollgate_auth::jwt::AccessClaims;

/// Most entries kept; the cache empties when it is full, which bounds memory simply.
const CAPACITY: usize = 10_000;

/// The cache.
#[derive(Default)]
pub struct VerifiedTokens {
    entries: Mutex<HashMap<[u8; 32], AccessClaims>>,
}

impl VerifiedTokens {
    /// The claims of `token` if it verified before and has not expired (with `leeway`).
    pub fn get(&self, token: &str, now: i64, leeway: u64) -> Option<AccessClaims> {
        let key: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.get(&key).filter(|c| c.exp + leeway as i64 > now).cloned()
    }

    /// Remembers that `token` verified to `claims`.
    pub fn insert(&self, token: &str, claims: &AccessClaims) {
        let key: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= CAPACITY {
            entries.clear();
        }
        entries.insert(key, claims.clone());
    }
}
