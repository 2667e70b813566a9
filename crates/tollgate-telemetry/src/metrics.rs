//! The metrics registry. Labels are bounded by construction: methods are normalised, routes are
//! templates (unmatched paths share one value), status codes are three digits, and no credential,
//! request id or raw path is ever a label.

use std::borrow::Borrow;
use std::sync::RwLock;
use std::time::Duration;

use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
    TextEncoder,
};

use crate::history::{current_minute, History};
use crate::quota::QuotaTracker;

/// OpenTelemetry's advised boundaries for `http.server.request.duration`, in seconds.
pub const HTTP_BUCKETS: [f64; 14] = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0];
const DB_BUCKETS: [f64; 10] = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 1.0];
const KNOWN_METHODS: [&str; 9] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE"];

/// The method as a bounded value for labels, dimensions and log fields: one of the nine
/// standard methods, else `_OTHER` (OpenTelemetry's convention). A client can send any token
/// as a method, 200 KB long, and each one would otherwise be a new series or a huge log field.
pub fn method_label(method: &str) -> &'static str {
    KNOWN_METHODS.iter().find(|m| **m == method).copied().unwrap_or("_OTHER")
}

/// Every metric Tollgate exports.
pub struct Metrics {
    registry: Registry,
    request_duration: HistogramVec,
    requests: IntCounterVec,
    request_series: RequestSeriesCache,
    active_requests: IntGauge,
    auth_failures: IntCounterVec,
    ratelimit_rejections: IntCounterVec,
    ratelimit_backend_errors: IntCounter,
    idempotent_replays: IntCounter,
    webhook_deliveries: IntCounterVec,
    db_query_duration: HistogramVec,
    db_pool: IntGaugeVec,
    credential_cache_lookups: IntCounterVec,
    credential_cache_emptied: IntCounter,
    credential_cache_lapses: IntCounter,
    credential_cache_fresh: IntGauge,
    coalesced_reads: IntCounter,
    coalesced_queries: IntCounter,
    quota_max_ratio: prometheus::GaugeVec,
    quota_credentials: IntGaugeVec,
    store_rows: IntGaugeVec,
    pruned_rows: IntCounterVec,
    event_streams: IntGauge,
    deprecated_requests: IntCounterVec,
    /// Per-credential quota use, reduced to bounded gauges at scrape time.
    pub quota: QuotaTracker,
    /// The last 24 hours per minute, for the console (this node only).
    pub history: History,
}

