//! Credentials and token checks kept in memory, so that an authenticated request reads nothing
//! from the database to know who is calling.
//!
//! A revocation through any node (or the CLI) must still be refused by every node within a
//! second. Triggers bump `credential_changes.version` in the transaction of every change to what
//! authentication reads (migration 0010 on SQLite, 0011 on PostgreSQL, which also notifies on
//! [`CHANNEL`] at commit). Each node's watcher ([`crate::Db::spawn_credential_watch`]) reads the
//! version every [`POLL`], and at once on a notification; a new version empties the cache. The
//! cache answers only while it is *fresh*: while the last read of the version that matched began
//! less than [`FRESH`] ago. A node whose reads fail (its database connection or notification
//! feed lost) lets freshness lapse and reads through until a read succeeds again, which is when
//! it has caught up. Changes made through this node empty it at once.
//!
//! A read that raced a change must not put what it read back after the change emptied the
//! cache: every emptying bumps an epoch, and an entry is kept only if the epoch is the one its
//! read began in.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rustc_hash::FxHashMap;
use time::OffsetDateTime;
use tollgate_auth::SecretDigest;

use crate::{CredentialMatch, TokenCheck};

/// The PostgreSQL channel the triggers notify at every credential change's commit.
pub const CHANNEL: &str = "tollgate_credentials";
/// How often the watcher reads the version without a notification.
pub const POLL: Duration = Duration::from_millis(100);
/// How long one matching read of the version lets the cache answer: the longest a change made
/// through another node or process can go unseen, well inside the second the service promises.
pub const FRESH: Duration = Duration::from_millis(500);
/// Entries per kind; beyond it the kind is emptied (valid credentials are few; tokens churn).
const CAPACITY: usize = 10_000;

/// What authentication read, kept while nothing it depends on has changed.
#[derive(Default)]
pub struct AuthCache {
    state: Mutex<State>,
    hits: AtomicU64,
    misses: AtomicU64,
    emptied: AtomicU64,
    lapses: AtomicU64,
}

#[derive(Default)]
struct State {
    epoch: u64,
    version: Option<i64>,
    fresh_until: Option<Instant>,
    /// Whether the last read of the version failed.
    lapsed: bool,
    /// By the SHA-256 digest of the secret. Fx rather than SipHash: a digest is already uniform
    /// and only found credentials are kept, so nobody can choose keys that collide, and the
    /// lookup runs on every request with an API key.
    keys: FxHashMap<SecretDigest, CredentialMatch>,
    /// By `jti` (minted unique by this service), with the client it was checked for.
    tokens: HashMap<String, (String, TokenCheck)>,
}

/// A miss: the epoch its read through begins in, to hand back with what it read.
#[derive(Debug, Clone, Copy)]
pub struct Ticket(u64);

/// The cache's counters, for metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthCacheStats {
    /// Lookups answered from memory.
    pub hits: u64,
    /// Lookups read through to the database.
    pub misses: u64,
    /// Times a change emptied the cache.
    pub emptied: u64,
    /// Times a read of the version failed, so the node read through until it caught up.
    pub lapses: u64,
    /// Whether the cache answers now.
    pub fresh: bool,
}

impl AuthCache {
    /// The credential whose secret has `digest`, if it is known, fresh, and that secret still
    /// works at `now` (a rotated-away secret ends after its grace period).
    pub fn key(&self, digest: &SecretDigest, now: OffsetDateTime) -> Result<CredentialMatch, Ticket> {
        let state = self.lock();
        let hit = state
            .is_fresh()
            .then(|| state.keys.get(digest))
            .flatten()
            .filter(|m| m.secret_expires_at.is_none_or(|end| end > now))
            .cloned();
        self.answer(hit, &state)
    }

    /// Keeps what a read through for `digest` found.
    pub fn put_key(&self, ticket: Ticket, digest: SecretDigest, found: CredentialMatch) {
        let mut state = self.lock();
        if state.epoch == ticket.0 {
            if state.keys.len() >= CAPACITY {
                state.keys.clear();
            }
            state.keys.insert(digest, found);
        }
    }

