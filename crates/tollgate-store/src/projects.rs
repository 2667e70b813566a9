//! Projects, the first-start bootstrap and the database's health: what the service needs to
//! know which tenant a request belongs to, and the rule that makes the first admin key once.

use async_trait::async_trait;
use tollgate_core::project::DEFAULT_PROJECT;
use tollgate_core::time_fmt::{now, to_unix_micros};
use tollgate_core::{CredentialId, KeyId, NewCredential, Project, ProjectId, Scopes};

use crate::conn::{Arg, Conn, Sql};
use crate::db::{Backend, Db};
use crate::{NewApiKeyTemplate, StoreError};

/// Projects and the installation itself.
#[async_trait]
pub trait ProjectStore: Send + Sync {
    /// Idle and busy connections of the reader pool, where the backend has one.
    fn pool_state(&self) -> Option<(u32, u32)>;
    /// Checks the database answers.
    async fn ping(&self) -> Result<(), StoreError>;
    /// Finds a project by name.
    async fn find_project(&self, name: &str) -> Result<Option<Project>, StoreError>;
    /// Creates the project `name` unless it exists; returns it either way.
    async fn ensure_project(&self, name: &str) -> Result<Project, StoreError>;
    /// Every project, oldest first.
    async fn list_projects(&self) -> Result<Vec<Project>, StoreError>;
    /// Creates a project; `Conflict` when the name is taken.
    async fn create_project(&self, name: &str) -> Result<Project, StoreError>;
    /// On the first start of an empty installation, creates the `default` project and an admin
    /// key with the given digest. Returns whether it did (so the caller prints the key once).
    async fn bootstrap(&self, key: NewApiKeyTemplate) -> Result<bool, StoreError>;
}

const PING: Sql = Sql::same("SELECT 'ok'");
const FIND: Sql = Sql::same("SELECT id, name, created_at FROM projects WHERE name = $1");
const LIST: Sql = Sql::same("SELECT id, name, created_at FROM projects ORDER BY created_at, name");
/// Nodes may race to create the same project: the loser's insert does nothing and both read back
/// the one row.
const INSERT: Sql =
    Sql::same("INSERT INTO projects (id, name, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING");
/// Serialises first-start work between nodes starting together (SQLite's one writer already does).
const LOCK_BOOTSTRAP: Sql = Sql::each("", "SELECT pg_advisory_xact_lock(8390043843661231205)");
/// Every setting an installation keeps, with the one value each can have: `bootstrapped` once
/// the first start made the default project and its admin key (the statements beside it spell
/// it out). An import carries these over and refuses any other.
pub const SETTINGS: [(&str, &str); 1] = [("bootstrapped", "true")];
const BOOTSTRAPPED: Sql = Sql::same("SELECT value FROM settings WHERE key = 'bootstrapped'");
const MARK_BOOTSTRAPPED: Sql = Sql::same("INSERT INTO settings (key, value) VALUES ('bootstrapped', 'true')");
const COUNT_CREDENTIALS: Sql = Sql::same("SELECT count(*) FROM credentials");

#[async_trait]
impl<B: Backend> ProjectStore for Db<B> {
    fn pool_state(&self) -> Option<(u32, u32)> {
        self.backend.pool_state()
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.read("ping", |c| Box::pin(async move { c.fetch_one::<String>(&PING, &[]).await.map(drop) })).await
    }

    async fn find_project(&self, name: &str) -> Result<Option<Project>, StoreError> {
        let name = name.to_owned();
        self.read("find_project", move |c| Box::pin(async move { find(c, &name).await })).await
    }

    async fn ensure_project(&self, name: &str) -> Result<Project, StoreError> {
        let name = name.to_owned();
        self.write("ensure_project", move |tx| Box::pin(async move { ensure(tx, &name).await })).await
    }

    async fn list_projects(&self) -> Result<Vec<Project>, StoreError> {
        self.read("list_projects", |c| Box::pin(async move { c.fetch_all(&LIST, &[]).await })).await
    }

    async fn create_project(&self, name: &str) -> Result<Project, StoreError> {
        let name = name.to_owned();
        self.write("create_project", move |tx| {
            Box::pin(async move {
                if find(tx, &name).await?.is_some() {
                    return Err(StoreError::Conflict(format!("project `{name}` already exists")));
                }
                ensure(tx, &name).await
            })
        })
        .await
    }

    async fn bootstrap(&self, key: NewApiKeyTemplate) -> Result<bool, StoreError> {
        self.write("bootstrap", move |tx| Box::pin(bootstrap(tx, key))).await
    }
}

async fn find(c: &mut impl Conn, name: &str) -> Result<Option<Project>, StoreError> {
    c.fetch_optional(&FIND, &[Arg::Text(name)]).await
}

pub(crate) async fn ensure(tx: &mut impl Conn, name: &str) -> Result<Project, StoreError> {
    if let Some(p) = find(tx, name).await? {
        return Ok(p);
    }
    let id = ProjectId::generate().to_string();
    tx.execute(&INSERT, &[Arg::Text(&id), Arg::Text(name), Arg::Int(to_unix_micros(now()))]).await?;
    find(tx, name).await?.ok_or(StoreError::NotFound)
}

/// Creates `default` and its first admin key once per installation, never again, and never
/// when credentials already exist (an installation filled by import).
async fn bootstrap(tx: &mut impl Conn, key: NewApiKeyTemplate) -> Result<bool, StoreError> {
    tx.execute(&LOCK_BOOTSTRAP, &[]).await?;
    let done: Option<String> = tx.fetch_optional(&BOOTSTRAPPED, &[]).await?;
    if done.is_some() {
        return Ok(false);
    }
    let project = ensure(tx, DEFAULT_PROJECT).await?;
    let credentials: i64 = tx.fetch_one(&COUNT_CREDENTIALS, &[]).await?;
    tx.execute(&MARK_BOOTSTRAPPED, &[]).await?;
    if credentials > 0 {
        return Ok(false);
    }
    let new = NewCredential {
        id: CredentialId::ApiKey(KeyId::generate()),
        project_id: project.id,
        name: "admin (first start)".into(),
        scopes: Scopes::all(),
        expires_at: None,
        limits: key.limits,
    };
    crate::credentials::create(tx, new, key.digest, key.hint).await?;
    Ok(true)
}