impl Metrics {
    /// A registry with every metric registered; `version` and `backend` label the build info.
    pub fn new(version: &str, backend: &str) -> Self {
        let registry = Registry::new();
        let http_labels = ["http_request_method", "http_route", "http_response_status_code"];
        let m = Self {
            request_duration: HistogramVec::new(
                HistogramOpts::new("http_server_request_duration_seconds", "Duration of HTTP server requests.")
                    .buckets(HTTP_BUCKETS.to_vec()),
                &http_labels,
            )
            .expect("valid metric"),
            requests: IntCounterVec::new(
                Opts::new("tollgate_http_requests_total", "HTTP requests answered."),
                &http_labels,
            )
            .expect("valid metric"),
            active_requests: IntGauge::new("http_server_active_requests", "HTTP requests in flight.")
                .expect("valid metric"),
            auth_failures: IntCounterVec::new(
                Opts::new("tollgate_auth_failures_total", "Refused authentications, by reason."),
                &["reason"],
            )
            .expect("valid metric"),
            ratelimit_rejections: IntCounterVec::new(
                Opts::new("tollgate_ratelimit_rejections_total", "Requests refused with 429, by route class."),
                &["class"],
            )
            .expect("valid metric"),
            ratelimit_backend_errors: IntCounter::new(
                "tollgate_ratelimit_backend_errors_total",
                "Rate-limiter backend failures (the request was failed open or closed).",
            )
            .expect("valid metric"),
            idempotent_replays: IntCounter::new(
                "tollgate_idempotent_replays_total",
                "Requests answered from a stored response because of their Idempotency-Key.",
            )
            .expect("valid metric"),
            webhook_deliveries: IntCounterVec::new(
                Opts::new("tollgate_webhook_deliveries_total", "Webhook delivery attempts, by outcome."),
                &["outcome"],
            )
            .expect("valid metric"),
            db_query_duration: HistogramVec::new(
                HistogramOpts::new("tollgate_db_query_duration_seconds", "Duration of storage operations.")
                    .buckets(DB_BUCKETS.to_vec()),
                &["operation"],
            )
            .expect("valid metric"),
            db_pool: IntGaugeVec::new(
                Opts::new("tollgate_db_pool_connections", "Database reader connections by state."),
                &["state"],
            )
            .expect("valid metric"),
            credential_cache_lookups: IntCounterVec::new(
                Opts::new(
                    "tollgate_credential_cache_lookups_total",
                    "Credential and token lookups, answered from memory (hit) or the database (miss).",
                ),
                &["result"],
            )
            .expect("valid metric"),
            credential_cache_emptied: IntCounter::new(
                "tollgate_credential_cache_emptied_total",
                "Times a credential change emptied the in-memory credential cache.",
            )
            .expect("valid metric"),
            credential_cache_lapses: IntCounter::new(
                "tollgate_credential_cache_lapses_total",
                "Times the credential change feed was lost, so credentials were read through until it caught up.",
            )
            .expect("valid metric"),
            credential_cache_fresh: IntGauge::new(
                "tollgate_credential_cache_fresh",
                "1 while the credential change feed is current and the cache answers, else 0.",
            )
            .expect("valid metric"),
            coalesced_reads: IntCounter::new(
                "tollgate_resource_reads_coalesced_total",
                "Reads of one resource by id that went through read coalescing (PostgreSQL).",
            )
            .expect("valid metric"),
            coalesced_queries: IntCounter::new(
                "tollgate_resource_read_queries_total",
                "Queries that coalesced reads by id ran; reads divided by queries is the folding.",
            )
            .expect("valid metric"),
            quota_max_ratio: prometheus::GaugeVec::new(
                Opts::new("tollgate_quota_usage_max_ratio", "Highest quota use of any credential, by route class."),
                &["class"],
            )
            .expect("valid metric"),
            quota_credentials: IntGaugeVec::new(
                Opts::new(
                    "tollgate_quota_credentials",
                    "Credentials whose quota use is above 80% (warning) or 90% (alert), by route class.",
                ),
                &["class", "level"],
            )
            .expect("valid metric"),
            store_rows: IntGaugeVec::new(
                Opts::new("tollgate_store_rows", "Rows of each table that grows (events, deliveries, ...)."),
                &["table"],
            )
            .expect("valid metric"),
            pruned_rows: IntCounterVec::new(
                Opts::new("tollgate_pruned_rows_total", "Rows deleted by the pruner, by table."),
                &["table"],
            )
            .expect("valid metric"),
            event_streams: IntGauge::new("tollgate_event_streams", "Live event streams open on this node.")
                .expect("valid metric"),
            deprecated_requests: IntCounterVec::new(
                Opts::new(
                    "tollgate_deprecated_requests_total",
                    "Requests that used a deprecated endpoint, parameter or field, by route template and deprecation.",
                ),
                &["route", "deprecation"],
            )
            .expect("valid metric"),
            quota: QuotaTracker::default(),
            history: History::default(),
            request_series: RequestSeriesCache::default(),
            registry,
        };
        let info = IntGaugeVec::new(Opts::new("tollgate_build_info", "Build information."), &["version", "backend"])
            .expect("valid metric");
        info.with_label_values(&[version, backend]).set(1);
        for c in [
            Box::new(m.request_duration.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(m.requests.clone()),
            Box::new(m.active_requests.clone()),
            Box::new(m.auth_failures.clone()),
            Box::new(m.ratelimit_rejections.clone()),
            Box::new(m.ratelimit_backend_errors.clone()),
            Box::new(m.idempotent_replays.clone()),
            Box::new(m.webhook_deliveries.clone()),
            Box::new(m.db_query_duration.clone()),
            Box::new(m.db_pool.clone()),
            Box::new(m.credential_cache_lookups.clone()),
            Box::new(m.credential_cache_emptied.clone()),
            Box::new(m.credential_cache_lapses.clone()),
            Box::new(m.credential_cache_fresh.clone()),
            Box::new(m.coalesced_reads.clone()),
            Box::new(m.coalesced_queries.clone()),
            Box::new(m.quota_max_ratio.clone()),
            Box::new(m.quota_credentials.clone()),
            Box::new(m.store_rows.clone()),
            Box::new(m.pruned_rows.clone()),
            Box::new(m.event_streams.clone()),
            Box::new(m.deprecated_requests.clone()),
            Box::new(info),
        ] {
            m.registry.register(c).expect("unique metric names");
        }
        m
    }

    /// Records one answered request.
    pub fn observe_request(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        let method = KNOWN_METHODS.iter().position(|m| *m == method).unwrap_or(KNOWN_METHODS.len());
        let seconds = elapsed.as_secs_f64();
        self.history.record(current_minute(), status, seconds);
        if !self.request_series.observe(method, route, status, seconds) {
            let method_label = KNOWN_METHODS.get(method).copied().unwrap_or("_OTHER");
            let mut status_text = itoa::Buffer::new();
            let labels = [method_label, route, status_text.format(status)];
            let series = RequestSeries {
                method,
                status,
                duration: self.request_duration.with_label_values(&labels),
                count: self.requests.with_label_values(&labels),
            };
            series.observe(seconds);
            self.request_series.insert(route, series);
        }
    }

    /// A request that used a deprecated form (`route` is the template, `deprecation` the name
    /// from the server's table of deprecations: both bounded).
    pub fn deprecated_request(&self, route: &str, deprecation: &str) {
        self.deprecated_requests.with_label_values(&[route, deprecation]).inc();
    }

    /// A request started (the returned guard ends it).
    pub fn request_started(&self) -> ActiveRequest<'_> {
        self.active_requests.inc();
        Raised(&self.active_requests)
    }

