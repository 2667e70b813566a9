//! Everything Tollgate keeps, behind one [`Store`] made of one trait per area of the service
//! ([`ResourceStore`], [`TypeStore`], [`CredentialStore`], [`TokenStore`], [`ProjectStore`], [`OutboxStore`],
//! [`TransferStore`], [`UsageStore`]). Each area's rules (what a write checks, which events and idempotency
//! records go with it) are written once, in that area's module, against [`conn::Conn`]; a
//! backend supplies only connections and transactions: SQLite (embedded, the default) in
//! [`sqlite`], PostgreSQL (several nodes) in [`postgres`]. Both run the same statements, store
//! the same encodings and pass the same conformance suite (`tests/conformance.rs`).

mod attribute_counts;
pub mod auth_cache;
mod changes;
pub mod coalesce;
mod coalesce_creates;
pub mod conn;
pub mod credentials;
pub mod db;
mod error;
pub mod event_log;
pub mod events;
pub mod export;
pub mod export_line;
mod idempotency;
pub mod import_check;
mod listing;
pub mod outbox;
pub mod postgres;
pub mod projects;
mod raw_resource;
pub mod resources;
pub mod retention;
pub mod rows;
mod search;
pub mod sqlite;
mod statistics;
pub mod tokens;
pub mod transfer;
pub mod types;
pub mod usage;

use std::sync::Arc;

use serde_json::Value;
use tollgate_auth::SecretDigest;
use tollgate_core::{Credential, Precondition, Resource};

pub use credentials::CredentialStore;
pub use db::{Db, Observer};
pub use error::{chain, CorruptRow, StoreError};
pub use event_log::EventStore;
pub use outbox::OutboxStore;
pub use postgres::PgStore;
pub use projects::ProjectStore;
pub use resources::{BatchOp, BatchResult, ResourceStore};
pub use retention::RetentionStore;
pub use sqlite::SqliteStore;
pub use tokens::TokenStore;
pub use transfer::{ImportSummary, KeptState, TransferStore};
pub use types::TypeStore;
pub use usage::UsageStore;

/// Everything Tollgate keeps. Methods take the caller's project: a row of another project is
/// `NotFound`, exactly like a missing one.
pub trait Store:
    ResourceStore
    + TypeStore
    + CredentialStore
    + TokenStore
    + ProjectStore
    + OutboxStore
    + TransferStore
    + EventStore
    + RetentionStore
    + UsageStore
    + 'static
{
}

impl<T> Store for T where
    T: ResourceStore
        + TypeStore
        + CredentialStore
        + TokenStore
        + ProjectStore
        + OutboxStore
        + TransferStore
        + EventStore
        + RetentionStore
        + UsageStore
        + 'static
{
}

/// A credential found by its secret's digest, with the digest stored for it (compared in
/// constant time by the caller).
#[derive(Debug, Clone)]
pub struct CredentialMatch {
    /// The credential's metadata.
    pub credential: Credential,
    /// The stored digest the lookup matched.
    pub stored_digest: SecretDigest,
    /// When the matched secret stops working (an old secret in its grace period after a
    /// rotation), if it does.
    pub secret_expires_at: Option<time::OffsetDateTime>,
}

/// A JWT signing key as stored (the auth crate defines and reads it).
pub use tollgate_auth::jwt::SigningKeyRecord as StoredSigningKey;

/// What token verification needs to know beyond the signature.
#[derive(Debug, Clone)]
pub struct TokenCheck {
    /// The client the token was issued to, if it still exists.
    pub client: Option<Credential>,
    /// Whether the token's `jti` was revoked.
    pub revoked: bool,
}

/// A response kept for idempotent replays.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StoredResponse {
    /// HTTP status.
    pub status: u16,
    /// Headers to send again (Location, ETag, Content-Type).
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: String,
}

/// Renders the response of a write from what it wrote (a resource, or a batch's results), inside
/// the write's transaction. Shared, so that a claim can be kept for a second attempt: a create
/// whose coalesced group fails runs again alone (see `coalesce_creates`).
pub type RenderResponse<T = Resource> = Arc<dyn Fn(&T) -> StoredResponse + Send + Sync>;

/// An `Idempotency-Key` to record with a write, in the same transaction.
pub struct IdempotencyClaim<T = Resource> {
    /// Credential, method and route the key is scoped to.
    pub scope: String,
    /// The client's key.
    pub key: String,
    /// SHA-256 of the request (path and body).
    pub fingerprint: [u8; 32],
    /// The response to keep.
    pub render: RenderResponse<T>,
}

// By hand: a derive would ask `T: Clone`, and only the renderer (shared) mentions `T`.
impl<T> Clone for IdempotencyClaim<T> {
    fn clone(&self) -> Self {
        Self {
            scope: self.scope.clone(),
            key: self.key.clone(),
            fingerprint: self.fingerprint,
            render: self.render.clone(),
        }
    }
}

/// A recorded idempotent request.
#[derive(Debug, Clone)]
pub struct IdempotencyRecord {
    /// SHA-256 of the first request.
    pub fingerprint: [u8; 32],
    /// Its response.
    pub response: StoredResponse,
}

/// A change to a resource: an RFC 7396 merge patch and an optional precondition.
#[derive(Debug, Clone)]
pub struct ResourceUpdate {
    /// The merge patch.
    pub patch: Value,
    /// The `If-Match` precondition, if any.
    pub precondition: Option<Precondition>,
}

/// The admin key [`ProjectStore::bootstrap`] creates: its secret's digest and hint.
#[derive(Debug, Clone)]
pub struct NewApiKeyTemplate {
    /// Digest of the secret the caller minted.
    pub digest: SecretDigest,
    /// Display hint of that secret.
    pub hint: String,
    /// Its own rate limits (the caller decides what suits administration).
    pub limits: tollgate_core::CredentialLimits,
}
