//! The PostgreSQL backend, for several stateless nodes sharing one database. Same tables and
//! value encodings as SQLite; writes run in transactions (PostgreSQL's own commit makes them
//! durable), rows that change are locked with `FOR UPDATE`, and first-start work is serialised
//! with an advisory lock so that nodes starting together do not both do it.

mod credentials;
mod events;
mod idempotency;
mod projects;
mod resources;
mod tokens;
mod transfer;

use std::time::Duration as StdDuration;

use async_trait::async_trait;
use sqlx::postgres::{PgPool, PgPoolOptions};
use time::{Duration, OffsetDateTime};
use tollgate_auth::SecretDigest;
use tollgate_core::webhook::{Attempted, Delivery, DeliveryJob, Event, WebhookEndpoint};
use tollgate_core::{
    Credential, CredentialId, CredentialKind, CredentialLimits, ListQuery, NewCredential, NewResource, Page,
    Precondition, Project, ProjectId, Resource, ResourceId,
};

use crate::sqlite::Observer;
use crate::{
    CredentialMatch, IdempotencyClaim, IdempotencyRecord, NewApiKeyTemplate, ResourceUpdate, Store, StoreError,
    StoredSigningKey, TokenCheck,
};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// Tollgate's data in PostgreSQL.
#[derive(Clone)]
pub struct PgStore {
    pool: PgPool,
    observer: Option<Observer>,
    publish_events: bool,
}

/// Maps driver errors: connection trouble is retryable, the rest is internal.
pub(crate) fn classify(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
            StoreError::Unavailable(e.to_string())
        }
        sqlx::Error::Database(db) if db.code().is_some_and(|c| c.starts_with("40") || c.starts_with("08")) => {
            StoreError::Unavailable(e.to_string())
        }
        _ => StoreError::Internal(e.to_string()),
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        classify(e)
    }
}

impl PgStore {
    /// Connects to `url` and brings the schema up to date.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(StdDuration::from_secs(5))
            .connect(url)
            .await
            .map_err(|e| StoreError::Unavailable(format!("connecting to PostgreSQL: {e}")))?;
        MIGRATOR.run(&pool).await.map_err(|e| StoreError::Internal(format!("migrating PostgreSQL: {e}")))?;
        Ok(Self { pool, observer: None, publish_events: false })
    }

    /// Reports every operation's duration to `observer`.
    pub fn with_observer(mut self, observer: Observer) -> Self {
        self.observer = Some(observer);
        self
    }

    /// Keeps events in the outbox until a message-queue sink marks them published.
    pub fn with_event_publishing(mut self, publish: bool) -> Self {
        self.publish_events = publish;
        self
    }

    async fn timed<R>(&self, op: &'static str, fut: impl std::future::Future<Output = R>) -> R {
        let started = std::time::Instant::now();
        let out = fut.await;
        if let Some(observe) = &self.observer {
            observe(op, started.elapsed());
        }
        out
    }
}

#[async_trait]
impl Store for PgStore {
    fn pool_state(&self) -> Option<(u32, u32)> {
        let size = self.pool.size();
        let idle = self.pool.num_idle() as u32;
        Some((idle, size.saturating_sub(idle)))
    }

    async fn export_meta(&self, project: Option<ProjectId>) -> Result<Vec<crate::export::ExportRecord>, StoreError> {
        self.timed("export_meta", transfer::export_meta(&self.pool, project.map(|p| p.to_string()))).await
    }

    async fn export_resources(
        &self,
        project: Option<ProjectId>,
        after: Option<String>,
        limit: u32,
    ) -> Result<Vec<crate::rows::RawResource>, StoreError> {
        self.timed(
            "export_resources",
            transfer::export_resources(&self.pool, project.map(|p| p.to_string()), after, limit),
        )
        .await
    }

    async fn import(&self, records: Vec<crate::export::ExportRecord>) -> Result<crate::export::Counts, StoreError> {
        self.timed("import", transfer::import(&self.pool, records)).await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.timed("ping", async { sqlx::query("SELECT 1").execute(&self.pool).await.map(|_| ()).map_err(classify) })
            .await
    }

