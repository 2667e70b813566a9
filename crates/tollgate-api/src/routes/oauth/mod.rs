//! The OAuth 2.0 authorization server: the token endpoint (RFC 6749 section 4.4, client
//! credentials), revocation (RFC 7009), introspection (RFC 7662), and discovery (RFC 8414
//! metadata and the JWK Set). Errors here use RFC 6749 section 5.2 bodies, not the envelope.

pub mod client_auth;
pub mod introspect;
pub mod metadata;
pub mod params;
pub mod revoke;
pub mod token;
