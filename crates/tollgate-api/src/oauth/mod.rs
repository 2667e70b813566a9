//! The authorization server's moving parts that are not HTTP: the signing-key cache and
//! access-token verification with revocation checks.

pub mod cache;
pub mod keys;
pub mod verify;
