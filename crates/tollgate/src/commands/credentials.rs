//! `tollgate keys ...` and `tollgate clients ...`: one implementation for both kinds, as the
//! HTTP API has (`/v1/keys`, `/v1/clients`). Output reuses the API's JSON views.

use anyhow::{anyhow, Context};
use serde_json::json;
use std::sync::Arc;
use time::Duration;
use tollgate_api::routes::credentials::view::{with_secret, CredentialView};
use tollgate_api::routes::credentials::{ApiKeys, CredentialRoutes, OAuthClients};
use tollgate_auth::SecretToken;
use tollgate_core::duration::{parse_duration, parse_lifetime};
use tollgate_core::time_fmt::{now, rfc3339};
use tollgate_core::{Credential, CredentialId, CredentialKind, CredentialLimits, NewCredential, Project, Scopes};

use tollgate_store::db::Backend;
use tollgate_store::sqlite::Permissions;
use tollgate_store::{Db, Observer, PgStore, SqliteStore, Store, StoreError};

use crate::cli::{ClientsCommand, CreateArgs, KeysCommand, ListArgs, Output, RevokeArgs, RotateArgs, UpdateArgs};
use crate::config::Config;

/// Opens the configured store for a CLI command (see [`open_store_with`]).
pub async fn open_store(config: &Config) -> anyhow::Result<Arc<dyn Store>> {
    open_store_with(config, 4, None, false).await
}

/// Opens the configured store: PostgreSQL when `database_url` is set (with `pool` connections),
/// else the SQLite database in the data directory. On PostgreSQL, concurrent reads by id share
/// round trips (see `tollgate_store::coalesce`). A server's store (given an `observer` for
/// its timings) also keeps credentials in memory, watched for changes by a task it starts
/// (see `tollgate_store::auth_cache`); a CLI command's reads once and ends.
pub async fn open_store_with(
    config: &Config,
    pool: u32,
    observer: Option<Observer>,
    publish_events: bool,
) -> anyhow::Result<Arc<dyn Store>> {
    fn finish<B: Backend>(db: Db<B>, observer: Option<Observer>, publish: bool) -> Arc<dyn Store> {
        let db = db.with_event_publishing(publish);
        Arc::new(match observer {
            Some(o) => {
                let db = db.with_observer(o).with_auth_cache();
                db.spawn_credential_watch();
                db
            }
            None => db,
        })
    }
    Ok(match &config.database_url {
        Some(url) => finish(
            PgStore::connect_with(url.expose(), pool, Some(config.request_timeout))
                .await
                .context("opening PostgreSQL (setting `database_url`)")?
                .with_read_coalescing(),
            observer,
            publish_events,
        ),
        None => {
            let permissions =
                if config.allow_insecure_permissions { Permissions::AllowShared } else { Permissions::Private };
            let db = SqliteStore::open_with(&config.data_dir, permissions)
                .with_context(|| format!("opening the database in {}", config.data_dir.display()))?;
            finish(db, observer, publish_events)
        }
    })
}

/// Runs one `keys` command; returns the exit code.
pub async fn run_keys(config: &Config, command: KeysCommand) -> anyhow::Result<i32> {
    let store = open_store(config).await?;
    let store = store.as_ref();
    match command {
        KeysCommand::Create(a) => create::<ApiKeys>(store, config, a).await,
        KeysCommand::List(a) => list::<ApiKeys>(store, config, a).await,
        KeysCommand::Rotate(a) => rotate::<ApiKeys>(store, config, a).await,
        KeysCommand::Revoke(a) => revoke::<ApiKeys>(store, a).await,
        KeysCommand::Update(a) => update::<ApiKeys>(store, a).await,
        KeysCommand::Verify => return super::verify::run(store).await,
    }?;
    Ok(0)
}

/// Runs one `clients` command; returns the exit code.
pub async fn run_clients(config: &Config, command: ClientsCommand) -> anyhow::Result<i32> {
    let store = open_store(config).await?;
    let store = store.as_ref();
    match command {
        ClientsCommand::Create(a) => create::<OAuthClients>(store, config, a).await,
        ClientsCommand::List(a) => list::<OAuthClients>(store, config, a).await,
        ClientsCommand::Rotate(a) => rotate::<OAuthClients>(store, config, a).await,
        ClientsCommand::Revoke(a) => revoke::<OAuthClients>(store, a).await,
        ClientsCommand::Update(a) => update::<OAuthClients>(store, a).await,
    }?;
    Ok(0)
}

/// The project named `name`; `default` is created on first use.
pub async fn project_named(store: &dyn Store, name: &str) -> anyhow::Result<Project> {
    if name == tollgate_core::project::DEFAULT_PROJECT {
        return Ok(store.ensure_project(name).await?);
    }
    store.find_project(name).await?.ok_or_else(|| anyhow!("no project named `{name}` (see `tollgate projects list`)"))
}

fn parse_id<K: CredentialRoutes>(s: &str) -> anyhow::Result<CredentialId> {
    CredentialId::parse(s)
        .filter(|id| id.kind() == K::KIND)
        .ok_or_else(|| anyhow!("`{s}` is not a {} id", noun(K::KIND)))
}

fn noun(kind: CredentialKind) -> &'static str {
    match kind {
        CredentialKind::ApiKey => "key",
        CredentialKind::OAuthClient => "client",
    }
}

fn not_found_as(e: StoreError, what: &str) -> anyhow::Error {
    match e {
        StoreError::NotFound => anyhow!("no {what} in this project"),
        other => other.into(),
    }
}

