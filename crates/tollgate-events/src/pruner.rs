//! The background pruner: every `interval`, deletes what is past retention in small batches
//! (each its own short transaction, with a pause between them so requests' writes go first),
//! and reports rows per table and rows pruned. With several nodes each runs it; batches are
//! idempotent deletes, so overlapping passes only find less to do. On PostgreSQL each pass also
//! refreshes the planner statistics of tables that changed a lot (`RetentionStore::refresh_statistics`).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tollgate_core::time_fmt::now;
use tollgate_store::retention::{Pruned, Retention};
use tollgate_store::{Store, StoreError};

/// Pruner settings.
#[derive(Debug, Clone, Copy)]
pub struct PrunerSettings {
    /// What is kept, and for how long.
    pub retention: Retention,
    /// Time between passes.
    pub interval: Duration,
    /// Rows of each kind per transaction.
    pub batch: u32,
    /// Pause between two batches.
    pub pause: Duration,
}

impl Default for PrunerSettings {
    fn default() -> Self {
        Self {
            retention: Retention::default(),
            interval: Duration::from_secs(60),
            batch: 100,
            pause: Duration::from_millis(20),
        }
    }
}

/// What the pruner reports after each pass: rows pruned, then rows per table.
pub type PruneObserver = Arc<dyn Fn(&Pruned, &[(&'static str, i64)]) + Send + Sync>;

/// One full pass: batches until nothing past retention is left (or `stop` turns true).
pub async fn prune_once(
    store: &dyn Store,
    settings: &PrunerSettings,
    stop: Option<&watch::Receiver<bool>>,
) -> Result<Pruned, StoreError> {
    let stopping = || stop.is_some_and(|s| *s.borrow());
    let at = now();
    let mut total = Pruned::default();
    let mut after = 0;
    loop {
        let step = store.prune_event_batch(settings.retention, at, after, settings.batch).await?;
        total.add(step.pruned);
        match step.next {
            Some(next) if !stopping() => after = next,
            _ => break,
        }
        tokio::time::sleep(settings.pause).await;
    }
    loop {
        let step = store.prune_expired_batch(at, settings.batch).await?;
        total.add(step);
        let full = [step.idempotency_keys, step.revoked_tokens, step.usage_hours]
            .iter()
            .any(|n| *n >= u64::from(settings.batch));
        if !full || stopping() {
            break;
        }
        tokio::time::sleep(settings.pause).await;
    }
    Ok(total)
}

/// Runs passes every `interval` until `stop` turns true.
pub async fn run(
    store: Arc<dyn Store>,
    settings: PrunerSettings,
    observe: Option<PruneObserver>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        match prune_once(store.as_ref(), &settings, Some(&stop)).await {
            Ok(pruned) => {
                if pruned != Pruned::default() {
                    tracing::info!(
                        events = pruned.events,
                        webhook_deliveries = pruned.deliveries,
                        webhook_attempts = pruned.attempts,
                        idempotency_keys = pruned.idempotency_keys,
                        revoked_tokens = pruned.revoked_tokens,
                        credential_usage_hours = pruned.usage_hours,
                        "pruned rows past retention"
                    );
                }
                if let Some(observe) = &observe {
                    match store.table_rows().await {
                        Ok(rows) => observe(&pruned, &rows),
                        Err(e) => tracing::warn!(error = %e, "could not count rows per table"),
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "pruning stopped early; it runs again next interval"),
        }
        match store.refresh_statistics().await {
            Ok(tables) if !tables.is_empty() => tracing::info!(?tables, "refreshed planner statistics"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "could not refresh planner statistics; tried again next interval"),
        }
        tokio::select! {
            () = tokio::time::sleep(settings.interval) => {}
            _ = stop.changed() => return,
        }
        if *stop.borrow() {
            return;
        }
    }
}
