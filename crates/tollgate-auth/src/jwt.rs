//! JWT access tokens (RFC 9068): signing keys, issuing, and verification that pins each key's
//! own algorithm (never the token's choice), requires `typ: at+jwt` and a known `kid`, and checks the signature,
//! `exp` and `nbf` (60 s leeway), `iss` and `aud`.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use ring::signature::{EcdsaKeyPair, Ed25519KeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use time::OffsetDateTime;

/// Most clock skew tolerated on `exp` and `nbf`, in seconds (the default).
pub const LEEWAY_SECONDS: u64 = 60;
/// The `typ` header of access tokens.
pub const TOKEN_TYPE: &str = "at+jwt";

/// The signing algorithms Tollgate offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SigningAlgorithm {
    /// RSA PKCS#1 v1.5 with SHA-256 (2048-bit keys): the default, as RFC 9068 expects.
    RS256,
    /// ECDSA P-256 with SHA-256.
    ES256,
    /// Ed25519.
    EdDSA,
}

impl SigningAlgorithm {
    /// The JOSE name.
    pub fn as_str(self) -> &'static str {
        match self {
            SigningAlgorithm::RS256 => "RS256",
            SigningAlgorithm::ES256 => "ES256",
            SigningAlgorithm::EdDSA => "EdDSA",
        }
    }

    fn jwt(self) -> Algorithm {
        match self {
            SigningAlgorithm::RS256 => Algorithm::RS256,
            SigningAlgorithm::ES256 => Algorithm::ES256,
            SigningAlgorithm::EdDSA => Algorithm::EdDSA,
        }
    }
}

/// Every algorithm Tollgate signs with.
const ALL: [SigningAlgorithm; 3] = [SigningAlgorithm::RS256, SigningAlgorithm::ES256, SigningAlgorithm::EdDSA];

impl fmt::Display for SigningAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SigningAlgorithm {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "RS256" => Ok(SigningAlgorithm::RS256),
            "ES256" => Ok(SigningAlgorithm::ES256),
            "EdDSA" => Ok(SigningAlgorithm::EdDSA),
            other => Err(format!("`{other}` is not one of RS256, ES256, EdDSA")),
        }
    }
}

/// A signing key as stored: the private half as DER, the public half as a JWK.
#[derive(Clone)]
pub struct SigningKeyRecord {
    /// Key id, the JWT header's `kid`.
    pub kid: String,
    /// `RS256`, `ES256` or `EdDSA`.
    pub algorithm: String,
    /// PKCS#1 DER (RSA) or PKCS#8 DER (EC, Ed25519) of the private key.
    pub private_der: Vec<u8>,
    /// The public JWK published in the JWKS.
    pub public_jwk: Value,
    /// When it was added.
    pub created_at: OffsetDateTime,
    /// When it leaves the JWKS (set when a newer key replaces it).
    pub retire_at: Option<OffsetDateTime>,
}

impl fmt::Debug for SigningKeyRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKeyRecord").field("kid", &self.kid).field("algorithm", &self.algorithm).finish()
    }
}