    /// A refused authentication.
    pub fn auth_failure(&self, reason: &str) {
        self.auth_failures.with_label_values(&[reason]).inc();
    }

    /// A 429.
    pub fn ratelimit_rejection(&self, class: &str) {
        self.ratelimit_rejections.with_label_values(&[class]).inc();
    }

    /// A rate-limiter backend failure.
    pub fn ratelimit_backend_error(&self) {
        self.ratelimit_backend_errors.inc();
    }

    /// An idempotent replay.
    pub fn idempotent_replay(&self) {
        self.idempotent_replays.inc();
    }

    /// One webhook attempt's outcome.
    pub fn webhook_attempt(&self, outcome: &str) {
        self.webhook_deliveries.with_label_values(&[outcome]).inc();
    }

    /// One storage operation.
    pub fn db_query(&self, operation: &'static str, elapsed: Duration) {
        self.db_query_duration.with_label_values(&[operation]).observe(elapsed.as_secs_f64());
    }

    /// The reader pool's state.
    pub fn db_pool_state(&self, idle: u32, in_use: u32) {
        self.db_pool.with_label_values(&["idle"]).set(i64::from(idle));
        self.db_pool.with_label_values(&["in_use"]).set(i64::from(in_use));
    }

    /// The credential cache's counters as the store reports them (totals since start).
    pub fn credential_cache(&self, hits: u64, misses: u64, emptied: u64, lapses: u64, fresh: bool) {
        let catch_up = |c: &IntCounter, total: u64| c.inc_by(total.saturating_sub(c.get()));
        catch_up(&self.credential_cache_lookups.with_label_values(&["hit"]), hits);
        catch_up(&self.credential_cache_lookups.with_label_values(&["miss"]), misses);
        catch_up(&self.credential_cache_emptied, emptied);
        catch_up(&self.credential_cache_lapses, lapses);
        self.credential_cache_fresh.set(i64::from(fresh));
    }

