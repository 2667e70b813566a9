//! Storage behind one trait, [`Store`], with one implementation per backend: SQLite (embedded,
//! the default) in [`sqlite`], PostgreSQL (several nodes) in [`postgres`]. Both pass the same
//! conformance suite, and both store the same value encodings.

pub mod events;
pub mod export;
pub mod postgres;
pub mod rows;
pub mod sqlite;

use async_trait::async_trait;
use serde_json::Value;
use time::{Duration, OffsetDateTime};
use tollgate_auth::SecretDigest;
use tollgate_core::webhook::{Attempted, Delivery, DeliveryJob, Event, WebhookEndpoint};
use tollgate_core::{
    Credential, CredentialId, CredentialKind, CredentialLimits, ListQuery, NewCredential, NewResource, Page,
    Precondition, Project, ProjectId, Resource, ResourceId, ValidationErrors,
};

pub use postgres::PgStore;
pub use sqlite::SqliteStore;

/// What can go wrong in storage, in terms a caller can act on.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No such row in the caller's project.
    #[error("not found")]
    NotFound,
    /// An `If-Match` precondition failed; carries the current version.
    #[error("precondition failed (current version {0})")]
    PreconditionFailed(i64),
    /// The change would break a rule of the domain.
    #[error("validation failed: {0}")]
    Validation(ValidationErrors),
    /// The change conflicts with the row's state (e.g. rotating a revoked key).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The database is busy or unreachable; the request may be retried.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// Another request with the same idempotency key committed first.
    #[error("idempotency key already used")]
    IdempotencyConflict,
    /// Anything else; logged once at the HTTP edge.
    #[error("storage failure: {0}")]
    Internal(String),
}

/// A credential found by its secret's digest, with the digest stored for it (compared in
/// constant time by the caller).
#[derive(Debug, Clone)]
pub struct CredentialMatch {
    /// The credential's metadata.
    pub credential: Credential,
    /// The stored digest the lookup matched.
    pub stored_digest: SecretDigest,
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

/// Renders the response of a write from the stored resource, inside the write's transaction.
pub type RenderResponse = Box<dyn FnOnce(&Resource) -> StoredResponse + Send>;

/// An `Idempotency-Key` to record with a write, in the same transaction.
pub struct IdempotencyClaim {
    /// Credential, method and route the key is scoped to.
    pub scope: String,
    /// The client's key.
    pub key: String,
    /// SHA-256 of the request (path and body).
    pub fingerprint: [u8; 32],
    /// The response to keep.
    pub render: RenderResponse,
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

/// Everything Tollgate keeps. Methods take the caller's project: a row of another project is
/// `NotFound`, exactly like a missing one.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Idle and busy connections of the reader pool, where the backend has one.
    fn pool_state(&self) -> Option<(u32, u32)> {
        None
    }

    /// Projects, settings and credentials (with digests) for an export, of one project or all.
    async fn export_meta(&self, project: Option<ProjectId>) -> Result<Vec<export::ExportRecord>, StoreError>;
    /// Up to `limit` resources after `after` (by id), of one project or all.
    async fn export_resources(
        &self,
        project: Option<ProjectId>,
        after: Option<String>,
        limit: u32,
    ) -> Result<Vec<rows::RawResource>, StoreError>;
    /// Writes `records` in one transaction, inserting or replacing by id, so that importing
    /// the same file twice changes nothing. A project whose name exists under another id is
    /// merged into the existing one.
    async fn import(&self, records: Vec<export::ExportRecord>) -> Result<export::Counts, StoreError>;

    /// Registers a webhook endpoint.
    async fn create_webhook(&self, endpoint: WebhookEndpoint) -> Result<WebhookEndpoint, StoreError>;
    /// The project's endpoints.
    async fn list_webhooks(&self, project: ProjectId) -> Result<Vec<WebhookEndpoint>, StoreError>;
    /// One endpoint of the project.
    async fn get_webhook(&self, project: ProjectId, id: String) -> Result<WebhookEndpoint, StoreError>;
    /// Removes an endpoint and its deliveries.
    async fn delete_webhook(&self, project: ProjectId, id: String) -> Result<(), StoreError>;
    /// Records a `webhook.test` event delivered to that endpoint only.
    async fn send_test_event(&self, project: ProjectId, id: String) -> Result<Event, StoreError>;
    /// Leases up to `limit` due deliveries for `lease`, so that one node makes each attempt.
    async fn claim_deliveries(
        &self,
        now: OffsetDateTime,
        lease: Duration,
        limit: u32,
    ) -> Result<Vec<DeliveryJob>, StoreError>;
    /// Records attempts and what follows each, in one transaction. A delivery deleted meanwhile
    /// (its endpoint was removed) is skipped.
    async fn record_attempts(&self, attempts: Vec<Attempted>) -> Result<(), StoreError>;
    /// An endpoint's most recent deliveries with their attempts.
    async fn list_deliveries(
        &self,
        project: ProjectId,
        endpoint: String,
        limit: u32,
    ) -> Result<Vec<Delivery>, StoreError>;
    /// Makes a failed delivery pending again.
    async fn replay_delivery(&self, project: ProjectId, endpoint: String, delivery: String) -> Result<(), StoreError>;
    /// Events not yet on the message queue, oldest first.
    async fn unpublished_events(&self, limit: u32) -> Result<Vec<Event>, StoreError>;
    /// Marks events as on the message queue.
    async fn mark_published(&self, ids: Vec<String>) -> Result<(), StoreError>;

