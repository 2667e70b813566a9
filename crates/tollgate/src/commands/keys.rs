//! `tollgate keys create|list|rotate|revoke|verify`.

use std::io::{BufRead, IsTerminal};

use anyhow::{anyhow, Context};
use serde_json::json;
use time::Duration;
use tollgate_auth::{CredentialKind, SecretToken};
use tollgate_core::duration::parse_duration;
use tollgate_core::time_fmt::{now, rfc3339};
use tollgate_core::{ApiKey, KeyId, KeyState, NewApiKey, Project, Scopes};
use tollgate_store::{SqliteStore, Store, StoreError};

use crate::cli::{KeysCommand, Output};
use crate::config::Config;

/// Runs one key command; returns the process exit code.
pub async fn run(config: &Config, command: KeysCommand) -> anyhow::Result<i32> {
    let store = SqliteStore::open(&config.data_dir)
        .with_context(|| format!("opening the database in {}", config.data_dir.display()))?;
    let period = config.key_rotation_period;
    match command {
        KeysCommand::Create {
            name,
            scopes,
            expires_in,
            project,
            output,
        } => {
            let project = project_named(&store, &project, true).await?;
            let scopes = Scopes::parse(&scopes).map_err(|e| anyhow!("--scopes: {e}"))?;
            let expires_at = match expires_in {
                Some(s) => Some(
                    now() + parse_duration(&s, false).map_err(|e| anyhow!("--expires-in: {e}"))?,
                ),
                None => None,
            };
            let secret = SecretToken::generate(CredentialKind::ApiKey);
            let new = NewApiKey {
                project_id: project.id,
                name,
                scopes,
                expires_at,
            };
            let key = store
                .create_key(new, secret.digest(), secret.hint())
                .await?;
            print_secret(&key, &secret, output, period);
        }
        KeysCommand::List { project, output } => {
            let project = project_named(&store, &project, false).await?;
            let keys = store.list_keys(project.id).await?;
            print_list(&keys, output, period);
        }
        KeysCommand::Rotate {
            id,
            grace,
            project,
            output,
        } => {
            let project = project_named(&store, &project, false).await?;
            let grace = parse_duration(&grace, true).map_err(|e| anyhow!("--grace: {e}"))?;
            let secret = SecretToken::generate(CredentialKind::ApiKey);
            let key = store
                .rotate_key(
                    project.id,
                    key_id(&id)?,
                    secret.digest(),
                    secret.hint(),
                    grace,
                )
                .await
                .map_err(|e| not_found_as(e, &id))?;
            print_secret(&key, &secret, output, period);
        }
        KeysCommand::Revoke { id, project } => {
            let project = project_named(&store, &project, false).await?;
            let key = store
                .revoke_key(project.id, key_id(&id)?)
                .await
                .map_err(|e| not_found_as(e, &id))?;
            println!("revoked {} ({})", key.id, key.name);
        }
        KeysCommand::Verify => return verify(&store).await,
    }
    Ok(0)
}

async fn project_named(
    store: &SqliteStore,
    name: &str,
    create_default: bool,
) -> anyhow::Result<Project> {
    if create_default && name == tollgate_core::project::DEFAULT_PROJECT {
        return Ok(store.ensure_project(name).await?);
    }
    store
        .find_project(name)
        .await?
        .ok_or_else(|| anyhow!("no project named `{name}`"))
}

fn key_id(s: &str) -> anyhow::Result<KeyId> {
    KeyId::parse(s).ok_or_else(|| anyhow!("`{s}` is not a key id (key_...)"))
}

fn not_found_as(e: StoreError, id: &str) -> anyhow::Error {
    match e {
        StoreError::NotFound => anyhow!("no key `{id}` in this project"),
        other => other.into(),
    }
}

fn key_json(key: &ApiKey, period: Duration) -> serde_json::Value {
    let at = now();
    json!({
        "id": key.id.to_string(),
        "name": key.name,
        "scopes": key.scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
        "hint": key.hint,
        "status": key.state(at).as_str(),
        "created_at": rfc3339(key.created_at),
        "rotated_at": rfc3339(key.rotated_at),
        "expires_at": key.expires_at.map(rfc3339),
        "last_used_at": key.last_used_at.map(rfc3339),
        "revoked_at": key.revoked_at.map(rfc3339),
        "rotation_due": key.rotation_due(at, period),
    })
}

