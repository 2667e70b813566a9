//! `tollgate keys verify`: checks an API key against the data directory.

use std::io::{BufRead, IsTerminal};

use anyhow::Context;
use tollgate_auth::{SecretKind, SecretToken};
use tollgate_core::time_fmt::{now, rfc3339};
use tollgate_core::{CredentialKind, CredentialState};
use tollgate_store::Store;

/// The key to verify: piped stdin first (so `verify < file` checks the file even when
/// `TOLLGATE_API_KEY` is set), then the environment, then a prompt on a terminal.
fn read_key_input() -> anyhow::Result<String> {
    let stdin = std::io::stdin();
    let mut line = String::new();
    if !stdin.is_terminal() {
        stdin.lock().read_line(&mut line).context("reading the key from stdin")?;
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
        stdin.lock().read_line(&mut line).context("reading the key from stdin")?;
    }
    Ok(line.trim().to_owned())
}

/// Prints the key's id, scopes and expiry; exit code 0 when it is valid, 1 when not.
pub async fn run(store: &dyn Store) -> anyhow::Result<i32> {
    let raw = read_key_input()?;
    let Ok(secret) = SecretToken::parse(SecretKind::ApiKey, &raw) else {
        println!("invalid: not a Tollgate API key (wrong prefix, length or checksum)");
        return Ok(1);
    };
    let at = now();
    let found = store.find_credential_by_digest(secret.digest(), at).await?;
    let Some(found) = found.filter(|m| m.stored_digest.ct_eq(&secret.digest())) else {
        println!("invalid: unknown key");
        return Ok(1);
    };
    let key = found.credential;
    if key.id.kind() != CredentialKind::ApiKey {
        println!("invalid: unknown key");
        return Ok(1);
    }
    let state = key.state(at);
    println!("key id:  {}", key.id);
    println!("name:    {}", key.name);
    println!("scopes:  {}", key.scopes.to_space_separated());
    println!("expires: {}", key.expires_at.map(rfc3339).unwrap_or_else(|| "never".into()));
    println!("status:  {}", state.as_str());
    Ok(if state == CredentialState::Active { 0 } else { 1 })
}