async fn create<K: CredentialRoutes>(store: &dyn Store, config: &Config, a: CreateArgs) -> anyhow::Result<()> {
    let project = project_named(store, &a.project).await?;
    tollgate_core::credential::check_credential_name(&a.name).map_err(|e| anyhow!("--name: {e}"))?;
    let scopes = Scopes::parse(&a.scopes).map_err(|e| anyhow!("--scopes: {e}"))?;
    let expires_at = match a.expires_in {
        Some(s) => Some(now() + parse_lifetime(&s).map_err(|e| anyhow!("--expires-in: {e}"))?),
        None => None,
    };
    let limits = match &a.limit {
        Some(l) => CredentialLimits::parse(l).map_err(|e| anyhow!("--limit: {e}"))?,
        None => CredentialLimits::default(),
    };
    let secret = SecretToken::generate(K::SECRET);
    let new = NewCredential { id: K::mint_id(), project_id: project.id, name: a.name, scopes, expires_at, limits };
    let cred = store.create_credential(new, secret.digest(), secret.hint()).await?;
    print_secret::<K>(cred, &secret, a.output, config.key_rotation_period);
    Ok(())
}

async fn list<K: CredentialRoutes>(store: &dyn Store, config: &Config, a: ListArgs) -> anyhow::Result<()> {
    let project = project_named(store, &a.project).await?;
    let creds = store.list_credentials(K::KIND, project.id).await?;
    print_list(&creds, a.output, config.key_rotation_period);
    Ok(())
}

async fn rotate<K: CredentialRoutes>(store: &dyn Store, config: &Config, a: RotateArgs) -> anyhow::Result<()> {
    let project = project_named(store, &a.project).await?;
    let grace = parse_duration(&a.grace, true).map_err(|e| anyhow!("--grace: {e}"))?;
    let secret = SecretToken::generate(K::SECRET);
    let id = parse_id::<K>(&a.id)?;
    let cred = store
        .rotate_credential(project.id, id, secret.digest(), secret.hint(), grace)
        .await
        .map_err(|e| not_found_as(e, &format!("{} `{}`", noun(K::KIND), a.id)))?;
    print_secret::<K>(cred, &secret, a.output, config.key_rotation_period);
    Ok(())
}

async fn revoke<K: CredentialRoutes>(store: &dyn Store, a: RevokeArgs) -> anyhow::Result<()> {
    let project = project_named(store, &a.project).await?;
    let id = parse_id::<K>(&a.id)?;
    let cred = store
        .revoke_credential(project.id, id)
        .await
        .map_err(|e| not_found_as(e, &format!("{} `{}`", noun(K::KIND), a.id)))?;
    println!("revoked {} ({})", cred.id, cred.name);
    Ok(())
}

async fn update<K: CredentialRoutes>(store: &dyn Store, a: UpdateArgs) -> anyhow::Result<()> {
    let project = project_named(store, &a.project).await?;
    let id = parse_id::<K>(&a.id)?;
    let limits = CredentialLimits::parse(&a.limit).map_err(|e| anyhow!("--limit: {e}"))?;
    let cred = store
        .set_credential_limits(project.id, id, limits.into())
        .await
        .map_err(|e| not_found_as(e, &format!("{} `{}`", noun(K::KIND), a.id)))?;
    let show = |l: Option<tollgate_core::Limit>| l.map(|l| l.to_string()).unwrap_or_else(|| "default".into());
    println!("{}: read {}, write {}", cred.id, show(cred.limits.read), show(cred.limits.write));
    Ok(())
}

fn print_secret<K: CredentialRoutes>(cred: Credential, secret: &SecretToken, output: Output, period: Duration) {
    if output == Output::Json {
        println!("{}", json!(with_secret::<K>(cred, secret, period)));
        return;
    }
    let expires = cred.expires_at.map(rfc3339).unwrap_or_else(|| "never".into());
    let scopes = cred.scopes.to_space_separated();
    match cred.id {
        CredentialId::OAuthClient(ref id) => {
            println!("client_id:     {id}\nclient_secret: {}", secret.expose());
            eprintln!("client {id} ({}) scopes: {scopes}; expires: {expires}.", cred.name);
        }
        CredentialId::ApiKey(ref id) => {
            println!("{}", secret.expose());
            eprintln!("key {id} ({}) scopes: {scopes}; expires: {expires}.", cred.name);
        }
    }
    eprintln!("Store the secret now: it is never shown again.");
}

fn print_list(creds: &[Credential], output: Output, period: Duration) {
    if output == Output::Json {
        let items: Vec<CredentialView> = creds.iter().cloned().map(|c| CredentialView::new(c, period)).collect();
        println!("{}", json!(items));
        return;
    }
    let at = now();
    let date =
        |t: Option<time::OffsetDateTime>| t.map(|t| rfc3339(t)[..16].replace('T', " ")).unwrap_or_else(|| "-".into());
    let mut rows = vec![["ID", "NAME", "SCOPES", "CREATED", "LAST USED", "EXPIRES", "STATUS"].map(String::from)];
    for c in creds {
        let mut status = c.state(at).as_str().to_owned();
        if c.rotation_due(at, period) {
            status.push_str(" (rotation due)");
        }
        rows.push([
            c.id.to_string(),
            c.name.clone(),
            c.scopes.to_space_separated(),
            date(Some(c.created_at)),
            date(c.last_used_at),
            date(c.expires_at),
            status,
        ]);
    }
    print_table(&rows);
}

/// Prints rows as left-aligned columns.
pub fn print_table<const N: usize>(rows: &[[String; N]]) {
    let widths: Vec<usize> = (0..N).map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0)).collect();
    for row in rows {
        let cells: Vec<String> = row.iter().zip(&widths).map(|(cell, w)| format!("{cell:<w$}")).collect();
        println!("{}", cells.join("  ").trim_end());
    }
}
