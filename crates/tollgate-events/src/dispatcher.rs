//! The webhook dispatcher: leases due deliveries from the store (one node per attempt), sends
//! each with its Standard Webhooks headers and a fresh signature, and records the attempt and
//! what follows: success on 2xx, the endpoint disabled on 410, otherwise a retry per the
//! schedule (no earlier than a receiver's `Retry-After`) until attempts run out.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::FutureExt;
use time::OffsetDateTime;
use tokio::sync::watch;
use tokio::task::{JoinError, JoinSet};
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
    ///
    /// Up to `concurrency` attempts are in flight, each a task of its own, and deliveries are
    /// claimed only for free places, so that each attempt starts as soon as its lease does: a
    /// receiver that hangs holds one place for its timeout, not a whole round of claims behind
    /// it, and no lease runs out before its attempt has begun (which would let another node make
    /// it too). Claims are made once half the places are free, several deliveries a query. The
    /// attempts run on while this loop waits on the store, so a slow claim or record never
    /// makes a receiver's answer late.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        // The lease outlives an attempt, so no other node picks a delivery up mid-attempt.
        let lease = time::Duration::try_from(self.settings.timeout * 3).unwrap_or(time::Duration::minutes(1));
        let places = self.settings.concurrency.max(1);
        let mut in_flight = JoinSet::new();
        while !*stop.borrow() {
            // Claims wait until half the places are free (or all are), so that a busy node
            // claims several deliveries a query rather than one per finished attempt.
            let free = places - in_flight.len();
            let most = if in_flight.is_empty() || free * 2 >= places {
                free.min(self.settings.batch.max(1) as usize)
            } else {
                0
            };
            let mut claimed = 0;
            if most > 0 {
                let now = OffsetDateTime::now_utc();
                match self.store.claim_deliveries(now, lease, u32::try_from(most).unwrap_or(u32::MAX)).await {
                    Ok(jobs) => {
                        claimed = jobs.len();
                        for job in jobs {
                            in_flight.spawn(self.attempt(job));
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "could not claim webhook deliveries"),
                }
            }
            // As many as asked for, with places still free: more may be due, so claim again.
            if claimed > 0 && claimed == most && in_flight.len() < places {
                continue;
            }
            // Otherwise wait for an attempt to finish, or for the next poll while a place is free.
            let finished = tokio::select! {
                Some(done) = in_flight.join_next() => done,
                _ = tokio::time::sleep(self.settings.idle_poll), if in_flight.len() < places => continue,
                _ = stop.changed() => break,
            };
            self.record(finished, &mut in_flight).await;
        }
        // Stopping: no new claims, and the attempts under way are finished and recorded, so that
        // none is sent twice because its outcome was lost (within the time shutdown gives).
        while let Some(finished) = in_flight.join_next().await {
            self.record(finished, &mut in_flight).await;
        }
    }

    /// Records `first` with whatever else has finished: one transaction per group.
    async fn record(&self, first: Result<Attempted, JoinError>, in_flight: &mut JoinSet<Attempted>) {
        let mut finished = Vec::new();
        let mut next = Some(first);
        while let Some(done) = next {
            match done {
                Ok(attempted) => finished.push(attempted),
                // Panics are caught inside the attempt; a task cancelled at shutdown has no
                // outcome, and its lease runs out.
                Err(e) => tracing::warn!(error = %e, "a webhook attempt ended without an outcome"),
            }
            next = in_flight.try_join_next();
        }
        if finished.is_empty() {
            return;
        }
        if let Err(e) = self.store.record_attempts(finished).await {
            // The leases run out and the deliveries are tried again: at least once.
            tracing::warn!(error = %e, "could not record webhook attempts");
        }
    }

    /// One delivery's attempt, reported, as a task of its own. A panic inside it is an attempt
    /// that failed, to be retried on the schedule: it must not end the dispatcher.
    fn attempt(&self, job: DeliveryJob) -> impl std::future::Future<Output = Attempted> + Send + 'static {
        let (settings, client, hook) = (self.settings.clone(), self.client.clone(), self.on_outcome.clone());
        async move {
            let made = AssertUnwindSafe(attempt(&job, &settings, &client)).catch_unwind().await;
            let result = made.unwrap_or_else(|_| AttemptResult {
                status_code: None,
                error: Some("internal error while sending".to_owned()),
                duration_ms: 0,
                next: retry_after_failure(&settings.schedule, job.attempts + 1, None),
            });
            report(hook.as_ref(), &job, &result);
            Attempted { endpoint_id: job.endpoint_id, delivery_id: job.id, result }
        }
    }
}