/// Mints a new signing key for `alg`.
pub fn generate_signing_key(alg: SigningAlgorithm) -> Result<SigningKeyRecord, String> {
    let kid = format!("sk_{}", ulid::Ulid::new());
    let b64 = |b: &[u8]| URL_SAFE_NO_PAD.encode(b);
    let (private_der, jwk) = match alg {
        SigningAlgorithm::RS256 => {
            use rsa::pkcs1::EncodeRsaPrivateKey;
            use rsa::traits::PublicKeyParts;
            let key = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).map_err(|e| e.to_string())?;
            let der = key.to_pkcs1_der().map_err(|e| e.to_string())?.as_bytes().to_vec();
            let jwk = json!({"kty": "RSA", "n": b64(&key.n().to_bytes_be()), "e": b64(&key.e().to_bytes_be())});
            (der, jwk)
        }
        SigningAlgorithm::ES256 => {
            let rng = ring::rand::SystemRandom::new();
            let doc =
                EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).map_err(|e| e.to_string())?;
            let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, doc.as_ref(), &rng)
                .map_err(|e| e.to_string())?;
            // Uncompressed point: 0x04 || x (32 bytes) || y (32 bytes).
            let point = pair.public_key().as_ref();
            let jwk = json!({"kty": "EC", "crv": "P-256", "x": b64(&point[1..33]), "y": b64(&point[33..65])});
            (doc.as_ref().to_vec(), jwk)
        }
        SigningAlgorithm::EdDSA => {
            let rng = ring::rand::SystemRandom::new();
            let doc = Ed25519KeyPair::generate_pkcs8(&rng).map_err(|e| e.to_string())?;
            let pair = Ed25519KeyPair::from_pkcs8(doc.as_ref()).map_err(|e| e.to_string())?;
            let jwk = json!({"kty": "OKP", "crv": "Ed25519", "x": b64(pair.public_key().as_ref())});
            (doc.as_ref().to_vec(), jwk)
        }
    };
    let mut jwk = jwk;
    jwk["kid"] = json!(kid);
    jwk["alg"] = json!(alg.as_str());
    jwk["use"] = json!("sig");
    Ok(SigningKeyRecord {
        kid,
        algorithm: alg.as_str().to_owned(),
        private_der,
        public_jwk: jwk,
        created_at: tollgate_core::time_fmt::now(),
        retire_at: None,
    })
}

/// The claims of a Tollgate access token.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AccessClaims {
    /// Issuer: the server's public URL.
    pub iss: String,
    /// Subject: the client id.
    pub sub: String,
    /// Audience: the API's identifier.
    pub aud: String,
    /// The client id (RFC 8693).
    pub client_id: String,
    /// Space-separated scopes.
    pub scope: String,
    /// Issued at (seconds).
    pub iat: i64,
    /// Not before (seconds).
    pub nbf: i64,
    /// Expires (seconds).
    pub exp: i64,
    /// Unique token id.
    pub jti: String,
    /// The client's project id.
    pub project: String,
}

/// Why a token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// The header or payload is not a JWT.
    #[error("the token is malformed")]
    Malformed,
    /// The algorithm or `typ` is not the configured one.
    #[error("the token uses a refused algorithm or type")]
    WrongAlgorithm,
    /// No published key has this `kid`.
    #[error("the token's signing key is unknown")]
    UnknownKey,
    /// The signature, issuer, audience or time checks failed.
    #[error("the token is invalid: {0}")]
    Invalid(String),
    /// It has expired.
    #[error("the token has expired")]
    Expired,
}

/// The keys a server signs and verifies with. It signs with the configured algorithm's current
/// key only, and verifies with every published key, each pinned to its own algorithm: after
/// `jwt_algorithm` changes, tokens signed with the previous algorithm's key stay valid until
/// that key retires, and a token can never choose the algorithm its key is used with.
pub struct KeySet {
    algorithm: SigningAlgorithm,
    signing: Option<(String, EncodingKey)>,
    verifying: HashMap<String, (SigningAlgorithm, DecodingKey)>,
    jwks: Value,
}

impl KeySet {
    /// Builds from stored records (newest first); signs with the newest unretired key of
    /// `algorithm`.
    pub fn new(algorithm: SigningAlgorithm, records: &[SigningKeyRecord]) -> Self {
        let mut set = KeySet { algorithm, signing: None, verifying: HashMap::new(), jwks: json!({"keys": []}) };
        let mut published = Vec::new();
        for r in records {
            let Ok(alg) = r.algorithm.parse::<SigningAlgorithm>() else { continue };
            let Some(decoding) = decoding_key(alg, &r.public_jwk) else {
                continue;
            };
            if alg == algorithm && set.signing.is_none() && r.retire_at.is_none() {
                set.signing = Some((r.kid.clone(), encoding_key(algorithm, &r.private_der)));
            }
            set.verifying.insert(r.kid.clone(), (alg, decoding));
            published.push(r.public_jwk.clone());
        }
        set.jwks = json!({ "keys": published });
        set
    }

