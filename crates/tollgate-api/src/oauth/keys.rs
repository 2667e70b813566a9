//! Signing and verification keys, cached from the store. Every node reads the same keys, so a
//! token issued by one is valid on all. The cache reloads every few seconds (to pick up
//! `tollgate signing-keys rotate` run elsewhere) and at once when a token names an unknown `kid`.

use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use tollgate_auth::jwt::{generate_signing_key, KeySet, SigningAlgorithm};
use tollgate_core::time_fmt::now;
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
    minting: tokio::sync::Mutex<()>,
}

impl TokenKeys {
    /// An empty cache over `store`.
    pub fn new(store: Arc<dyn Store>, algorithm: SigningAlgorithm) -> Self {
        Self { store, algorithm, set: RwLock::new(None), last_forced: Mutex::new(None), minting: Default::default() }
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

    /// A key set that can sign; mints the installation's first key when there is none.
    pub async fn for_signing(&self) -> Result<Arc<KeySet>, StoreError> {
        let set = self.current().await?;
        if set.can_sign() {
            return Ok(set);
        }
        let _one_at_a_time = self.minting.lock().await;
        let set = self.reload().await?;
        if set.can_sign() {
            return Ok(set);
        }
        let alg = self.algorithm;
        let record = tokio::task::spawn_blocking(move || generate_signing_key(alg))
            .await
            .map_err(|e| StoreError::internal("minting a signing key", e))?
            .map_err(|e| StoreError::internal("minting a signing key", e))?;
        // With another key already live (another node won the race), this adds nothing.
        self.store.add_signing_key(record, None).await?;
        self.reload().await
    }

    async fn reload(&self) -> Result<Arc<KeySet>, StoreError> {
        let records = self.store.live_signing_keys(now()).await?;
        let set = Arc::new(KeySet::new(self.algorithm, &records));
        *self.set.write().unwrap_or_else(|p| p.into_inner()) = Some((set.clone(), Instant::now()));
        Ok(set)
    }
}