    /// The check of `client`'s token `jti`, if it is known and fresh.
    pub fn token(&self, client: &str, jti: &str) -> Result<TokenCheck, Ticket> {
        let state = self.lock();
        let hit = state
            .is_fresh()
            .then(|| state.tokens.get(jti))
            .flatten()
            .filter(|(checked_for, _)| checked_for == client)
            .map(|(_, check)| check.clone());
        self.answer(hit, &state)
    }

    /// Keeps what a read through for `client`'s token `jti` found.
    pub fn put_token(&self, ticket: Ticket, client: String, jti: String, check: TokenCheck) {
        let mut state = self.lock();
        if state.epoch == ticket.0 {
            if state.tokens.len() >= CAPACITY {
                state.tokens.clear();
            }
            state.tokens.insert(jti, (client, check));
        }
    }

    /// Forgets everything: a change went through this node.
    pub fn empty(&self) {
        let mut state = self.lock();
        self.empty_locked(&mut state);
    }

    /// The watcher read `version` in a read that began at `started`.
    pub fn confirm(&self, version: i64, started: Instant) {
        let mut state = self.lock();
        if state.version != Some(version) {
            self.empty_locked(&mut state);
            state.version = Some(version);
        }
        state.lapsed = false;
        let until = started + FRESH;
        state.fresh_until = Some(state.fresh_until.map_or(until, |t| t.max(until)));
    }

    /// The watcher could not read the version: stop answering until it can.
    pub fn lapse(&self) {
        let mut state = self.lock();
        if !state.lapsed {
            self.lapses.fetch_add(1, Ordering::Relaxed);
        }
        state.lapsed = true;
        state.fresh_until = None;
    }