    async fn find_project(&self, name: &str) -> Result<Option<Project>, StoreError> {
        self.timed("find_project", projects::find(&self.pool, name)).await
    }

    async fn ensure_project(&self, name: &str) -> Result<Project, StoreError> {
        self.timed("ensure_project", projects::ensure(&self.pool, name)).await
    }

    async fn bootstrap(&self, key: NewApiKeyTemplate) -> Result<bool, StoreError> {
        self.timed("bootstrap", projects::bootstrap(&self.pool, key)).await
    }

    async fn list_projects(&self) -> Result<Vec<Project>, StoreError> {
        self.timed("list_projects", projects::list(&self.pool)).await
    }

    async fn create_project(&self, name: &str) -> Result<Project, StoreError> {
        self.timed("create_project", projects::create(&self.pool, name)).await
    }

    async fn create_resource(
        &self,
        project: ProjectId,
        new: NewResource,
        idempotency: Option<IdempotencyClaim>,
    ) -> Result<Resource, StoreError> {
        self.timed("create_resource", resources::insert(&self.pool, project, new, idempotency, self.publish_events))
            .await
    }

    async fn get_resource(&self, project: ProjectId, id: ResourceId) -> Result<Resource, StoreError> {
        self.timed("get_resource", async { resources::get(&self.pool, project, id).await?.ok_or(StoreError::NotFound) })
            .await
    }

    async fn list_resources(&self, project: ProjectId, query: ListQuery) -> Result<Page<Resource>, StoreError> {
        self.timed("list_resources", resources::list(&self.pool, project, &query)).await
    }

    async fn update_resource(
        &self,
        project: ProjectId,
        id: ResourceId,
        update: ResourceUpdate,
        idempotency: Option<IdempotencyClaim>,
    ) -> Result<Resource, StoreError> {
        self.timed(
            "update_resource",
            resources::update(&self.pool, project, id, &update, idempotency, self.publish_events),
        )
        .await
    }

    async fn create_webhook(&self, endpoint: WebhookEndpoint) -> Result<WebhookEndpoint, StoreError> {
        self.timed("create_webhook", async { events::create_endpoint(&self.pool, &endpoint).await.map(|()| endpoint) })
            .await
    }

    async fn list_webhooks(&self, project: ProjectId) -> Result<Vec<WebhookEndpoint>, StoreError> {
        self.timed("list_webhooks", events::list_endpoints(&self.pool, project)).await
    }

    async fn get_webhook(&self, project: ProjectId, id: String) -> Result<WebhookEndpoint, StoreError> {
        self.timed("get_webhook", events::get_endpoint(&self.pool, project, &id)).await
    }

    async fn delete_webhook(&self, project: ProjectId, id: String) -> Result<(), StoreError> {
        self.timed("delete_webhook", events::delete_endpoint(&self.pool, project, &id)).await
    }

    async fn send_test_event(&self, project: ProjectId, id: String) -> Result<Event, StoreError> {
        self.timed("send_test_event", events::send_test_event(&self.pool, project, &id)).await
    }

    async fn claim_deliveries(
        &self,
        now: OffsetDateTime,
        lease: Duration,
        limit: u32,
    ) -> Result<Vec<DeliveryJob>, StoreError> {
        self.timed("claim_deliveries", events::claim(&self.pool, now, lease, limit)).await
    }

    async fn record_attempts(&self, attempts: Vec<Attempted>) -> Result<(), StoreError> {
        self.timed("record_attempts", events::record_attempts(&self.pool, &attempts)).await
    }

    async fn list_deliveries(
        &self,
        project: ProjectId,
        endpoint: String,
        limit: u32,
    ) -> Result<Vec<Delivery>, StoreError> {
        self.timed("list_deliveries", events::list_deliveries(&self.pool, project, &endpoint, limit)).await
    }

    async fn replay_delivery(&self, project: ProjectId, endpoint: String, delivery: String) -> Result<(), StoreError> {
        self.timed("replay_delivery", events::replay(&self.pool, project, &endpoint, &delivery)).await
    }

