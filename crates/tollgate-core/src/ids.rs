//! Prefixed, time-sortable identifiers (`res_` + ULID and friends). Parsing checks the prefix
//! and the ULID body, so a malformed id never reaches a query.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use ulid::Ulid;

/// A ULID greater than every one this process minted before, even within one millisecond (a
/// plain ULID's random part would order those at random), so that id order is creation order.
pub fn monotonic_ulid() -> Ulid {
    static GENERATOR: std::sync::Mutex<Option<ulid::Generator>> = std::sync::Mutex::new(None);
    let mut generator = GENERATOR.lock().unwrap_or_else(|p| p.into_inner());
    // The random part overflows only after 2^80 ids in one millisecond; a fresh ULID then.
    generator.get_or_insert_with(ulid::Generator::new).generate().unwrap_or_else(|_| Ulid::new())
}

/// A ULID whose order within a millisecond does not matter (request ids): no shared lock, which
/// every request would take.
fn plain_ulid() -> Ulid {
    Ulid::new()
}

/// Whether `s` is `prefix` + a ULID in its canonical spelling: the one test of every kind of
/// id the server mints (the types below, and the event, webhook and delivery ids).
pub(crate) fn is_prefixed_ulid(s: &str, prefix: &str) -> bool {
    s.strip_prefix(prefix).is_some_and(canonical_ulid)
}

/// A ULID in its canonical spelling: 26 characters of Crockford's upper-case base32, the first
/// at most `7` (a larger one would not fit 128 bits).
pub(crate) fn canonical_ulid(body: &str) -> bool {
    const DIGIT: [bool; 256] = {
        let mut table = [false; 256];
        let digits = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
        let mut i = 0;
        while i < digits.len() {
            table[digits[i] as usize] = true;
            i += 1;
        }
        table
    };
    let b = body.as_bytes();
    b.len() == ulid::ULID_LEN && b[0] <= b'7' && b.iter().all(|&c| DIGIT[usize::from(c)])
}

macro_rules! prefixed_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal, $mint:path) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(Ulid);

        impl $name {
            /// The prefix every id of this kind starts with.
            pub const PREFIX: &'static str = $prefix;
            /// The length of every id of this kind as text.
            pub const TEXT_LEN: usize = $prefix.len() + ulid::ULID_LEN;

            /// The id as text, written into `buf`: ids are spelled out on every request (the
            /// credential, the log line's project), and this needs no allocation.
            pub fn encode<'b>(&self, buf: &'b mut [u8; Self::TEXT_LEN]) -> &'b str {
                let (prefix, body) = buf.split_at_mut(Self::PREFIX.len());
                prefix.copy_from_slice(Self::PREFIX.as_bytes());
                let body: &mut [u8; ulid::ULID_LEN] = body.try_into().expect("TEXT_LEN is the prefix and a ULID");
                self.0.array_to_str(body);
                std::str::from_utf8(buf).expect("a prefix and base32")
            }

            /// Mints a new id.
            pub fn generate() -> Self {
                Self($mint())
            }

            /// Parses `prefix` + 26-character ULID; anything else is `None`.
            pub fn parse(s: &str) -> Option<Self> {
                let body = s.strip_prefix(Self::PREFIX)?;
                if body.len() != 26 {
                    return None;
                }
                let ulid = Ulid::from_string(body).ok()?;
                // Only the canonical upper-case spelling is an id, so that one resource has one id.
                (ulid.array_to_str(&mut [0; ulid::ULID_LEN]) == body).then_some(Self(ulid))
            }
        }

        impl $name {
            /// Whether `s` is what [`Self::parse`] accepts, without decoding it: a row read back
            /// is checked on every read, and the decode was a tenth of a list item's cost.
            pub fn is_valid(s: &str) -> bool {
                is_prefixed_ulid(s, Self::PREFIX)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                // One plain write: ids are formatted on every request (responses, logs).
                f.write_str(self.encode(&mut [0; Self::TEXT_LEN]))
            }
        }

        impl FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s).ok_or_else(|| format!("not a valid {} id", Self::PREFIX))
            }
        }

        impl TryFrom<String> for $name {
            type Error = String;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                s.parse()
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                // At its exact size, where `to_string` grows the string on the way.
                id.encode(&mut [0; $name::TEXT_LEN]).to_owned()
            }
        }
    };
}

