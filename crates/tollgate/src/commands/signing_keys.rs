//! `tollgate signing-keys rotate|list`. Rotation publishes the new key at once and signs with it;
//! the previous key stays in the JWKS until every token it signed has expired (token lifetime
//! plus the verification leeway). Running servers pick the change up within seconds.

use anyhow::anyhow;
use tollgate_auth::jwt::generate_signing_key;
use tollgate_core::time_fmt::{now, rfc3339};

use super::credentials::{open_store, print_table};
use crate::cli::SigningKeysCommand;
use crate::config::Config;

/// Runs one `signing-keys` command.
pub async fn run(config: &Config, command: SigningKeysCommand) -> anyhow::Result<i32> {
    let store = open_store(config).await?;
    match command {
        SigningKeysCommand::Rotate => {
            let alg = config.jwt_algorithm;
            let key = tokio::task::spawn_blocking(move || generate_signing_key(alg)).await?.map_err(|e| anyhow!(e))?;
            let kid = key.kid.clone();
            let retire = now() + config.token_ttl + time::Duration::seconds(config.token_leeway as i64);
            store.add_signing_key(key, Some(retire)).await?;
            println!("new signing key {kid} ({alg}); previous keys stay published until {}", rfc3339(retire));
        }
        SigningKeysCommand::List => {
            let mut rows = vec![["KID", "ALGORITHM", "CREATED", "RETIRES"].map(String::from)];
            for k in store.live_signing_keys(now()).await? {
                let retires = k.retire_at.map(rfc3339).unwrap_or_else(|| "- (signing)".into());
                rows.push([k.kid, k.algorithm, rfc3339(k.created_at), retires]);
            }
            print_table(&rows);
        }
    }
    Ok(0)
}