/// Logs an attempt and counts its outcome.
fn report(hook: Option<&OutcomeHook>, job: &DeliveryJob, result: &AttemptResult) {
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
    if let Some(hook) = hook {
        hook(outcome);
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
        _ => retry_after_failure(&settings.schedule, made, retry_after),
    };
    AttemptResult { status_code: status, error, duration_ms: started.elapsed().as_millis() as u64, next }
}

/// The longest wait a receiver's `Retry-After` can ask for. Beyond it the receiver is not
/// waited for any longer; its schedule's attempts still run out as usual.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 3600);

/// After a failed attempt `made`: the schedule's next delay, or the receiver's `Retry-After` if
/// that is later (at most [`MAX_RETRY_AFTER`]); or `Failed` when the schedule has run out.
fn retry_after_failure(schedule: &RetrySchedule, made: u32, retry_after: Option<Duration>) -> NextStep {
    match schedule.next_delay(made) {
        Some(delay) => {
            let wait = retry_after.map_or(delay, |r| r.min(MAX_RETRY_AFTER).max(delay));
            let wait = time::Duration::try_from(wait).unwrap_or(time::Duration::ZERO);
            NextStep::RetryAt(OffsetDateTime::now_utc().saturating_add(wait))
        }
        None => NextStep::Failed,
    }
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
    let retry_after = response.headers().get("retry-after").and_then(|v| v.to_str().ok()).and_then(parse_retry_after);
    Ok((response.status().as_u16(), retry_after))
}

/// A `Retry-After` value (RFC 9110 §10.2.3): delay-seconds, or an HTTP-date (a date already past
/// is no wait). Anything else is ignored, as if none were sent.
fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // More digits than u64 holds is still "a very long time".
        return Some(value.parse::<u64>().map_or(Duration::MAX, Duration::from_secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(std::time::SystemTime::now()).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_is_seconds_or_a_date() {
        assert_eq!(parse_retry_after(" 120 "), Some(Duration::from_secs(120)));
        assert_eq!(parse_retry_after("18446744073709551616"), Some(Duration::MAX), "beyond u64: a very long time");
        assert_eq!(parse_retry_after("Thu, 01 Jan 1970 00:00:00 GMT"), Some(Duration::ZERO), "past: no wait");
        let soon = httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(3600));
        let wait = parse_retry_after(&soon).unwrap();
        assert!(wait > Duration::from_secs(3590) && wait <= Duration::from_secs(3600), "{wait:?}");
        for junk in ["", "-5", "1.5", "soon", "120s"] {
            assert_eq!(parse_retry_after(junk), None, "{junk:?}");
        }
    }

    #[test]
    fn a_retry_waits_for_the_later_of_schedule_and_receiver_up_to_a_day() {
        let secs = |s: &str| s.parse().map(Duration::from_secs).map_err(|e| format!("{e}"));
        let schedule = RetrySchedule::parse("60,3600", secs).unwrap();
        let at = |retry_after| match retry_after_failure(&schedule, 1, retry_after) {
            NextStep::RetryAt(at) => (at - OffsetDateTime::now_utc()).whole_seconds(),
            other => panic!("{other:?}"),
        };
        // The schedule's delay carries up to 10% of jitter.
        assert!((58..=66).contains(&at(None)));
        assert!((58..=66).contains(&at(Some(Duration::from_secs(5)))), "never earlier than the schedule");
        assert!((598..=600).contains(&at(Some(Duration::from_secs(600)))));
        assert!((24 * 3600 - 2..=24 * 3600).contains(&at(Some(Duration::MAX))), "at most a day");
        assert_eq!(retry_after_failure(&schedule, 3, Some(Duration::MAX)), NextStep::Failed);
    }
}
