//! Tokens whose signature and claims already verified, by SHA-256 of the token, so that a
//! client reusing its token (the common case) costs one hash instead of an RSA verification.
//! Only the signature work is cached: the time window (`nbf` and `exp`, with the leeway) and
//! revocation are still checked every time.

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
    /// The claims of `token` if it verified before and is valid at `now` (with `leeway`): not
    /// expired, and not before its `nbf`. A token can verify while its `nbf` is within the
    /// leeway and be asked about again later with a different clock, so both ends are checked.
    pub fn get(&self, token: &str, now: i64, leeway: u64) -> Option<AccessClaims> {
        let key: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let leeway = leeway as i64;
        entries.get(&key).filter(|c| c.exp + leeway > now && c.nbf - leeway <= now).cloned()
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

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(nbf: i64, exp: i64) -> AccessClaims {
        AccessClaims {
            iss: "http://i".into(),
            sub: "tgc_x".into(),
            aud: "http://i/v1".into(),
            client_id: "tgc_x".into(),
            scope: "resource:read".into(),
            iat: nbf,
            nbf,
            exp,
            jti: "j".into(),
            project: "prj_x".into(),
        }
    }

    #[test]
    fn a_cached_token_is_not_valid_before_its_nbf() {
        let cache = VerifiedTokens::default();
        let now = 1_000_000;
        cache.insert("t", &claims(now + 600, now + 3600));
        assert_eq!(cache.get("t", now, 60), None, "nbf ten minutes ahead");
        assert_eq!(cache.get("t", now + 539, 60), None, "still before nbf - leeway");
        assert!(cache.get("t", now + 540, 60).is_some(), "within the leeway of nbf");
        assert!(cache.get("t", now + 600, 0).is_some(), "at nbf");
    }

    #[test]
    fn a_cached_token_is_not_valid_after_its_exp() {
        let cache = VerifiedTokens::default();
        cache.insert("t", &claims(0, 100));
        assert!(cache.get("t", 99, 0).is_some());
        assert_eq!(cache.get("t", 100, 0), None);
        assert!(cache.get("t", 159, 60).is_some());
        assert_eq!(cache.get("t", 160, 60), None);
    }
}