    /// Read coalescing's counters as the store reports them (totals since start).
    pub fn coalesced_reads(&self, reads: u64, queries: u64) {
        self.coalesced_reads.inc_by(reads.saturating_sub(self.coalesced_reads.get()));
        self.coalesced_queries.inc_by(queries.saturating_sub(self.coalesced_queries.get()));
    }

    /// One pruner pass: rows it deleted and rows left, by table.
    pub fn pruned(&self, pruned: &[(&str, u64)], rows: &[(&str, i64)]) {
        for (table, n) in pruned {
            self.pruned_rows.with_label_values(&[table]).inc_by(*n);
        }
        for (table, n) in rows {
            self.store_rows.with_label_values(&[table]).set(*n);
        }
    }

    /// Counts an open event stream until the guard is dropped.
    pub fn event_stream_opened(&self) -> OpenStream {
        self.event_streams.inc();
        Raised(self.event_streams.clone())
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        for (class, summary) in self.quota.summary() {
            self.quota_max_ratio.with_label_values(&[class]).set(summary.max_ratio);
            self.quota_credentials.with_label_values(&[class, "warning"]).set(summary.above_80 as i64);
            self.quota_credentials.with_label_values(&[class, "alert"]).set(summary.above_90 as i64);
        }
        let mut out = Vec::new();
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut out);
        String::from_utf8(out).unwrap_or_default()
    }
}

/// A gauge raised by one, lowered again when this is dropped. It borrows the gauge where the
/// guard lives inside the call that raised it, and owns a handle where it outlives that call.
pub struct Raised<G: Borrow<IntGauge>>(G);

impl<G: Borrow<IntGauge>> Drop for Raised<G> {
    fn drop(&mut self) {
        self.0.borrow().dec();
    }
}

/// An open event stream, counted until dropped; it lives in the stream's own task.
pub type OpenStream = Raised<IntGauge>;

/// The two series one (method, route, status) updates.
struct RequestSeries {
    /// Index into [`KNOWN_METHODS`]; one past its end for `_OTHER`.
    method: usize,
    status: u16,
    duration: Histogram,
    count: IntCounter,
}

impl RequestSeries {
    fn observe(&self, seconds: f64) {
        self.duration.observe(seconds);
        self.count.inc();
    }
}

/// Resolved request series, so that a request updates its histogram and counter without
/// hashing its three label values into each vector and formatting its status code: route ->
/// the series seen on it, a handful each. Bounded like the labels.
#[derive(Default)]
struct RequestSeriesCache(RwLock<rustc_hash::FxHashMap<Box<str>, Vec<RequestSeries>>>);

impl RequestSeriesCache {
    /// Observes the series if it was resolved before; false if it was not.
    fn observe(&self, method: usize, route: &str, status: u16, seconds: f64) -> bool {
        let map = self.0.read().unwrap_or_else(|p| p.into_inner());
        let found = map.get(route).and_then(|seen| seen.iter().find(|s| s.method == method && s.status == status));
        found.map(|series| series.observe(seconds)).is_some()
    }

    fn insert(&self, route: &str, series: RequestSeries) {
        let mut map = self.0.write().unwrap_or_else(|p| p.into_inner());
        let seen = map.entry(route.into()).or_default();
        if !seen.iter().any(|s| s.method == series.method && s.status == series.status) {
            seen.push(series);
        }
    }
}

/// A request in flight, counted until dropped.
pub type ActiveRequest<'a> = Raised<&'a IntGauge>;