fn print_secret(key: &ApiKey, secret: &SecretToken, output: Output, period: Duration) {
    match output {
        Output::Json => println!(
            "{}",
            json!({"key": key_json(key, period), "secret": secret.expose()})
        ),
        Output::Table => {
            println!("{}", secret.expose());
            eprintln!(
                "key {} ({}) scopes: {}; expires: {}.\nStore the secret above now: it is never shown again.",
                key.id,
                key.name,
                key.scopes.to_space_separated(),
                key.expires_at.map(rfc3339).unwrap_or_else(|| "never".into())
            );
        }
    }
}

fn print_list(keys: &[ApiKey], output: Output, period: Duration) {
    if output == Output::Json {
        let items: Vec<_> = keys.iter().map(|k| key_json(k, period)).collect();
        println!("{}", serde_json::Value::Array(items));
        return;
    }
    let at = now();
    let date = |t: Option<time::OffsetDateTime>| {
        t.map(|t| rfc3339(t)[..16].replace('T', " "))
            .unwrap_or_else(|| "-".into())
    };
    let mut rows = vec![[
        "ID",
        "NAME",
        "SCOPES",
        "CREATED",
        "LAST USED",
        "EXPIRES",
        "STATUS",
    ]
    .map(String::from)];
    for k in keys {
        let mut status = k.state(at).as_str().to_owned();
        if k.rotation_due(at, period) {
            status.push_str(" (rotation due)");
        }
        rows.push([
            k.id.to_string(),
            k.name.clone(),
            k.scopes.to_space_separated(),
            date(Some(k.created_at)),
            date(k.last_used_at),
            date(k.expires_at),
            status,
        ]);
    }
    let widths: Vec<usize> = (0..7)
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    for row in rows {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        println!("{}", cells.join("  ").trim_end());
    }
}

/// The key to verify: piped stdin first (so `verify < file` checks the file even when
/// `TOLLGATE_API_KEY` is set), then the environment, then a prompt on a terminal.
fn read_key_input() -> anyhow::Result<String> {
    let stdin = std::io::stdin();
    let mut line = String::new();
    if !stdin.is_terminal() {
        stdin
            .lock()
            .read_line(&mut line)
            .context("reading the key from stdin")?;
        if !line.trim().is_empty() {
            return Ok(line.trim().to_owned());
        }
    }
    if let Ok(v) = std::env::var("TOLLGATE_API_KEY") {
        if !v.trim().is_empty() {
            return Ok(v.trim().to_owned());
        }
    }
    if stdin.is_terminal() {
        eprintln!("paste the key and press Enter:");
        stdin
            .lock()
            .read_line(&mut line)
            .context("reading the key from stdin")?;
    }
    Ok(line.trim().to_owned())
}

/// Reads a key (see [`read_key_input`]) and checks it.
async fn verify(store: &SqliteStore) -> anyhow::Result<i32> {
    let raw = read_key_input()?;
    let secret = match SecretToken::parse(CredentialKind::ApiKey, raw.trim()) {
        Ok(s) => s,
        Err(_) => {
            println!("invalid: not a Tollgate API key (wrong prefix, length or checksum)");
            return Ok(1);
        }
    };
    let at = now();
    let found = store.find_key_by_digest(secret.digest(), at).await?;
    let Some(found) = found.filter(|m| m.stored_digest.ct_eq(&secret.digest())) else {
        println!("invalid: unknown key");
        return Ok(1);
    };
    let key = found.key;
    let state = key.state(at);
    println!("key id:  {}", key.id);
    println!("name:    {}", key.name);
    println!("scopes:  {}", key.scopes.to_space_separated());
    println!(
        "expires: {}",
        key.expires_at
            .map(rfc3339)
            .unwrap_or_else(|| "never".into())
    );
    println!("status:  {}", state.as_str());
    Ok(if state == KeyState::Active { 0 } else { 1 })
}
