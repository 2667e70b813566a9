//! The embedded SQLite backend: WAL mode with `synchronous=FULL`, so an acknowledged write
//! survives `kill -9` and power loss; one writer thread with group commit; a small pool of
//! reader connections used from tokio's blocking threads.

mod credentials;
mod events;
/// Row helpers shared with the PostgreSQL backend.
pub(crate) mod events_rows {
    pub(crate) use super::events::{types_column, WebhookEndpointRow};
}
mod idempotency;
mod projects;
mod resources;
mod schema;
mod tokens;
mod transfer;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration as StdDuration;

use async_trait::async_trait;
use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::{Connection, ErrorCode as SqliteCode};
use time::{Duration, OffsetDateTime};
use tollgate_auth::SecretDigest;
use tollgate_core::webhook::{Attempted, Delivery, DeliveryJob, Event, WebhookEndpoint};
use tollgate_core::{
    Credential, CredentialId, CredentialKind, CredentialLimits, ListQuery, NewCredential, NewResource, Page,
    Precondition, Project, ProjectId, Resource, ResourceId,
};

use crate::{
    CredentialMatch, IdempotencyClaim, IdempotencyRecord, NewApiKeyTemplate, ResourceUpdate, Store, StoreError,
    StoredSigningKey, TokenCheck,
};
use writer::Writer;

/// The database file's name inside the data directory.
pub const DB_FILE: &str = "tollgate.db";
/// Reader connections beyond one per runtime worker (for the CLI's own reads and spare).
const SPARE_READERS: u32 = 4;

/// Reads run inline on the runtime's workers (see `read`), each holding a connection only while
/// it runs, so one connection per worker thread means a read never waits for the pool, and a
/// worker is never blocked by it. Tokio starts one worker per available core.
fn reader_pool_size() -> u32 {
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    u32::try_from(workers).unwrap_or(u32::MAX).saturating_add(SPARE_READERS)
}
const BUSY_TIMEOUT: StdDuration = StdDuration::from_secs(5);

/// Called with each operation's name and duration (for metrics).
pub type Observer = Arc<dyn Fn(&'static str, std::time::Duration) + Send + Sync>;

/// Tollgate's data in one SQLite file.
#[derive(Clone)]
pub struct SqliteStore {
    writer: Writer,
    readers: r2d2::Pool<SqliteConnectionManager>,
    path: PathBuf,
    observer: Option<Observer>,
    publish_events: bool,
}

impl SqliteStore {
    /// Opens (creating if needed) the database in `data_dir` and brings its schema up to date.
    pub fn open(data_dir: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(data_dir).map_err(|e| {
            StoreError::Unavailable(format!("cannot create data directory {}: {e}", data_dir.display()))
        })?;
        let path = data_dir.join(DB_FILE);
        let mut conn = Connection::open(&path).map_err(classify)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(classify)?;
        // Every write job runs in its own savepoint (see `writer`), and a savepoint journals each
        // page it changes again; in memory that costs a copy, in a temporary file a pwrite.
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA temp_store = MEMORY;",
        )
        .map_err(classify)?;
        schema::migrations()
            .to_latest(&mut conn)
            .map_err(|e| StoreError::Internal(format!("migrating {}: {e}", path.display())))?;
        let manager = SqliteConnectionManager::file(&path)
            .with_flags(rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX)
            .with_init(|c| {
                c.busy_timeout(BUSY_TIMEOUT)?;
                c.set_prepared_statement_cache_capacity(64);
                Ok(())
            });
        let readers = r2d2::Pool::builder()
            .max_size(reader_pool_size())
            .build(manager)
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        Ok(Self { writer: Writer::start(conn), readers, path, observer: None, publish_events: false })
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

    /// Where the database file is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs a read on a pooled connection, inline: SQLite point reads take microseconds, less
    /// than handing them to a blocking thread and back, and WAL readers never wait for writers.
    /// Reads are bounded (a page is at most 100 rows), so the runtime thread is not held long.
    async fn read<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&Connection) -> Result<R, StoreError> + Send + 'static,
    {
        let conn = self.readers.get().map_err(|e| StoreError::Unavailable(e.to_string()))?;
        f(&conn)
    }
}

/// Maps SQLite's errors to ones a caller can act on: busy and locked are retryable.
pub(crate) fn classify(e: rusqlite::Error) -> StoreError {
    match e.sqlite_error_code() {
        Some(SqliteCode::DatabaseBusy | SqliteCode::DatabaseLocked) => StoreError::Unavailable(e.to_string()),
        _ => StoreError::Internal(e.to_string()),
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        classify(e)
    }
}

#[async_trait]
impl Store for SqliteStore {
    fn pool_state(&self) -> Option<(u32, u32)> {
        let state = self.readers.state();
        Some((state.idle_connections, state.connections - state.idle_connections))
    }

    async fn create_webhook(&self, endpoint: WebhookEndpoint) -> Result<WebhookEndpoint, StoreError> {
        self.timed(
            "create_webhook",
            self.writer.write(move |c| events::create_endpoint(c, &endpoint).map(|()| endpoint)),
        )
        .await
    }