    /// Checks the database answers.
    async fn ping(&self) -> Result<(), StoreError>;

    /// Finds a project by name.
    async fn find_project(&self, name: &str) -> Result<Option<Project>, StoreError>;
    /// Creates the project `name` unless it exists; returns it either way.
    async fn ensure_project(&self, name: &str) -> Result<Project, StoreError>;
    /// On the first start of an empty installation, creates the `default` project and an admin
    /// key with `digest`. Returns whether it did (so the caller prints the key exactly once).
    async fn bootstrap(&self, key: NewApiKeyTemplate) -> Result<bool, StoreError>;

    /// Stores a new resource (and, given a claim, its idempotency record in the same transaction).
    async fn create_resource(
        &self,
        project: ProjectId,
        new: NewResource,
        idempotency: Option<IdempotencyClaim>,
    ) -> Result<Resource, StoreError>;
    /// Reads one resource.
    async fn get_resource(&self, project: ProjectId, id: ResourceId) -> Result<Resource, StoreError>;
    /// Lists a page of resources in id order.
    async fn list_resources(&self, project: ProjectId, query: ListQuery) -> Result<Page<Resource>, StoreError>;
    /// Applies a merge patch; the version rises only when something changed.
    async fn update_resource(
        &self,
        project: ProjectId,
        id: ResourceId,
        update: ResourceUpdate,
        idempotency: Option<IdempotencyClaim>,
    ) -> Result<Resource, StoreError>;
    /// The record of an idempotency key used since `since`.
    async fn find_idempotency(
        &self,
        scope: String,
        key: String,
        since: OffsetDateTime,
    ) -> Result<Option<IdempotencyRecord>, StoreError>;
    /// Deletes a resource.
    async fn delete_resource(
        &self,
        project: ProjectId,
        id: ResourceId,
        precondition: Option<Precondition>,
    ) -> Result<(), StoreError>;

    /// Every project, oldest first.
    async fn list_projects(&self) -> Result<Vec<Project>, StoreError>;
    /// Creates a project; `Conflict` when the name is taken.
    async fn create_project(&self, name: &str) -> Result<Project, StoreError>;

    /// Stores a credential whose secret has `digest`.
    async fn create_credential(
        &self,
        new: NewCredential,
        digest: SecretDigest,
        hint: String,
    ) -> Result<Credential, StoreError>;
    /// The project's credentials of `kind`, oldest first.
    async fn list_credentials(&self, kind: CredentialKind, project: ProjectId) -> Result<Vec<Credential>, StoreError>;
    /// One credential of the project.
    async fn get_credential(&self, project: ProjectId, id: CredentialId) -> Result<Credential, StoreError>;
    /// The credential whose current (or still-in-grace) secret has `digest`.
    async fn find_credential_by_digest(
        &self,
        digest: SecretDigest,
        now: OffsetDateTime,
    ) -> Result<Option<CredentialMatch>, StoreError>;
    /// Gives the credential a new secret; the old one works until `grace` has passed.
    async fn rotate_credential(
        &self,
        project: ProjectId,
        id: CredentialId,
        digest: SecretDigest,
        hint: String,
        grace: Duration,
    ) -> Result<Credential, StoreError>;
    /// Revokes the credential at once (idempotent).
    async fn revoke_credential(&self, project: ProjectId, id: CredentialId) -> Result<Credential, StoreError>;
    /// Sets the credential's own limits (parts left `None` keep their current value).
    async fn set_credential_limits(
        &self,
        project: ProjectId,
        id: CredentialId,
        limits: CredentialLimits,
    ) -> Result<Credential, StoreError>;
    /// Records that the credential was used at `at`.
    async fn touch_credential(&self, id: CredentialId, at: OffsetDateTime) -> Result<(), StoreError>;

    /// The state a token's client and `jti` are in, in one read.
    async fn check_token(&self, client: CredentialId, jti: String) -> Result<TokenCheck, StoreError>;
    /// Denylists a token until it would have expired.
    async fn revoke_token(&self, jti: String, expires_at: OffsetDateTime) -> Result<(), StoreError>;
    /// Signing keys not retired at `now`, newest first.
    async fn live_signing_keys(&self, now: OffsetDateTime) -> Result<Vec<StoredSigningKey>, StoreError>;
    /// Adds a signing key; see the SQLite implementation for the two modes.
    async fn add_signing_key(
        &self,
        key: StoredSigningKey,
        retire_others_at: Option<OffsetDateTime>,
    ) -> Result<bool, StoreError>;
}

/// The admin key [`Store::bootstrap`] creates: its secret's digest and hint.
#[derive(Debug, Clone)]
pub struct NewApiKeyTemplate {
    /// Digest of the secret the caller minted.
    pub digest: SecretDigest,
    /// Display hint of that secret.
    pub hint: String,
}
