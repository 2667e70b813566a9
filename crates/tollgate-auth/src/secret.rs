//! Secret tokens: `prefix`, then 40 random base62 characters from the OS CSPRNG (about 238
//! bits), then a 6-character base62 CRC32 of the random part. The checksum lets the server and secret
//! scanners reject typos and fakes without a lookup; only the SHA-256 digest is stored.

use rand::{Rng, TryRngCore};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::base62::{encode_padded, is_base62, ALPHABET};
use crate::AuthError;
use tollgate_core::{ClientId, CredentialKind};

const RANDOM_LEN: usize = 40;
const CHECKSUM_LEN: usize = 6;

/// Which kind of secret a token is; each has its own never-changing prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretKind {
    /// An API key: `tgk_`.
    ApiKey,
    /// An OAuth client secret: `tgs_`.
    ClientSecret,
}

impl SecretKind {
    /// The prefix.
    pub fn prefix(self) -> &'static str {
        match self {
            SecretKind::ApiKey => "tgk_",
            SecretKind::ClientSecret => "tgs_",
        }
    }

    /// Whether `hint` is what [`SecretToken::hint`] writes for a secret of this kind: the
    /// prefix, `...` and four base62 characters (an import checks the hints it is given).
    pub fn is_hint(self, hint: &str) -> bool {
        let last = hint.strip_prefix(self.prefix()).and_then(|rest| rest.strip_prefix("..."));
        last.is_some_and(|last| last.len() == 4 && is_base62(last))
    }
}

/// The kind of secret a credential of `kind` has.
impl From<CredentialKind> for SecretKind {
    fn from(kind: CredentialKind) -> Self {
        match kind {
            CredentialKind::ApiKey => SecretKind::ApiKey,
            CredentialKind::OAuthClient => SecretKind::ClientSecret,
        }
    }
}

/// A secret in memory. `Debug` is redacted; only [`SecretToken::expose`] shows it.
#[derive(Debug)]
pub struct SecretToken(SecretString);

/// SHA-256 of a secret: what is stored and looked up.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SecretDigest(pub [u8; 32]);

impl std::fmt::Debug for SecretDigest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretDigest(..)")
    }
}

impl SecretDigest {
    /// Compares in constant time.
    pub fn ct_eq(&self, other: &SecretDigest) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl SecretToken {
    /// Mints a new secret of `kind` from the OS CSPRNG.
    pub fn generate(kind: SecretKind) -> Self {
        let mut rng = rand::rngs::OsRng.unwrap_err();
        let random: String = (0..RANDOM_LEN).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char).collect();
        let checksum = encode_padded(u64::from(crc32fast::hash(random.as_bytes())), CHECKSUM_LEN);
        Self(SecretString::from(format!("{}{random}{checksum}", kind.prefix())))
    }

    /// Checks prefix, length, alphabet and checksum. Does not touch storage.
    pub fn parse(kind: SecretKind, s: &str) -> Result<Self, AuthError> {
        let body = s.strip_prefix(kind.prefix()).ok_or(AuthError::Malformed)?;
        if body.len() != RANDOM_LEN + CHECKSUM_LEN || !is_base62(body) {
            return Err(AuthError::Malformed);
        }
        let (random, checksum) = body.split_at(RANDOM_LEN);
        let expected = encode_padded(u64::from(crc32fast::hash(random.as_bytes())), CHECKSUM_LEN);
        if !bool::from(expected.as_bytes().ct_eq(checksum.as_bytes())) {
            return Err(AuthError::Malformed);
        }
        Ok(Self(SecretString::from(s.to_owned())))
    }

    /// The secret itself, to show once or to send.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    /// The digest to store or look up.
    pub fn digest(&self) -> SecretDigest {
        digest_of(self.expose())
    }

    /// A non-secret hint for people: prefix, an ellipsis and the last four characters.
    pub fn hint(&self) -> String {
        let s = self.expose();
        format!("{}...{}", &s[..4], &s[s.len() - 4..])
    }
}

/// SHA-256 of `s`.
pub fn digest_of(s: &str) -> SecretDigest {
    SecretDigest(Sha256::digest(s.as_bytes()).into())
}

/// Mints an OAuth client id: `tgc_` + 24 random base62 characters.
pub fn generate_client_id() -> ClientId {
    let mut rng = rand::rngs::OsRng.unwrap_err();
    let body: String = (0..24).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char).collect();
    ClientId::parse(&format!("{}{body}", ClientId::PREFIX)).expect("generated client ids are well-formed")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let t = SecretToken::generate(SecretKind::ApiKey);
        let s = t.expose();
        assert!(s.starts_with("tgk_"));
        assert_eq!(s.len(), 4 + 40 + 6);
        let parsed = SecretToken::parse(SecretKind::ApiKey, s).unwrap();
        assert!(parsed.digest().ct_eq(&t.digest()));
        assert!(!format!("{t:?}").contains(&s[4..]));
    }

    #[test]
    fn refuses_typos_and_wrong_kinds() {
        let t = SecretToken::generate(SecretKind::ApiKey);
        let s = t.expose().to_owned();
        let mut typo = s.clone().into_bytes();
        typo[10] = if typo[10] == b'a' { b'b' } else { b'a' };
        let typo = String::from_utf8(typo).unwrap();
        assert_eq!(SecretToken::parse(SecretKind::ApiKey, &typo).unwrap_err(), AuthError::Malformed);
        assert!(SecretToken::parse(SecretKind::ClientSecret, &s).is_err());
        assert!(SecretToken::parse(SecretKind::ApiKey, "tgk_short").is_err());
        assert!(SecretToken::parse(SecretKind::ApiKey, &format!("{s}x")).is_err());
        assert!(SecretToken::parse(SecretKind::ApiKey, "").is_err());
    }

    #[test]
    fn hints_are_recognised_by_kind() {
        for kind in [SecretKind::ApiKey, SecretKind::ClientSecret] {
            assert!(kind.is_hint(&SecretToken::generate(kind).hint()));
        }
        let hint = SecretToken::generate(SecretKind::ApiKey).hint();
        assert!(!SecretKind::ClientSecret.is_hint(&hint));
        for bad in ["", "tgk_", "tgk_...abc", "tgk_...abcde", "tgk_..ab.c", "tgk_...a\u{0}bc", "x\ntgk_...abcd"] {
            assert!(!SecretKind::ApiKey.is_hint(bad), "{bad:?}");
        }
    }
}