    async fn list_webhooks(&self, project: ProjectId) -> Result<Vec<WebhookEndpoint>, StoreError> {
        self.timed("list_webhooks", self.read(move |c| events::list_endpoints(c, project))).await
    }

    async fn get_webhook(&self, project: ProjectId, id: String) -> Result<WebhookEndpoint, StoreError> {
        self.timed("get_webhook", self.read(move |c| events::get_endpoint(c, project, &id))).await
    }

    async fn delete_webhook(&self, project: ProjectId, id: String) -> Result<(), StoreError> {
        self.timed("delete_webhook", self.writer.write(move |c| events::delete_endpoint(c, project, &id))).await
    }

    async fn send_test_event(&self, project: ProjectId, id: String) -> Result<Event, StoreError> {
        self.timed(
            "send_test_event",
            self.writer.write(move |c| {
                let endpoint = events::get_endpoint(c, project, &id)?;
                let event = crate::events::new_event(
                    tollgate_core::webhook::TEST_EVENT,
                    project,
                    serde_json::json!({"webhook_id": endpoint.id}),
                );
                events::record(c, &event, false, Some(&endpoint.id))?;
                Ok(event)
            }),
        )
        .await
    }

    async fn claim_deliveries(
        &self,
        now: OffsetDateTime,
        lease: Duration,
        limit: u32,
    ) -> Result<Vec<DeliveryJob>, StoreError> {
        self.timed("claim_deliveries", self.writer.write(move |c| events::claim(c, now, lease, limit))).await
    }

    async fn record_attempts(&self, attempts: Vec<Attempted>) -> Result<(), StoreError> {
        self.timed("record_attempts", self.writer.write(move |c| events::record_attempts(c, &attempts))).await
    }

    async fn list_deliveries(
        &self,
        project: ProjectId,
        endpoint: String,
        limit: u32,
    ) -> Result<Vec<Delivery>, StoreError> {
        self.timed("list_deliveries", self.read(move |c| events::list_deliveries(c, project, &endpoint, limit))).await
    }

    async fn replay_delivery(&self, project: ProjectId, endpoint: String, delivery: String) -> Result<(), StoreError> {
        self.timed("replay_delivery", self.writer.write(move |c| events::replay(c, project, &endpoint, &delivery)))
            .await
    }

    async fn unpublished_events(&self, limit: u32) -> Result<Vec<Event>, StoreError> {
        self.timed("unpublished_events", self.read(move |c| events::claim_unpublished(c, limit))).await
    }

    async fn mark_published(&self, ids: Vec<String>) -> Result<(), StoreError> {
        self.timed("mark_published", self.writer.write(move |c| events::mark_published(c, &ids))).await
    }

    async fn find_idempotency(
        &self,
        scope: String,
        key: String,
        since: OffsetDateTime,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        self.timed("find_idempotency", self.read(move |c| idempotency::find(c, &scope, &key, since))).await
    }

    async fn export_meta(&self, project: Option<ProjectId>) -> Result<Vec<crate::export::ExportRecord>, StoreError> {
        let project = project.map(|p| p.to_string());
        self.timed("export_meta", self.read(move |c| transfer::export_meta(c, project.as_deref()))).await
    }

    async fn export_resources(
        &self,
        project: Option<ProjectId>,
        after: Option<String>,
        limit: u32,
    ) -> Result<Vec<crate::rows::RawResource>, StoreError> {
        let project = project.map(|p| p.to_string());
        self.timed(
            "export_resources",
            self.read(move |c| transfer::export_resources(c, project.as_deref(), after.as_deref(), limit)),
        )
        .await
    }

    async fn import(&self, records: Vec<crate::export::ExportRecord>) -> Result<crate::export::Counts, StoreError> {
        self.timed("import", self.writer.write(move |c| transfer::import(c, records))).await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.timed("ping", self.read(|c| Ok(c.query_row("SELECT 1", [], |r| r.get::<_, i64>(0)).map(|_| ())?))).await
    }

    async fn find_project(&self, name: &str) -> Result<Option<Project>, StoreError> {
        let name = name.to_owned();
        self.timed("find_project", self.read(move |c| projects::find(c, &name))).await
    }

    async fn ensure_project(&self, name: &str) -> Result<Project, StoreError> {
        let name = name.to_owned();
        self.timed("ensure_project", self.writer.write(move |c| projects::ensure(c, &name))).await
    }

    async fn bootstrap(&self, key: NewApiKeyTemplate) -> Result<bool, StoreError> {
        self.timed("bootstrap", self.writer.write(move |c| projects::bootstrap(c, key))).await
    }

    async fn create_resource(
        &self,
        project: ProjectId,
        new: NewResource,
        idempotency: Option<IdempotencyClaim>,
    ) -> Result<Resource, StoreError> {
        let publish = self.publish_events;
        self.timed(
            "create_resource",
            self.writer.write(move |c| resources::insert(c, project, new, idempotency, publish)),
        )
        .await
    }

