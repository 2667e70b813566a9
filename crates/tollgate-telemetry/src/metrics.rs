//! The metrics registry. Labels are bounded by construction: methods are normalised, routes are
//! templates (unmatched paths share one value), status codes are three digits, and no credential,
//! request id or raw path is ever a label.

use std::time::Duration;

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry, TextEncoder,
};

use crate::quota::QuotaTracker;

/// OpenTelemetry's advised boundaries for `http.server.request.duration`, in seconds.
pub const HTTP_BUCKETS: [f64; 14] = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0];
const DB_BUCKETS: [f64; 10] = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 1.0];
const KNOWN_METHODS: [&str; 9] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE"];

/// Every metric Tollgate exports.
pub struct Metrics {
    registry: Registry,
    request_duration: HistogramVec,
    requests: IntCounterVec,
    active_requests: IntGauge,
    auth_failures: IntCounterVec,
    ratelimit_rejections: IntCounterVec,
    ratelimit_backend_errors: IntCounter,
    idempotent_replays: IntCounter,
    webhook_deliveries: IntCounterVec,
    db_query_duration: HistogramVec,
    db_pool: IntGaugeVec,
    quota_max_ratio: prometheus::GaugeVec,
    quota_credentials: IntGaugeVec,
    /// Per-credential quota use, reduced to bounded gauges at scrape time.
    pub quota: QuotaTracker,
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
            quota: QuotaTracker::default(),
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
            Box::new(m.quota_max_ratio.clone()),
            Box::new(m.quota_credentials.clone()),
            Box::new(info),
        ] {
            m.registry.register(c).expect("unique metric names");
        }
        m
    }

    /// Records one answered request.
    pub fn observe_request(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        let method = if KNOWN_METHODS.contains(&method) { method } else { "_OTHER" };
        let status = status.to_string();
        let labels = [method, route, status.as_str()];
        self.request_duration.with_label_values(&labels).observe(elapsed.as_secs_f64());
        self.requests.with_label_values(&labels).inc();
    }

    /// A request started (the returned guard ends it).
    pub fn request_started(&self) -> ActiveRequest<'_> {
        self.active_requests.inc();
        ActiveRequest(&self.active_requests)
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

/// Decrements the in-flight gauge when dropped.
pub struct ActiveRequest<'a>(&'a IntGauge);

impl Drop for ActiveRequest<'_> {
    fn drop(&mut self) {
        self.0.dec();
    }
}
