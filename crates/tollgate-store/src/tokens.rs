//! OAuth state: the JWT signing keys and the denylist of revoked access tokens, and the one
//! read token verification makes (the client and the `jti` together).

use async_trait::async_trait;
use time::OffsetDateTime;
use tollgate_core::time_fmt::{now, to_unix_micros};
use tollgate_core::CredentialId;

use crate::conn::{Arg, Conn, Sql};
use crate::db::{Backend, Db};
use crate::rows::signing_key_columns;
use crate::{StoreError, StoredSigningKey, TokenCheck};

/// Signing keys and revoked tokens.
#[async_trait]
pub trait TokenStore: Send + Sync {
    /// The state a token's client and `jti` are in, in one read.
    async fn check_token(&self, client: CredentialId, jti: String) -> Result<TokenCheck, StoreError>;
    /// Denylists a token until `keep_until`: its `exp` plus the verification leeway, since a
    /// verifier accepts it until then. Rows past their own `keep_until` are purged.
    async fn revoke_token(&self, jti: String, keep_until: OffsetDateTime) -> Result<(), StoreError>;
    /// Signing keys not retired at `now`, newest first.
    async fn live_signing_keys(&self, now: OffsetDateTime) -> Result<Vec<StoredSigningKey>, StoreError>;
    /// Adds `key` as the signing key. With `retire_others_at`, the keys signing until now stay in
    /// the JWKS until then; without it, `key` is added only when there is no live key at all
    /// (so nodes starting together mint one key). Returns whether it was added.
    async fn add_signing_key(
        &self,
        key: StoredSigningKey,
        retire_others_at: Option<OffsetDateTime>,
    ) -> Result<bool, StoreError>;
}

/// Serialises signing-key changes between nodes and CLI runs (SQLite's one writer already does).
const LOCK_KEYS: Sql = Sql::each("", "SELECT pg_advisory_xact_lock(8316291910862207347)");
const LIVE_KEYS: Sql = Sql::same(concat!(
    "SELECT ",
    signing_key_columns!(),
    " FROM signing_keys WHERE retire_at IS NULL OR retire_at > $1 ORDER BY created_at DESC, kid DESC"
));
const RETIRE_ALL: Sql = Sql::same("UPDATE signing_keys SET retire_at = $1 WHERE retire_at IS NULL");
const ANY_LIVE: Sql = Sql::same("SELECT kid FROM signing_keys WHERE retire_at IS NULL LIMIT 1");
const INSERT_KEY: Sql = Sql::same(
    "INSERT INTO signing_keys (kid, algorithm, private_der, public_jwk, created_at) VALUES ($1, $2, $3, $4, $5)",
);
const REVOKE: Sql =
    Sql::same("INSERT INTO revoked_tokens (jti, expires_at) VALUES ($1, $2) ON CONFLICT (jti) DO NOTHING");
const PURGE: Sql = Sql::same("DELETE FROM revoked_tokens WHERE expires_at < $1");
const IS_REVOKED: Sql = Sql::same("SELECT jti FROM revoked_tokens WHERE jti = $1");

#[async_trait]
impl<B: Backend> TokenStore for Db<B> {
    async fn check_token(&self, client: CredentialId, jti: String) -> Result<TokenCheck, StoreError> {
        let client = client.to_string();
        let ticket = match self.auth_cache.as_deref().map(|cache| cache.token(&client, &jti)) {
            Some(Ok(hit)) => return Ok(hit),
            Some(Err(ticket)) => Some(ticket),
            None => None,
        };
        let (client, jti, check) = self
            .read("check_token", move |c| {
                Box::pin(async move {
                    let found = c.fetch_optional(&crate::credentials::GET_ANY, &[Arg::Text(&client)]).await?;
                    let revoked: Option<String> = c.fetch_optional(&IS_REVOKED, &[Arg::Text(&jti)]).await?;
                    Ok((client, jti, TokenCheck { client: found, revoked: revoked.is_some() }))
                })
            })
            .await?;
        if let (Some(cache), Some(ticket)) = (self.auth_cache.as_deref(), ticket) {
            cache.put_token(ticket, client, jti, check.clone());
        }
        Ok(check)
    }

    async fn revoke_token(&self, jti: String, keep_until: OffsetDateTime) -> Result<(), StoreError> {
        let out = self
            .write("revoke_token", move |tx| {
                Box::pin(async move {
                    tx.execute(&REVOKE, &[Arg::Text(&jti), Arg::Int(to_unix_micros(keep_until))]).await?;
                    tx.execute(&PURGE, &[Arg::Int(to_unix_micros(now()))]).await.map(drop)
                })
            })
            .await;
        self.credentials_changed();
        out
    }

    async fn live_signing_keys(&self, now: OffsetDateTime) -> Result<Vec<StoredSigningKey>, StoreError> {
        self.read("live_signing_keys", move |c| {
            Box::pin(async move { c.fetch_all(&LIVE_KEYS, &[Arg::Int(to_unix_micros(now))]).await })
        })
        .await
    }

    async fn add_signing_key(
        &self,
        key: StoredSigningKey,
        retire_others_at: Option<OffsetDateTime>,
    ) -> Result<bool, StoreError> {
        self.write("add_signing_key", move |tx| Box::pin(add_key(tx, key, retire_others_at))).await
    }
}

async fn add_key(
    tx: &mut impl Conn,
    key: StoredSigningKey,
    retire_others_at: Option<OffsetDateTime>,
) -> Result<bool, StoreError> {
    tx.execute(&LOCK_KEYS, &[]).await?;
    match retire_others_at {
        Some(at) => {
            tx.execute(&RETIRE_ALL, &[Arg::Int(to_unix_micros(at))]).await?;
        }
        None => {
            let live: Option<String> = tx.fetch_optional(&ANY_LIVE, &[]).await?;
            if live.is_some() {
                return Ok(false);
            }
        }
    }
    let jwk = key.public_jwk.to_string();
    let args = [
        Arg::Text(&key.kid),
        Arg::Text(&key.algorithm),
        Arg::Blob(&key.private_der),
        Arg::Text(&jwk),
        Arg::Int(to_unix_micros(key.created_at)),
    ];
    tx.execute(&INSERT_KEY, &args).await?;
    Ok(true)
}