prefixed_id!(
    /// Identifies a resource: `res_` + ULID, minted in order, so id order is creation order.
    ResourceId,
    "res_",
    monotonic_ulid
);
prefixed_id!(
    /// Identifies an API key (not secret): `key_` + ULID.
    KeyId,
    "key_",
    plain_ulid
);
prefixed_id!(
    /// Identifies a project: `prj_` + ULID.
    ProjectId,
    "prj_",
    plain_ulid
);
prefixed_id!(
    /// Identifies a request when the caller sent no `X-Request-Id` of its own: `req_` + ULID.
    RequestId,
    "req_",
    plain_ulid
);

/// Identifies an OAuth client: `tgc_` + 24 base62 characters. Public, not secret.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClientId(String);

impl ClientId {
    /// The prefix.
    pub const PREFIX: &'static str = "tgc_";
    const BODY_LEN: usize = 24;

    /// Parses `tgc_` + 24 characters of `[0-9A-Za-z]`.
    pub fn parse(s: &str) -> Option<Self> {
        let body = s.strip_prefix(Self::PREFIX)?;
        (body.len() == Self::BODY_LEN && body.bytes().all(|b| b.is_ascii_alphanumeric())).then(|| Self(s.to_owned()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod monotonic_tests {
    #[test]
    fn ids_minted_in_a_row_sort_in_that_order() {
        let ids: Vec<_> = (0..10_000).map(|_| super::ResourceId::generate()).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_sorts_by_time() {
        let a = ResourceId::generate();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let b = ResourceId::generate();
        assert!(a.to_string() < b.to_string());
        assert_eq!(ResourceId::parse(&a.to_string()), Some(a));
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "",
            "res_",
            "key_01ARZ3NDEKTSV4RRFFQ69G5FAV",
            "res_01arz3ndektsv4rrffq69g5fav",
            "../etc/passwd",
            "' OR 1=1 --",
            "res_01ARZ3NDEKTSV4RRFFQ69G5FAVX",
        ] {
            assert_eq!(ResourceId::parse(bad), None, "{bad}");
        }
        assert!(ResourceId::parse("res_01ARZ3NDEKTSV4RRFFQ69G5FAV").is_some());
    }

    /// `is_valid` says what `parse` says, for every kind of near miss: each position changed to
    /// every byte (lower case, the letters Crockford leaves out, punctuation, non-ASCII), and
    /// the first character past `7`.
    #[test]
    fn is_valid_agrees_with_parse() {
        let good = ResourceId::generate().to_string();
        let mut tried = 0;
        for at in 0..good.len() {
            for b in 0..=255u8 {
                let mut bytes = good.clone().into_bytes();
                bytes[at] = b;
                if let Ok(s) = String::from_utf8(bytes) {
                    assert_eq!(ResourceId::is_valid(&s), ResourceId::parse(&s).is_some(), "{s:?}");
                    tried += 1;
                }
            }
        }
        assert!(tried > 30 * 100);
        for s in [
            "",
            "res_",
            "res_7ZZZZZZZZZZZZZZZZZZZZZZZZZ",
            "res_8ZZZZZZZZZZZZZZZZZZZZZZZZZ",
            "res_é1ARZ3NDEKTSV4RRFFQ69G5FA",
        ] {
            assert_eq!(ResourceId::is_valid(s), ResourceId::parse(s).is_some(), "{s:?}");
        }
        assert!(ProjectId::is_valid(&ProjectId::generate().to_string()));
        assert!(!ProjectId::is_valid(&good));
    }

    /// The three spellings of an id (on the stack, `Display`, `String`) are one text, which
    /// parses back to the id.
    #[test]
    fn an_id_spelled_on_the_stack_is_its_text() {
        for _ in 0..1000 {
            let id = ProjectId::generate();
            let text = id.encode(&mut [0; ProjectId::TEXT_LEN]).to_owned();
            assert_eq!(text, format!("{id}"));
            assert_eq!(text, String::from(id));
            assert_eq!(ProjectId::parse(&text), Some(id));
            let key = KeyId::generate();
            let credential = crate::CredentialId::ApiKey(key);
            assert_eq!(credential.encode(&mut [0; KeyId::TEXT_LEN]), key.to_string());
        }
        let client = ClientId::parse("tgc_0123456789abcdefghijKLMN").unwrap();
        let credential = crate::CredentialId::OAuthClient(client.clone());
        assert_eq!(credential.encode(&mut [0; KeyId::TEXT_LEN]), client.as_str());
    }
}