    /// Counters for metrics.
    pub fn stats(&self) -> AuthCacheStats {
        let fresh = self.lock().is_fresh();
        AuthCacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            emptied: self.emptied.load(Ordering::Relaxed),
            lapses: self.lapses.load(Ordering::Relaxed),
            fresh,
        }
    }

    fn answer<T>(&self, hit: Option<T>, state: &State) -> Result<T, Ticket> {
        match hit {
            Some(hit) => {
                self.hits.fetch_add(1, Ordering::Relaxed);
                Ok(hit)
            }
            None => {
                self.misses.fetch_add(1, Ordering::Relaxed);
                Err(Ticket(state.epoch))
            }
        }
    }

    fn empty_locked(&self, state: &mut State) {
        state.epoch = state.epoch.wrapping_add(1);
        state.keys.clear();
        state.tokens.clear();
        self.emptied.fetch_add(1, Ordering::Relaxed);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // Nothing panics while holding it; a poisoned lock still holds consistent maps.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl State {
    fn is_fresh(&self) -> bool {
        self.fresh_until.is_some_and(|t| Instant::now() < t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;
    use tollgate_core::{Credential, CredentialId, CredentialLimits, KeyId, ProjectId, Scopes};

    fn found(secret_expires_at: Option<OffsetDateTime>) -> CredentialMatch {
        let at = datetime!(2026-01-01 0:00 UTC);
        CredentialMatch {
            credential: Credential {
                id: CredentialId::ApiKey(KeyId::generate()),
                project_id: ProjectId::generate(),
                name: "k".into(),
                scopes: Scopes::parse("resource:read").unwrap(),
                hint: "tgk_...".into(),
                limits: CredentialLimits::default(),
                created_at: at,
                rotated_at: at,
                expires_at: None,
                last_used_at: None,
                revoked_at: None,
            },
            stored_digest: SecretDigest([1; 32]),
            secret_expires_at,
        }
    }

    const NOW: OffsetDateTime = datetime!(2026-06-01 0:00 UTC);

    /// A lookup that misses, then keeps what its read through found.
    fn read_through(cache: &AuthCache, digest: SecretDigest, secret_expires_at: Option<OffsetDateTime>) {
        let ticket = cache.key(&digest, NOW).unwrap_err();
        cache.put_key(ticket, digest, found(secret_expires_at));
    }

    #[test]
    fn answers_only_while_fresh_and_only_what_it_was_given() {
        let cache = AuthCache::default();
        let digest = SecretDigest([1; 32]);
        // Never confirmed: reads go through, and the first version read empties what they kept.
        read_through(&cache, digest, None);
        assert!(cache.key(&digest, NOW).is_err());
        cache.confirm(7, Instant::now());
        read_through(&cache, digest, None);
        assert!(cache.key(&digest, NOW).is_ok());
        assert!(cache.key(&SecretDigest([2; 32]), NOW).is_err());
        // A failed read of the version: through to the database until one succeeds.
        cache.lapse();
        assert!(cache.key(&digest, NOW).is_err());
        cache.confirm(7, Instant::now());
        assert!(cache.key(&digest, NOW).is_ok());
        // Freshness runs out without a new read.
        cache.lapse();
        cache.confirm(7, Instant::now() - FRESH);
        assert!(cache.key(&digest, NOW).is_err());
        let stats = cache.stats();
        assert_eq!((stats.hits, stats.lapses, stats.fresh), (2, 2, false));
    }

    #[test]
    fn a_new_version_or_a_change_here_empties_it() {
        let cache = AuthCache::default();
        let digest = SecretDigest([1; 32]);
        cache.confirm(1, Instant::now());
        read_through(&cache, digest, None);
        assert!(cache.key(&digest, NOW).is_ok());
        cache.confirm(2, Instant::now());
        assert!(cache.key(&digest, NOW).is_err());

        read_through(&cache, digest, None);
        cache.empty();
        assert!(cache.key(&digest, NOW).is_err());
    }

    #[test]
    fn a_read_that_raced_a_change_is_not_kept() {
        let cache = AuthCache::default();
        let digest = SecretDigest([1; 32]);
        cache.confirm(1, Instant::now());
        let ticket = cache.key(&digest, NOW).unwrap_err();
        // The change commits and is seen while the read is still under way.
        cache.confirm(2, Instant::now());
        cache.put_key(ticket, digest, found(None));
        assert!(cache.key(&digest, NOW).is_err());
        let ticket = cache.token("cli_x", "jti").unwrap_err();
        cache.empty();
        cache.put_token(ticket, "cli_x".into(), "jti".into(), TokenCheck { client: None, revoked: true });
        assert!(cache.token("cli_x", "jti").is_err());
    }

    #[test]
    fn a_token_check_answers_only_for_the_client_it_was_made_for() {
        let cache = AuthCache::default();
        cache.confirm(1, Instant::now());
        let ticket = cache.token("cli_a", "jti").unwrap_err();
        cache.put_token(ticket, "cli_a".into(), "jti".into(), TokenCheck { client: None, revoked: false });
        assert!(cache.token("cli_a", "jti").is_ok());
        assert!(cache.token("cli_b", "jti").is_err());
    }

    #[test]
    fn a_full_cache_starts_again_rather_than_growing() {
        let cache = AuthCache::default();
        cache.confirm(1, Instant::now());
        for i in 0..=CAPACITY {
            let digest = SecretDigest(sha2_like(i));
            read_through(&cache, digest, None);
        }
        let state = cache.lock();
        assert!(state.keys.len() <= CAPACITY, "{}", state.keys.len());
        assert_eq!(state.keys.len(), 1, "emptied when full, then the newest kept");
    }

    /// A distinct digest per `i`.
    fn sha2_like(i: usize) -> [u8; 32] {
        let mut d = [0; 32];
        d[..8].copy_from_slice(&(i as u64).to_le_bytes());
        d
    }

    #[test]
    fn a_secret_past_its_grace_period_is_not_answered() {
        let cache = AuthCache::default();
        let digest = SecretDigest([1; 32]);
        cache.confirm(1, Instant::now());
        read_through(&cache, digest, Some(NOW + time::Duration::minutes(1)));
        assert!(cache.key(&digest, NOW).is_ok());
        assert!(cache.key(&digest, NOW + time::Duration::minutes(1)).is_err());
    }
}