#[cfg(test)]
mod tests {
    use super::*;

    fn sample<'a>(text: &'a str, series: &str) -> Option<&'a str> {
        text.lines().find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
    }

    #[test]
    fn raised_gauges_count_from_the_call_until_the_guard_is_dropped() {
        let m = Metrics::new("test", "sqlite");
        let gauges = |m: &Metrics| {
            let text = m.render();
            (
                sample(&text, "http_server_active_requests").map(str::to_owned),
                sample(&text, "tollgate_event_streams").map(str::to_owned),
            )
        };
        let request = m.request_started();
        // Counted as soon as it is opened, before its task has run, and for as long as the task
        // holds it, on whatever thread.
        let streams: Vec<OpenStream> = (0..3).map(|_| m.event_stream_opened()).collect();
        assert_eq!(gauges(&m), (Some("1".into()), Some("3".into())));
        std::thread::spawn(move || drop(streams)).join().unwrap();
        drop(request);
        assert_eq!(gauges(&m), (Some("0".into()), Some("0".into())));
    }

    #[test]
    fn request_series_are_resolved_once_and_stay_separate() {
        let m = Metrics::new("test", "sqlite");
        for _ in 0..3 {
            m.observe_request("GET", "/v1/resource/{id}", 200, Duration::from_millis(3));
        }
        m.observe_request("GET", "/v1/resource/{id}", 404, Duration::from_millis(30));
        m.observe_request("POST", "/v1/resource/{id}", 200, Duration::from_millis(1));
        m.observe_request("BREW", "unmatched", 405, Duration::from_secs(3));
        let text = m.render();
        let count = |labels: &str| sample(&text, &format!("tollgate_http_requests_total{{{labels}}}"));
        let get = r#"http_request_method="GET",http_response_status_code="#;
        assert_eq!(count(&format!(r#"{get}"200",http_route="/v1/resource/{{id}}""#)), Some("3"));
        assert_eq!(count(&format!(r#"{get}"404",http_route="/v1/resource/{{id}}""#)), Some("1"));
        assert_eq!(
            count(r#"http_request_method="POST",http_response_status_code="200",http_route="/v1/resource/{id}""#),
            Some("1")
        );
        assert_eq!(
            count(r#"http_request_method="_OTHER",http_response_status_code="405",http_route="unmatched""#),
            Some("1")
        );
        let bucket = |le: &str| {
            sample(
                &text,
                &format!(
                    r#"http_server_request_duration_seconds_bucket{{{get}"404",http_route="/v1/resource/{{id}}",le="{le}"}}"#
                ),
            )
        };
        assert_eq!(bucket("0.025"), Some("0"));
        assert_eq!(bucket("0.05"), Some("1"));
    }

    #[test]
    fn concurrent_first_requests_count_once_each() {
        // Threads that miss the cache together all resolve the same series: none is lost or
        // counted twice, and the cache keeps one entry per series.
        let m = std::sync::Arc::new(Metrics::new("test", "sqlite"));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let m = m.clone();
                std::thread::spawn(move || {
                    for i in 0..1000u16 {
                        m.observe_request("GET", "/v1/resource", 200 + i % 3, Duration::from_millis(1));
                    }
                })
            })
            .collect();
        threads.into_iter().for_each(|t| t.join().unwrap());
        let text = m.render();
        let counts: Vec<_> = [200, 201, 202]
            .map(|status| {
                sample(&text, &format!(
                    r#"tollgate_http_requests_total{{http_request_method="GET",http_response_status_code="{status}",http_route="/v1/resource"}}"#
                ))
            })
            .into_iter()
            .collect();
        assert_eq!(counts, [Some("1336"), Some("1332"), Some("1332")]);
        let cached = m.request_series.0.read().unwrap();
        assert_eq!(cached.len(), 1);
        assert_eq!(cached["/v1/resource"].len(), 3);
    }
}
