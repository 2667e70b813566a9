//! Storage behind one trait, [`Store`], with one implementation per backend. SQLite (embedded,
//! the default) lives in [`sqlite`]; every implementation passes the same conformance suite.

pub mod sqlite;

use async_trait::async_trait;
use serde_json::Value;
use time::{Duration, OffsetDateTime};
use tollgate_auth::SecretDigest;
use tollgate_core::{
    ApiKey, KeyId, ListQuery, NewApiKey, NewResource, Page, Precondition, Project, ProjectId,
    Resource, ResourceId, ValidationErrors,
};

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
    /// Anything else; logged once at the HTTP edge.
    #[error("storage failure: {0}")]
    Internal(String),
}

/// A key found by its secret's digest, with the digest stored for it (compared in constant time).
#[derive(Debug, Clone)]
pub struct KeyMatch {
    /// The key's metadata.
    pub key: ApiKey,
    /// The stored digest the lookup matched.
    pub stored_digest: SecretDigest,
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
    /// Checks the database answers.
    async fn ping(&self) -> Result<(), StoreError>;

    /// Finds a project by name.
    async fn find_project(&self, name: &str) -> Result<Option<Project>, StoreError>;
    /// Creates the project `name` unless it exists; returns it either way.
    async fn ensure_project(&self, name: &str) -> Result<Project, StoreError>;
    /// On the first start of an empty installation, creates the `default` project and an admin
    /// key with `digest`. Returns whether it did (so the caller prints the key exactly once).
    async fn bootstrap(&self, key: NewApiKeyTemplate) -> Result<bool, StoreError>;

    /// Stores a new resource.
    async fn create_resource(
        &self,
        project: ProjectId,
        new: NewResource,
    ) -> Result<Resource, StoreError>;
    /// Reads one resource.
    async fn get_resource(
        &self,
        project: ProjectId,
        id: ResourceId,
    ) -> Result<Resource, StoreError>;
    /// Lists a page of resources in id order.
    async fn list_resources(
        &self,
        project: ProjectId,
        query: ListQuery,
    ) -> Result<Page<Resource>, StoreError>;
    /// Applies a merge patch; the version rises only when something changed.
    async fn update_resource(
        &self,
        project: ProjectId,
        id: ResourceId,
        update: ResourceUpdate,
    ) -> Result<Resource, StoreError>;
    /// Deletes a resource.
    async fn delete_resource(
        &self,
        project: ProjectId,
        id: ResourceId,
        precondition: Option<Precondition>,
    ) -> Result<(), StoreError>;

    /// Stores a key whose secret has `digest`.
    async fn create_key(
        &self,
        new: NewApiKey,
        digest: SecretDigest,
        hint: String,
    ) -> Result<ApiKey, StoreError>;
    /// The project's keys, oldest first.
    async fn list_keys(&self, project: ProjectId) -> Result<Vec<ApiKey>, StoreError>;
    /// One key of the project.
    async fn get_key(&self, project: ProjectId, id: KeyId) -> Result<ApiKey, StoreError>;
    /// The key whose current (or still-in-grace) secret has `digest`.
    async fn find_key_by_digest(
        &self,
        digest: SecretDigest,
        now: OffsetDateTime,
    ) -> Result<Option<KeyMatch>, StoreError>;
    /// Gives the key a new secret; the old one works until `grace` has passed.
    async fn rotate_key(
        &self,
        project: ProjectId,
        id: KeyId,
        digest: SecretDigest,
        hint: String,
        grace: Duration,
    ) -> Result<ApiKey, StoreError>;
    /// Revokes the key at once (idempotent).
    async fn revoke_key(&self, project: ProjectId, id: KeyId) -> Result<ApiKey, StoreError>;
    /// Records that the key was used at `at`.
    async fn touch_key(&self, id: KeyId, at: OffsetDateTime) -> Result<(), StoreError>;
}

/// The admin key [`Store::bootstrap`] creates: its secret's digest and hint.
#[derive(Debug, Clone)]
pub struct NewApiKeyTemplate {
    /// Digest of the secret the caller minted.
    pub digest: SecretDigest,
    /// Display hint of that secret.
    pub hint: String,
}