    /// Whether a key is available to sign with.
    pub fn can_sign(&self) -> bool {
        self.signing.is_some()
    }

    /// Whether `kid` is one of the verification keys.
    pub fn knows(&self, kid: &str) -> bool {
        self.verifying.contains_key(kid)
    }

    /// The JWK Set to publish.
    pub fn jwks(&self) -> &Value {
        &self.jwks
    }

    /// Signs `claims` as an `at+jwt`.
    pub fn issue(&self, claims: &AccessClaims) -> Result<String, String> {
        let (kid, key) = self.signing.as_ref().ok_or("no signing key")?;
        let mut header = Header::new(self.algorithm.jwt());
        header.typ = Some(TOKEN_TYPE.to_owned());
        header.kid = Some(kid.clone());
        jsonwebtoken::encode(&header, claims, key).map_err(|e| e.to_string())
    }

    /// Verifies `token` for `issuer` and `audience`, tolerating `leeway` seconds of clock skew
    /// (capped at [`LEEWAY_SECONDS`]).
    pub fn verify(&self, token: &str, issuer: &str, audience: &str, leeway: u64) -> Result<AccessClaims, TokenError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::Malformed)?;
        // Only the asymmetric algorithms Tollgate signs with: never HS256 and friends.
        if !ALL.iter().any(|a| a.jwt() == header.alg) {
            return Err(TokenError::WrongAlgorithm);
        }
        if !matches!(header.typ.as_deref(), Some("at+jwt") | Some("application/at+jwt")) {
            return Err(TokenError::WrongAlgorithm);
        }
        let kid = header.kid.ok_or(TokenError::UnknownKey)?;
        let (alg, key) = self.verifying.get(&kid).ok_or(TokenError::UnknownKey)?;
        // The key decides the algorithm, not the token.
        if alg.jwt() != header.alg {
            return Err(TokenError::WrongAlgorithm);
        }
        let mut validation = Validation::new(alg.jwt());
        validation.leeway = leeway.min(LEEWAY_SECONDS);
        validation.validate_nbf = true;
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
        jsonwebtoken::decode::<AccessClaims>(token, key, &validation).map(|d| d.claims).map_err(|e| match e.kind() {
            jsonwebtoken::errors::ErrorKind::ExpiredSignature => TokenError::Expired,
            jsonwebtoken::errors::ErrorKind::Json(_) | jsonwebtoken::errors::ErrorKind::Base64(_) => {
                TokenError::Malformed
            }
            other => TokenError::Invalid(format!("{other:?}")),
        })
    }
}

fn encoding_key(alg: SigningAlgorithm, der: &[u8]) -> EncodingKey {
    match alg {
        SigningAlgorithm::RS256 => EncodingKey::from_rsa_der(der),
        SigningAlgorithm::ES256 => EncodingKey::from_ec_der(der),
        SigningAlgorithm::EdDSA => EncodingKey::from_ed_der(der),
    }
}

