//! Requests per credential and hour, counted in memory as requests authenticate and added to
//! the store in batches by a background task ([`run_flusher`], which `serve` owns), so that no
//! request waits on a write. Each node flushes its own counts; the store adds them up. A failed
//! flush keeps its counts for the next one; the last flush runs on shutdown. Counts are spread
//! over shards by credential, so that requests of different credentials (on different worker
//! threads) do not queue on one lock; a credential's counts all live in its one shard.

use std::hash::BuildHasher;
use std::sync::Mutex;
use std::time::Duration;

use rustc_hash::FxHashMap;
use time::OffsetDateTime;
use tokio::sync::watch;
use tollgate_core::{CredentialId, ProjectId};
use tollgate_store::usage::{hour_of, HourlyCount};
use tollgate_store::{Store, StoreError};

/// (credential, hour start in unix seconds) -> (its project, requests not yet flushed).
type Pending = FxHashMap<(CredentialId, i64), (ProjectId, u64)>;

/// Shards: a power of two above the worker threads of any machine this runs on.
const SHARDS: usize = 16;

/// This node's counts since the last flush.
pub struct HourlyCounter {
    shards: [Mutex<Pending>; SHARDS],
}

impl Default for HourlyCounter {
    fn default() -> Self {
        Self { shards: std::array::from_fn(|_| Mutex::default()) }
    }
}

impl HourlyCounter {
    /// The shard that holds `credential`'s counts, locked.
    fn lock(&self, credential: &CredentialId) -> std::sync::MutexGuard<'_, Pending> {
        // Fx, as the limiter's shards: credential ids are minted by the server, not chosen.
        let shard = rustc_hash::FxBuildHasher.hash_one(credential) as usize % SHARDS;
        Self::lock_shard(&self.shards[shard])
    }

    fn lock_shard(shard: &Mutex<Pending>) -> std::sync::MutexGuard<'_, Pending> {
        shard.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Counts one request of `credential` at `at`.
    pub fn count(&self, credential: &CredentialId, project: ProjectId, at: OffsetDateTime) {
        let hour = hour_of(at).unix_timestamp();
        let mut pending = self.lock(credential);
        match pending.get_mut(&(credential.clone(), hour)) {
            Some((_, n)) => *n += 1,
            None => {
                pending.insert((credential.clone(), hour), (project, 1));
            }
        }
    }

    /// Takes every count, leaving none.
    pub fn take(&self) -> Vec<HourlyCount> {
        let mut out = Vec::new();
        for shard in &self.shards {
            let pending = std::mem::take(&mut *Self::lock_shard(shard));
            out.extend(pending.into_iter().map(|((credential, hour), (project_id, requests))| HourlyCount {
                project_id,
                credential,
                hour: OffsetDateTime::from_unix_timestamp(hour).unwrap_or(OffsetDateTime::UNIX_EPOCH),
                requests,
            }));
        }
        out
    }

    /// Puts back counts a flush could not write.
    pub fn restore(&self, counts: Vec<HourlyCount>) {
        for c in counts {
            let mut pending = self.lock(&c.credential);
            pending.entry((c.credential, c.hour.unix_timestamp())).or_insert((c.project_id, 0)).1 += c.requests;
        }
    }

    /// The counts of `credential` not flushed yet: `(hour start, requests)`.
    pub fn unflushed(&self, credential: &CredentialId) -> Vec<(OffsetDateTime, u64)> {
        let pending = self.lock(credential);
        let of = pending.iter().filter(|((c, _), _)| c == credential);
        of.filter_map(|((_, hour), (_, n))| Some((OffsetDateTime::from_unix_timestamp(*hour).ok()?, *n))).collect()
    }
}

/// Writes every pending count in one batch; on failure they stay pending.
pub async fn flush(store: &dyn Store, counter: &HourlyCounter) -> Result<usize, StoreError> {
    let counts = counter.take();
    let n = counts.len();
    if let Err(e) = store.add_hourly_counts(counts.clone()).await {
        counter.restore(counts);
        return Err(e);
    }
    Ok(n)
}

/// Flushes every `every` until `stop` turns true, then once more.
pub async fn run_flusher(
    store: std::sync::Arc<dyn Store>,
    counter: std::sync::Arc<HourlyCounter>,
    every: Duration,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let stopping = tokio::select! {
            () = tokio::time::sleep(every) => false,
            _ = stop.changed() => true,
        };
        if let Err(e) = flush(store.as_ref(), &counter).await {
            tracing::warn!(error = %e, "could not write hourly request counts; they are kept for the next flush");
        }
        if stopping || *stop.borrow() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tollgate_core::KeyId;

    #[test]
    fn counts_per_credential_and_hour_and_restores_what_was_not_written() {
        let c = HourlyCounter::default();
        let (a, b) = (CredentialId::ApiKey(KeyId::generate()), CredentialId::ApiKey(KeyId::generate()));
        let p = ProjectId::generate();
        let t = OffsetDateTime::from_unix_timestamp(7200 + 59).unwrap();
        c.count(&a, p, t);
        c.count(&a, p, t + time::Duration::minutes(30));
        c.count(&a, p, t + time::Duration::hours(1));
        c.count(&b, p, t);
        let mut unflushed = c.unflushed(&a);
        unflushed.sort();
        assert_eq!(unflushed, [(hour_of(t), 2), (hour_of(t) + time::Duration::hours(1), 1)]);
        let taken = c.take();
        assert_eq!(taken.iter().map(|c| c.requests).sum::<u64>(), 4);
        assert!(c.take().is_empty());
        c.count(&b, p, t);
        c.restore(taken);
        assert_eq!(c.unflushed(&b), [(hour_of(t), 2)]);
    }

    /// Many credentials, so that every shard holds some, counted from several threads: each
    /// credential's hours add up, and a take empties every shard.
    #[test]
    fn counts_across_shards_add_up() {
        let c = std::sync::Arc::new(HourlyCounter::default());
        let p = ProjectId::generate();
        let keys: Vec<CredentialId> = (0..512).map(|_| CredentialId::ApiKey(KeyId::generate())).collect();
        let t = OffsetDateTime::from_unix_timestamp(36_000).unwrap();
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let (c, keys) = (c.clone(), keys.clone());
                std::thread::spawn(move || {
                    for (i, k) in keys.iter().enumerate() {
                        for _ in 0..=i % 8 {
                            c.count(k, p, t);
                        }
                    }
                })
            })
            .collect();
        threads.into_iter().for_each(|h| h.join().unwrap());
        assert!(c.shards.iter().all(|s| !s.lock().unwrap().is_empty()), "512 credentials reach every shard");
        for (i, k) in keys.iter().enumerate() {
            assert_eq!(c.unflushed(k), [(hour_of(t), 4 * (i as u64 % 8 + 1))]);
        }
        let taken = c.take();
        assert_eq!(taken.len(), 512);
        assert_eq!(taken.iter().map(|c| c.requests).sum::<u64>(), 4 * 64 * (1..=8).sum::<u64>());
        assert!(c.take().is_empty());
    }
}