    async fn get_resource(&self, project: ProjectId, id: ResourceId) -> Result<Resource, StoreError> {
        self.timed("get_resource", self.read(move |c| resources::get(c, project, id)?.ok_or(StoreError::NotFound)))
            .await
    }

    async fn list_resources(&self, project: ProjectId, query: ListQuery) -> Result<Page<Resource>, StoreError> {
        self.timed("list_resources", self.read(move |c| resources::list(c, project, &query))).await
    }

    async fn update_resource(
        &self,
        project: ProjectId,
        id: ResourceId,
        update: ResourceUpdate,
        idempotency: Option<IdempotencyClaim>,
    ) -> Result<Resource, StoreError> {
        let publish = self.publish_events;
        self.timed(
            "update_resource",
            self.writer.write(move |c| resources::update(c, project, id, &update, idempotency, publish)),
        )
        .await
    }

    async fn delete_resource(
        &self,
        project: ProjectId,
        id: ResourceId,
        precondition: Option<Precondition>,
    ) -> Result<(), StoreError> {
        let publish = self.publish_events;
        self.timed(
            "delete_resource",
            self.writer.write(move |c| resources::delete(c, project, id, precondition.as_ref(), publish)),
        )
        .await
    }

    async fn list_projects(&self) -> Result<Vec<Project>, StoreError> {
        self.timed("list_projects", self.read(projects::list)).await
    }

    async fn create_project(&self, name: &str) -> Result<Project, StoreError> {
        let name = name.to_owned();
        self.timed("create_project", self.writer.write(move |c| projects::create(c, &name))).await
    }

    async fn create_credential(
        &self,
        new: NewCredential,
        digest: SecretDigest,
        hint: String,
    ) -> Result<Credential, StoreError> {
        self.timed("create_credential", self.writer.write(move |c| credentials::insert(c, &new, digest, &hint))).await
    }

    async fn list_credentials(&self, kind: CredentialKind, project: ProjectId) -> Result<Vec<Credential>, StoreError> {
        self.timed("list_credentials", self.read(move |c| credentials::list(c, kind, project))).await
    }

    async fn get_credential(&self, project: ProjectId, id: CredentialId) -> Result<Credential, StoreError> {
        self.timed("get_credential", self.read(move |c| credentials::get(c, project, &id)?.ok_or(StoreError::NotFound)))
            .await
    }

    async fn find_credential_by_digest(
        &self,
        digest: SecretDigest,
        now: OffsetDateTime,
    ) -> Result<Option<CredentialMatch>, StoreError> {
        self.timed("find_credential_by_digest", self.read(move |c| credentials::find_by_digest(c, digest, now))).await
    }

    async fn rotate_credential(
        &self,
        project: ProjectId,
        id: CredentialId,
        digest: SecretDigest,
        hint: String,
        grace: Duration,
    ) -> Result<Credential, StoreError> {
        self.timed(
            "rotate_credential",
            self.writer.write(move |c| credentials::rotate(c, project, &id, digest, &hint, grace)),
        )
        .await
    }

    async fn revoke_credential(&self, project: ProjectId, id: CredentialId) -> Result<Credential, StoreError> {
        self.timed("revoke_credential", self.writer.write(move |c| credentials::revoke(c, project, &id))).await
    }

    async fn set_credential_limits(
        &self,
        project: ProjectId,
        id: CredentialId,
        limits: CredentialLimits,
    ) -> Result<Credential, StoreError> {
        self.timed(
            "set_credential_limits",
            self.writer.write(move |c| credentials::set_limits(c, project, &id, limits)),
        )
        .await
    }

    async fn touch_credential(&self, id: CredentialId, at: OffsetDateTime) -> Result<(), StoreError> {
        self.timed("touch_credential", self.writer.write(move |c| credentials::touch(c, &id, at))).await
    }

    async fn check_token(&self, client: CredentialId, jti: String) -> Result<TokenCheck, StoreError> {
        self.timed(
            "check_token",
            self.read(move |c| {
                Ok(TokenCheck { client: credentials::get_any(c, &client)?, revoked: tokens::is_revoked(c, &jti)? })
            }),
        )
        .await
    }

    async fn revoke_token(&self, jti: String, expires_at: OffsetDateTime) -> Result<(), StoreError> {
        self.timed("revoke_token", self.writer.write(move |c| tokens::revoke_token(c, &jti, expires_at))).await
    }

    async fn live_signing_keys(&self, now: OffsetDateTime) -> Result<Vec<StoredSigningKey>, StoreError> {
        self.timed("live_signing_keys", self.read(move |c| tokens::live_keys(c, now))).await
    }

    async fn add_signing_key(
        &self,
        key: StoredSigningKey,
        retire_others_at: Option<OffsetDateTime>,
    ) -> Result<bool, StoreError> {
        self.timed("add_signing_key", self.writer.write(move |c| tokens::add_key(c, &key, retire_others_at))).await
    }
}
