//! The webhook dispatcher: leases due deliveries from the store (one node per attempt), sends
//! each with its Standard Webhooks headers and a fresh signature, and records the attempt and
//! what follows: success on 2xx, the endpoint disabled on 410, otherwise a retry per the
//! schedule (no earlier than a receiver's `Retry-After`) until attempts run out.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use time::OffsetDateTime;
use tokio::sync::watch;
use tollgate_core::webhook::{AttemptResult, Attempted, DeliveryJob, NextStep};
use tollgate_store::Store;

use crate::schedule::RetrySchedule;
use crate::signing::sign;
use crate::target::{check_url, PolicyResolver, TargetPolicy};

/// How the dispatcher behaves.
#[derive(Debug, Clone)]
pub struct DispatcherSettings {
    /// Delays between attempts.
    pub schedule: RetrySchedule,
    /// Which addresses may receive webhooks.
    pub policy: TargetPolicy,
    /// Time a receiver gets to answer.
    pub timeout: Duration,
    /// Deliveries leased per round.
    pub batch: u32,
    /// Deliveries in flight at once.
    pub concurrency: usize,
    /// Pause when nothing is due.
    pub idle_poll: Duration,
    /// The egress proxy every delivery goes through (`webhook_proxy`), already checked with
    /// [`crate::target::check_proxy`]. `None`: deliveries connect directly, and proxies named
    /// in the environment (`HTTP_PROXY`, `HTTPS_PROXY`, `ALL_PROXY`) are ignored.
    pub proxy: Option<reqwest::Url>,
}

impl Default for DispatcherSettings {
    fn default() -> Self {
        Self {
            schedule: RetrySchedule::default(),
            policy: TargetPolicy::default(),
            timeout: Duration::from_secs(10),
            batch: 64,
            concurrency: 16,
            idle_poll: Duration::from_millis(200),
            proxy: None,
        }
    }
}

/// Called with each attempt's outcome (`succeeded`, `retrying`, `failed`, `disabled`).
pub type OutcomeHook = Arc<dyn Fn(&'static str) + Send + Sync>;

/// The dispatcher.
pub struct Dispatcher {
    store: Arc<dyn Store>,
    settings: DispatcherSettings,
    on_outcome: Option<OutcomeHook>,
    client: reqwest::Client,
}

impl Dispatcher {
    /// A dispatcher over `store`.
    pub fn new(store: Arc<dyn Store>, settings: DispatcherSettings, on_outcome: Option<OutcomeHook>) -> Self {
        // One client for all deliveries: connections to a receiver are reused, and every new
        // connection's address passes the target policy in the resolver. A proxy from the
        // environment would resolve the target itself and bypass that check, so none is used:
        // only the explicit `webhook_proxy`, whose own address the resolver checks the same way.
        let mut builder = reqwest::Client::builder()
            .no_proxy()
            .timeout(settings.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(Arc::new(PolicyResolver(settings.policy)))
            .user_agent(concat!("tollgate-webhooks/", env!("CARGO_PKG_VERSION")));
        if let Some(proxy) = &settings.proxy {
            builder = builder.proxy(reqwest::Proxy::all(proxy.clone()).expect("a checked proxy URL"));
        }
        let client = builder.build().expect("the webhook HTTP client builds");
        Self { store, settings, on_outcome, client }
    }

    /// Runs until `stop` turns true.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        // The lease outlives an attempt, so no other node picks a delivery up mid-attempt.
        let lease = time::Duration::try_from(self.settings.timeout * 3).unwrap_or(time::Duration::minutes(1));
        loop {
            if *stop.borrow() {
                return;
            }
            let jobs = match self.store.claim_deliveries(OffsetDateTime::now_utc(), lease, self.settings.batch).await {
                Ok(jobs) => jobs,
                Err(e) => {
                    tracing::warn!(error = %e, "could not claim webhook deliveries");
                    Vec::new()
                }
            };
            if jobs.is_empty() {
                tokio::select! {
                    _ = tokio::time::sleep(self.settings.idle_poll) => {}
                    _ = stop.changed() => return,
                }
                continue;
            }
            // Attempts run `concurrency` at a time; their outcomes are recorded in groups of
            // whatever has finished, one transaction per group rather than one per attempt.
            let this = &self;
            let mut outcomes = futures::stream::iter(jobs)
                .map(|job| async move {
                    let result = attempt(&job, &this.settings, &this.client).await;
                    this.report(&job, &result);
                    Attempted { endpoint_id: job.endpoint_id, delivery_id: job.id, result }
                })
                .buffer_unordered(self.settings.concurrency)
                .ready_chunks(self.settings.batch as usize);
            while let Some(results) = outcomes.next().await {
                if let Err(e) = self.store.record_attempts(results).await {
                    // The leases run out and the deliveries are tried again: at least once.
                    tracing::warn!(error = %e, "could not record webhook attempts");
                }
            }
        }
    }

    /// Logs an attempt and counts its outcome.
    fn report(&self, job: &DeliveryJob, result: &AttemptResult) {
        let outcome = match result.next {
            NextStep::Succeeded => "succeeded",
            NextStep::RetryAt(_) => "retrying",
            NextStep::Failed => "failed",
            NextStep::DisableEndpoint => "disabled",
        };
        tracing::info!(
            webhook.delivery = %job.id, webhook.endpoint = %job.endpoint_id, event.id = %job.event.id,
            attempt = job.attempts + 1, status_code = result.status_code, outcome, "webhook attempt"
        );
        if let Some(hook) = &self.on_outcome {
            hook(outcome);
        }
    }
}

/// Makes one attempt.
async fn attempt(job: &DeliveryJob, settings: &DispatcherSettings, client: &reqwest::Client) -> AttemptResult {
    let started = Instant::now();
    let made = job.attempts + 1;
    let (status, error, retry_after) = match send(job, settings.policy, client).await {
        Ok((status, retry_after)) => (Some(status), None, retry_after),
        Err(e) => (None, Some(e), None),
    };
    let next = match status {
        Some(200..=299) => NextStep::Succeeded,
        Some(410) => NextStep::DisableEndpoint,
        _ => match settings.schedule.next_delay(made) {
            Some(delay) => {
                let wait = retry_after.map_or(delay, |r| r.max(delay));
                NextStep::RetryAt(OffsetDateTime::now_utc() + time::Duration::try_from(wait).unwrap_or_default())
            }
            None => NextStep::Failed,
        },
    };
    AttemptResult { status_code: status, error, duration_ms: started.elapsed().as_millis() as u64, next }
}

/// Sends the event; returns the status and a `Retry-After` if the receiver gave one.
async fn send(
    job: &DeliveryJob,
    policy: TargetPolicy,
    client: &reqwest::Client,
) -> Result<(u16, Option<Duration>), String> {
    let url = check_url(&job.url, policy)?;
    let timestamp = OffsetDateTime::now_utc().unix_timestamp();
    let signature = sign(&job.secret, &job.event.id, timestamp, job.event.payload.as_bytes())?;
    let response = client
        .post(url)
        .header("content-type", "application/json")
        .header("webhook-id", &job.event.id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(job.event.payload.clone())
        .send()
        .await
        // Without the URL: its query may hold a receiver's token, and this text is stored and shown.
        .map_err(|e| {
            if e.is_timeout() {
                "timed out".to_owned()
            } else {
                format!("request failed: {}", e.without_url())
            }
        })?;
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    Ok((response.status().as_u16(), retry_after))
}