fn decoding_key(alg: SigningAlgorithm, jwk: &Value) -> Option<DecodingKey> {
    let s = |k: &str| jwk[k].as_str();
    match alg {
        SigningAlgorithm::RS256 => DecodingKey::from_rsa_components(s("n")?, s("e")?).ok(),
        SigningAlgorithm::ES256 => DecodingKey::from_ec_components(s("x")?, s("y")?).ok(),
        SigningAlgorithm::EdDSA => DecodingKey::from_ed_components(s("x")?).ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp_in: i64) -> AccessClaims {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        AccessClaims {
            iss: "http://i".into(),
            sub: "tgc_x".into(),
            aud: "http://i/v1".into(),
            client_id: "tgc_x".into(),
            scope: "resource:read".into(),
            iat: now,
            nbf: now,
            exp: now + exp_in,
            jti: "j".into(),
            project: "prj_x".into(),
        }
    }

    #[test]
    fn round_trip_every_algorithm() {
        for alg in [SigningAlgorithm::RS256, SigningAlgorithm::ES256, SigningAlgorithm::EdDSA] {
            let set = KeySet::new(alg, &[generate_signing_key(alg).unwrap()]);
            // One set of claims for both sides: built twice, a second may pass between them.
            let issued = claims(60);
            let token = set.issue(&issued).unwrap();
            assert_eq!(set.verify(&token, "http://i", "http://i/v1", LEEWAY_SECONDS).unwrap(), issued);
            assert!(set.verify(&token, "http://other", "http://i/v1", LEEWAY_SECONDS).is_err());
            assert!(set.verify(&token, "http://i", "http://other", LEEWAY_SECONDS).is_err());
            let expired = set.issue(&claims(-120)).unwrap();
            assert_eq!(set.verify(&expired, "http://i", "http://i/v1", LEEWAY_SECONDS), Err(TokenError::Expired));
        }
    }

    #[test]
    fn refuses_other_algorithms_and_keys() {
        let rs = KeySet::new(SigningAlgorithm::RS256, &[generate_signing_key(SigningAlgorithm::RS256).unwrap()]);
        let es = KeySet::new(SigningAlgorithm::ES256, &[generate_signing_key(SigningAlgorithm::ES256).unwrap()]);
        let token = es.issue(&claims(60)).unwrap();
        assert_eq!(rs.verify(&token, "http://i", "http://i/v1", LEEWAY_SECONDS), Err(TokenError::UnknownKey));
        // A token naming a known key with another algorithm than the key's is refused.
        let es_key = generate_signing_key(SigningAlgorithm::ES256).unwrap();
        let both = KeySet::new(SigningAlgorithm::ES256, std::slice::from_ref(&es_key));
        let token = both.issue(&claims(60)).unwrap();
        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        parts[0] = URL_SAFE_NO_PAD.encode(json!({"alg": "RS256", "typ": "at+jwt", "kid": es_key.kid}).to_string());
        assert_eq!(both.verify(&parts.join("."), "http://i", "http://i/v1", 60), Err(TokenError::WrongAlgorithm));
        let other_rs = KeySet::new(SigningAlgorithm::RS256, &[generate_signing_key(SigningAlgorithm::RS256).unwrap()]);
        let token = other_rs.issue(&claims(60)).unwrap();
        assert_eq!(rs.verify(&token, "http://i", "http://i/v1", LEEWAY_SECONDS), Err(TokenError::UnknownKey));
    }

    #[test]
    fn keys_of_the_previous_algorithm_still_verify_but_never_sign() {
        let es = generate_signing_key(SigningAlgorithm::ES256).unwrap();
        let old = KeySet::new(SigningAlgorithm::ES256, std::slice::from_ref(&es));
        let issued = claims(60);
        let token = old.issue(&issued).unwrap();
        // The algorithm changed to RS256: the ES256 key is retiring, an RS256 key signs.
        let rs = generate_signing_key(SigningAlgorithm::RS256).unwrap();
        let retiring = SigningKeyRecord { retire_at: Some(OffsetDateTime::now_utc()), ..es };
        let set = KeySet::new(SigningAlgorithm::RS256, &[rs.clone(), retiring]);
        assert_eq!(set.verify(&token, "http://i", "http://i/v1", 60), Ok(issued));
        assert_eq!(set.jwks()["keys"].as_array().unwrap().len(), 2);
        let new = set.issue(&claims(60)).unwrap();
        assert_eq!(jsonwebtoken::decode_header(&new).unwrap().kid.as_deref(), Some(rs.kid.as_str()));
        // With only a key of another algorithm, nothing can sign.
        assert!(!KeySet::new(SigningAlgorithm::RS256, &[old_record()]).can_sign());
    }

    fn old_record() -> SigningKeyRecord {
        generate_signing_key(SigningAlgorithm::EdDSA).unwrap()
    }
}