    async fn unpublished_events(&self, limit: u32) -> Result<Vec<Event>, StoreError> {
        self.timed("unpublished_events", events::unpublished(&self.pool, limit)).await
    }

    async fn mark_published(&self, ids: Vec<String>) -> Result<(), StoreError> {
        self.timed("mark_published", events::mark_published(&self.pool, &ids)).await
    }

    async fn find_idempotency(
        &self,
        scope: String,
        key: String,
        since: OffsetDateTime,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        self.timed("find_idempotency", idempotency::find(&self.pool, &scope, &key, since)).await
    }

    async fn delete_resource(
        &self,
        project: ProjectId,
        id: ResourceId,
        precondition: Option<Precondition>,
    ) -> Result<(), StoreError> {
        self.timed(
            "delete_resource",
            resources::delete(&self.pool, project, id, precondition.as_ref(), self.publish_events),
        )
        .await
    }

    async fn create_credential(
        &self,
        new: NewCredential,
        digest: SecretDigest,
        hint: String,
    ) -> Result<Credential, StoreError> {
        self.timed("create_credential", credentials::insert(&self.pool, &new, digest, &hint)).await
    }

    async fn list_credentials(&self, kind: CredentialKind, project: ProjectId) -> Result<Vec<Credential>, StoreError> {
        self.timed("list_credentials", credentials::list(&self.pool, kind, project)).await
    }

    async fn get_credential(&self, project: ProjectId, id: CredentialId) -> Result<Credential, StoreError> {
        self.timed("get_credential", async {
            credentials::get(&self.pool, Some(project), &id).await?.ok_or(StoreError::NotFound)
        })
        .await
    }

    async fn find_credential_by_digest(
        &self,
        digest: SecretDigest,
        now: OffsetDateTime,
    ) -> Result<Option<CredentialMatch>, StoreError> {
        self.timed("find_credential_by_digest", credentials::find_by_digest(&self.pool, digest, now)).await
    }

    async fn rotate_credential(
        &self,
        project: ProjectId,
        id: CredentialId,
        digest: SecretDigest,
        hint: String,
        grace: Duration,
    ) -> Result<Credential, StoreError> {
        self.timed("rotate_credential", credentials::rotate(&self.pool, project, &id, digest, &hint, grace)).await
    }

    async fn revoke_credential(&self, project: ProjectId, id: CredentialId) -> Result<Credential, StoreError> {
        self.timed("revoke_credential", credentials::revoke(&self.pool, project, &id)).await
    }

    async fn set_credential_limits(
        &self,
        project: ProjectId,
        id: CredentialId,
        limits: CredentialLimits,
    ) -> Result<Credential, StoreError> {
        self.timed("set_credential_limits", credentials::set_limits(&self.pool, project, &id, limits)).await
    }

    async fn touch_credential(&self, id: CredentialId, at: OffsetDateTime) -> Result<(), StoreError> {
        self.timed("touch_credential", credentials::touch(&self.pool, &id, at)).await
    }

    async fn check_token(&self, client: CredentialId, jti: String) -> Result<TokenCheck, StoreError> {
        self.timed("check_token", async {
            Ok(TokenCheck {
                client: credentials::get(&self.pool, None, &client).await?,
                revoked: tokens::is_revoked(&self.pool, &jti).await?,
            })
        })
        .await
    }

    async fn revoke_token(&self, jti: String, expires_at: OffsetDateTime) -> Result<(), StoreError> {
        self.timed("revoke_token", tokens::revoke_token(&self.pool, &jti, expires_at)).await
    }

    async fn live_signing_keys(&self, now: OffsetDateTime) -> Result<Vec<StoredSigningKey>, StoreError> {
        self.timed("live_signing_keys", tokens::live_keys(&self.pool, now)).await
    }

    async fn add_signing_key(
        &self,
        key: StoredSigningKey,
        retire_others_at: Option<OffsetDateTime>,
    ) -> Result<bool, StoreError> {
        self.timed("add_signing_key", tokens::add_key(&self.pool, &key, retire_others_at)).await
    }
}
