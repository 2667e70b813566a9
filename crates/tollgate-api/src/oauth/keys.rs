//! Signing and verification keys, cached from the store. Every node reads the same keys, so a
//! token issued by one is valid on all. The cache reloads every few seconds (to pick up
//! `tollgate signing-keys rotate` run elsewhere) and at once when a token names an unknown `kid`.
//! Keys are made at start ([`ensure_signing_key`]) and by `signing-keys rotate`, never on a
//! request: an RSA key costs a good part of a second of CPU.

use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use tollgate_auth::jwt::{generate_signing_key, KeySet, SigningAlgorithm};
use tollgate_core::time_fmt::{now, rfc3339};
use tollgate_store::{Store, StoreError};

/// How long a loaded key set is used before it is read again.
const REFRESH_EVERY: Duration = Duration::from_secs(2);
/// Unknown `kid`s force a reload at most this often, so forged tokens cannot hammer the store.
const FORCED_RELOAD_GAP: Duration = Duration::from_secs(1);

/// The cache.
pub struct TokenKeys {
    store: Arc<dyn Store>,
    algorithm: SigningAlgorithm,
    set: RwLock<Option<(Arc<KeySet>, Instant)>>,
    last_forced: Mutex<Option<Instant>>,
}

impl TokenKeys {
    /// An empty cache over `store`.
    pub fn new(store: Arc<dyn Store>, algorithm: SigningAlgorithm) -> Self {
        Self { store, algorithm, set: RwLock::new(None), last_forced: Mutex::new(None) }
    }

    /// The configured algorithm.
    pub fn algorithm(&self) -> SigningAlgorithm {
        self.algorithm
    }

    /// The current key set, reloaded when stale.
    pub async fn current(&self) -> Result<Arc<KeySet>, StoreError> {
        if let Some((set, at)) = self.set.read().unwrap_or_else(|p| p.into_inner()).as_ref() {
            if at.elapsed() < REFRESH_EVERY {
                return Ok(set.clone());
            }
        }
        self.reload().await
    }

    /// Reloads because a token named `kid`, unless a forced reload just happened.
    pub async fn reload_for_unknown_kid(&self) -> Result<Arc<KeySet>, StoreError> {
        let allowed = {
            let mut last = self.last_forced.lock().unwrap_or_else(|p| p.into_inner());
            let allowed = last.is_none_or(|t| t.elapsed() >= FORCED_RELOAD_GAP);
            if allowed {
                *last = Some(Instant::now());
            }
            allowed
        };
        if allowed {
            self.reload().await
        } else {
            self.current().await
        }
    }

    /// A key set that can sign. Without a signing key of the configured algorithm (one was
    /// retired by hand, or another node changed algorithm) this is an error, not a new key:
    /// keys are minted at start and by `signing-keys rotate` only.
    pub async fn for_signing(&self) -> Result<Arc<KeySet>, StoreError> {
        let set = self.current().await?;
        if set.can_sign() {
            return Ok(set);
        }
        let set = self.reload().await?;
        if set.can_sign() {
            return Ok(set);
        }
        Err(StoreError::internal(
            "choosing a signing key",
            format!("no live {} signing key: restart the server or run `tollgate signing-keys rotate`", self.algorithm),
        ))
    }

    async fn reload(&self) -> Result<Arc<KeySet>, StoreError> {
        let records = self.store.live_signing_keys(now()).await?;
        let set = Arc::new(KeySet::new(self.algorithm, &records));
        *self.set.write().unwrap_or_else(|p| p.into_inner()) = Some((set.clone(), Instant::now()));
        Ok(set)
    }
}

/// Makes sure a key of `algorithm` signs, before the server takes requests. On a fresh
/// installation this mints the first key. When the live signing key has another algorithm
/// (`jwt_algorithm` changed), it rotates: the new key signs from now on, and the old one stays
/// published for `overlap` (the token lifetime plus the leeway) so its tokens keep verifying
/// until they expire. Returns the new key's id, if one was made.
pub async fn ensure_signing_key(
    store: &dyn Store,
    algorithm: SigningAlgorithm,
    overlap: time::Duration,
) -> Result<Option<String>, StoreError> {
    let live = store.live_signing_keys(now()).await?;
    let signing = live.iter().find(|k| k.retire_at.is_none());
    if signing.is_some_and(|k| k.algorithm == algorithm.as_str()) {
        return Ok(None);
    }
    let record = tokio::task::spawn_blocking(move || generate_signing_key(algorithm))
        .await
        .map_err(|e| StoreError::internal("minting a signing key", e))?
        .map_err(|e| StoreError::internal("minting a signing key", e))?;
    let kid = record.kid.clone();
    match signing {
        // Without a signing key this adds the first; when another node won that race, it adds
        // nothing and that node's key (of the same configuration) is used.
        None => {
            if !store.add_signing_key(record, None).await? {
                return Ok(None);
            }
            tracing::info!(signing_key.kid = %kid, signing_key.algorithm = %algorithm, "created the first signing key");
        }
        Some(previous) => {
            let retire = now() + overlap;
            store.add_signing_key(record, Some(retire)).await?;
            tracing::warn!(
                signing_key.kid = %kid,
                signing_key.algorithm = %algorithm,
                previous.kid = %previous.kid,
                previous.algorithm = %previous.algorithm,
                previous.retires_at = %rfc3339(retire),
                "`jwt_algorithm` differs from the live signing key's: rotated to a new key; the previous one stays published until its tokens expire"
            );
        }
    }
    Ok(Some(kid))
}
