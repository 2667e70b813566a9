//! Layered configuration: defaults < `tollgate.toml` < `TOLLGATE_*` environment < flags.
//! Loading validates every setting and names the one that is wrong.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{anyhow, Context};
use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};
use tollgate_auth::jwt::SigningAlgorithm;
use tollgate_core::duration::parse_duration;
use tollgate_core::redact::mask_url;

use crate::cli::{Cli, Command, LogFormat};

/// Settings as written in files and variables.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    listen: String,
    data_dir: PathBuf,
    log_format: LogFormat,
    debug: bool,
    key_rotation_period: String,
    request_timeout: String,
    header_read_timeout: String,
    idle_timeout: String,
    max_connections: usize,
    public_url: Option<String>,
    token_ttl: String,
    jwt_algorithm: String,
    token_leeway: String,
    rate_limit_read: String,
    rate_limit_write: String,
    rate_limit_fail_open: bool,
    rate_limit_failed_auth: String,
    trusted_proxy_header: Option<String>,
    redis_url: Option<String>,
    metrics_listen: Option<String>,
    metrics_emf: bool,
    metrics_emf_namespace: String,
    metrics_emf_interval: String,
    database_url: Option<String>,
    webhook_allow_loopback: bool,
    webhook_allow_private: bool,
    webhook_retry_schedule: Option<String>,
    webhook_dispatch: bool,
    allow_insecure_permissions: bool,
    webhook_proxy: Option<String>,
    nats_url: Option<String>,
    metrics_enabled: bool,
    log_level: String,
    event_retention: String,
    delivery_retention: String,
    prune_interval: String,
    prune_batch: u32,
    event_streams_per_credential: usize,
}

impl Default for RawConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            data_dir: PathBuf::from("./tollgate-data"),
            log_format: LogFormat::Auto,
            debug: false,
            key_rotation_period: "90d".into(),
            request_timeout: "30s".into(),
            header_read_timeout: "10s".into(),
            idle_timeout: "60s".into(),
            max_connections: 10_000,
            public_url: None,
            token_ttl: "1h".into(),
            jwt_algorithm: "RS256".into(),
            token_leeway: "60s".into(),
            rate_limit_read: "1000/h".into(),
            rate_limit_write: "100/h".into(),
            rate_limit_fail_open: true,
            rate_limit_failed_auth: "20/1m".into(),
            trusted_proxy_header: None,
            redis_url: None,
            metrics_listen: None,
            metrics_emf: false,
            metrics_emf_namespace: "Tollgate".into(),
            metrics_emf_interval: "60s".into(),
            database_url: None,
            webhook_allow_loopback: false,
            webhook_allow_private: false,
            webhook_retry_schedule: None,
            webhook_dispatch: true,
            allow_insecure_permissions: false,
            webhook_proxy: None,
            nats_url: None,
            metrics_enabled: true,
            log_level: "info".into(),
            event_retention: "30d".into(),
            delivery_retention: "30d".into(),
            prune_interval: "1m".into(),
            prune_batch: 500,
            event_streams_per_credential: 10,
        }
    }
}

const ENV_KEYS: [&str; 38] = [
    "event_retention",
    "delivery_retention",
    "prune_interval",
    "prune_batch",
    "event_streams_per_credential",
    "rate_limit_failed_auth",
    "trusted_proxy_header",
    "idle_timeout",
    "max_connections",
    "webhook_dispatch",
    "webhook_proxy",
    "allow_insecure_permissions",
    "metrics_enabled",
    "log_level",
    "webhook_allow_loopback",
    "webhook_allow_private",
    "webhook_retry_schedule",
    "nats_url",
    "database_url",
    "metrics_listen",
    "metrics_emf",
    "metrics_emf_namespace",
    "metrics_emf_interval",
    "rate_limit_read",
    "rate_limit_write",
    "rate_limit_fail_open",
    "redis_url",
    "token_leeway",
    "public_url",
    "token_ttl",
    "jwt_algorithm",
    "listen",
    "data_dir",
    "log_format",
    "debug",
    "key_rotation_period",
    "request_timeout",
    "header_read_timeout",
];

/// Validated settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where `serve` listens.
    pub listen: SocketAddr,
    /// The data directory.
    pub data_dir: PathBuf,
    /// Log format.
    pub log_format: LogFormat,
    /// Debug logging.
    pub debug: bool,
    /// Age at which a key is marked "rotation due".
    pub key_rotation_period: time::Duration,
    /// Deadline of one request.
    pub request_timeout: Duration,
    /// Time a client gets to send a request head, on either protocol (the first request's is
    /// counted from the connection's opening); also the HTTP/2 PING timeout.
    pub header_read_timeout: Duration,
    /// A connection with no request in flight for this long is closed (HTTP/2 with a GOAWAY).
    pub idle_timeout: Duration,
    /// Most connections served at once; beyond it new connections wait to be accepted.
    pub max_connections: usize,
    /// The URL clients reach this service at: the OAuth issuer. Default: from `listen`.
    pub public_url: Option<String>,
    /// Lifetime of access tokens.
    pub token_ttl: time::Duration,
    /// Signing algorithm of access tokens.
    pub jwt_algorithm: SigningAlgorithm,
    /// Clock skew tolerated when checking tokens' `exp` and `nbf` (at most 60 s).
    pub token_leeway: u64,
    /// Default rate limits and the limiter's failure policy.
    pub limits: tollgate_api::state::LimitSettings,
    /// The header a trusted load balancer writes the caller's address in (`X-Forwarded-For`);
    /// its last address is the one the failed-authentication limit counts. `None`: the TCP peer.
    pub trusted_proxy_header: Option<axum::http::HeaderName>,
    /// Redis for shared rate-limit counters; `None` keeps them in memory.
    pub redis_url: Option<String>,
    /// A separate address for `/metrics` (without authentication); `None` serves it on the
    /// main port for admin credentials.
    pub metrics_listen: Option<SocketAddr>,
    /// CloudWatch EMF on stdout: the namespace and the aggregation interval.
    pub emf: Option<(String, Duration)>,
    /// PostgreSQL instead of the embedded SQLite database in `data_dir`.
    pub database_url: Option<String>,
    /// Which addresses webhooks may be sent to.
    pub webhook_policy: tollgate_events::target::TargetPolicy,
    /// Delays between webhook attempts.
    pub webhook_schedule: tollgate_events::schedule::RetrySchedule,
    /// Whether this node sends webhooks (the outbox is written either way).
    pub webhook_dispatch: bool,
    /// Start even when other users can read the data directory or database (refused otherwise).
    pub allow_insecure_permissions: bool,
    /// The egress proxy webhooks go through; `None` connects directly. Proxies named in the
    /// environment (`HTTP_PROXY` and the like) are never used for webhooks.
    pub webhook_proxy: Option<reqwest::Url>,
    /// NATS for the message-queue sink.
    pub nats_url: Option<String>,
    /// Record request metrics.
    pub metrics_enabled: bool,
    /// Lowest level logged: trace, debug, info, warn, error or off (`debug` overrides it).
    pub log_level: String,
    /// How long events, and finished webhook deliveries with their attempts, are kept.
    pub retention: tollgate_store::retention::Retention,
    /// Time between two passes of the pruner.
    pub prune_interval: Duration,
    /// Rows of each kind the pruner deletes per transaction (1-10000).
    pub prune_batch: u32,
    /// Live event streams one credential may hold open on a node (then 429).
    pub event_streams_per_credential: usize,
}

/// Flags that override everything else; `None` leaves lower layers alone.
#[derive(Debug, Default, Serialize)]
struct FlagOverrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    listen: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    data_dir: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    log_format: Option<LogFormat>,
    #[serde(skip_serializing_if = "Option::is_none")]
    debug: Option<bool>,
}

impl Config {
    /// Loads the layers for `cli`.
    pub fn load(cli: &Cli) -> anyhow::Result<Self> {
        let mut flags = FlagOverrides { data_dir: cli.data_dir.clone(), ..Default::default() };
        if let Command::Serve(s) = &cli.command {
            flags.listen = s.listen.clone();
            flags.log_format = s.log_format;
            flags.debug = s.debug.then_some(true);
        }
        let mut figment = Figment::from(Serialized::defaults(RawConfig::default()));
        match &cli.config {
            Some(path) if !path.exists() => {
                return Err(anyhow!("invalid configuration: config file {} does not exist", path.display()))
            }
            Some(path) => figment = figment.merge(Toml::file_exact(path)),
            None if Path::new("tollgate.toml").exists() => figment = figment.merge(Toml::file_exact("tollgate.toml")),
            None => {}
        }
        let raw: RawConfig = figment
            .merge(Env::prefixed("TOLLGATE_").only(&ENV_KEYS))
            .merge(Serialized::defaults(flags))
            .extract()
            .map_err(|e| anyhow!("invalid configuration: {e}"))?;
        raw.validate()
    }
}

impl RawConfig {
    fn validate(self) -> anyhow::Result<Config> {
        let listen: SocketAddr = self.listen.parse().with_context(|| {
            format!("invalid configuration: `listen` = {:?} is not an address like 127.0.0.1:8080", self.listen)
        })?;
        let duration = |name: &str, value: &str| {
            parse_duration(value, false).map_err(|e| anyhow!("invalid configuration: `{name}`: {e}"))
        };
        let std = |name: &str, value: &str| -> anyhow::Result<Duration> {
            let d = duration(name, value)?;
            Duration::try_from(d).map_err(|_| anyhow!("invalid configuration: `{name}` must be positive"))
        };
        let public_url = match self.public_url {
            Some(u) if !(u.starts_with("http://") || u.starts_with("https://")) || u.contains(['?', '#']) => {
                return Err(anyhow!(
                    "invalid configuration: `public_url` = {u:?} must be an http(s) URL without query or fragment"
                ))
            }
            other => other.map(|u| u.trim_end_matches('/').to_owned()),
        };
        let limit = |name: &str, v: &str| {
            tollgate_core::Limit::parse(v).map_err(|e| anyhow!("invalid configuration: `{name}`: {e}"))
        };
        let limits = tollgate_api::state::LimitSettings {
            read: limit("rate_limit_read", &self.rate_limit_read)?,
            write: limit("rate_limit_write", &self.rate_limit_write)?,
            fail_open: self.rate_limit_fail_open,
            failed_auth: limit("rate_limit_failed_auth", &self.rate_limit_failed_auth)?,
        };
        let trusted_proxy_header = match self.trusted_proxy_header.as_deref().map(str::trim).filter(|h| !h.is_empty()) {
            Some(h) => Some(axum::http::HeaderName::try_from(h.to_ascii_lowercase()).map_err(|_| {
                anyhow!(
                    "invalid configuration: `trusted_proxy_header` = {h:?} is not a header name like x-forwarded-for"
                )
            })?),
            None => None,
        };
        if let Some(url) =
            self.redis_url.as_deref().filter(|u| !u.starts_with("redis://") && !u.starts_with("rediss://"))
        {
            let url = mask_url(url);
            return Err(anyhow!("invalid configuration: `redis_url` = {url:?} must start with redis:// or rediss://"));
        }
        let metrics_listen = match self.metrics_listen.as_deref().filter(|s| !s.is_empty()) {
            Some(a) => Some(a.parse().map_err(|_| {
                anyhow!("invalid configuration: `metrics_listen` = {a:?} is not an address like 127.0.0.1:9090")
            })?),
            None => None,
        };
        if !(1..=255).contains(&self.metrics_emf_namespace.len()) {
            return Err(anyhow!("invalid configuration: `metrics_emf_namespace` must be 1-255 characters"));
        }
        let emf = match self.metrics_emf {
            true => {
                Some((self.metrics_emf_namespace.clone(), std("metrics_emf_interval", &self.metrics_emf_interval)?))
            }
            false => None,
        };
        let database_url = self.database_url.filter(|u| !u.is_empty());
        if let Some(url) =
            database_url.as_deref().filter(|u| !u.starts_with("postgres://") && !u.starts_with("postgresql://"))
        {
            let url = mask_url(url);
            return Err(anyhow!("invalid configuration: `database_url` = {url:?} must start with postgres://"));
        }
        let webhook_schedule = match self.webhook_retry_schedule.as_deref().filter(|s| !s.is_empty()) {
            Some(s) => tollgate_events::schedule::RetrySchedule::parse(s, |d| {
                parse_duration(d, false).and_then(|d| Duration::try_from(d).map_err(|e| e.to_string()))
            })
            .map_err(|e| anyhow!("invalid configuration: `webhook_retry_schedule`: {e}"))?,
            None => Default::default(),
        };
        let webhook_policy = tollgate_events::target::TargetPolicy {
            allow_loopback: self.webhook_allow_loopback,
            allow_private: self.webhook_allow_private,
        };
        let webhook_proxy = match self.webhook_proxy.as_deref().filter(|u| !u.is_empty()) {
            Some(u) => Some(tollgate_events::target::check_proxy(u, webhook_policy).map_err(|e| {
                anyhow!(
                    "invalid configuration: `webhook_proxy` = {:?}: {e} (the proxy's own address must pass the \
                     webhook address policy: see `webhook_allow_loopback` and `webhook_allow_private`)",
                    mask_url(u)
                )
            })?),
            None => None,
        };
        let nats_url = self.nats_url.filter(|u| !u.is_empty());
        if let Some(u) = nats_url.as_deref().filter(|u| !u.starts_with("nats://") && !u.starts_with("tls://")) {
            let u = mask_url(u);
            return Err(anyhow!("invalid configuration: `nats_url` = {u:?} must start with nats://"));
        }
        if !["trace", "debug", "info", "warn", "error", "off"].contains(&self.log_level.as_str()) {
            return Err(anyhow!(
                "invalid configuration: `log_level` = {:?} must be trace, debug, info, warn, error or off",
                self.log_level
            ));
        }
        let jwt_algorithm =
            self.jwt_algorithm.parse().map_err(|e| anyhow!("invalid configuration: `jwt_algorithm`: {e}"))?;
        if self.data_dir.as_os_str().is_empty() {
            return Err(anyhow!("invalid configuration: `data_dir` must not be empty"));
        }
        if !(1..=1_000_000).contains(&self.max_connections) {
            return Err(anyhow!("invalid configuration: `max_connections` must be from 1 to 1000000"));
        }
        if !(1..=10_000).contains(&self.prune_batch) {
            return Err(anyhow!("invalid configuration: `prune_batch` must be from 1 to 10000"));
        }
        if !(1..=10_000).contains(&self.event_streams_per_credential) {
            return Err(anyhow!("invalid configuration: `event_streams_per_credential` must be from 1 to 10000"));
        }
        let retention = tollgate_store::retention::Retention {
            events: positive_duration("event_retention", &self.event_retention)?,
            deliveries: positive_duration("delivery_retention", &self.delivery_retention)?,
        };
        Ok(Config {
            retention,
            prune_interval: std("prune_interval", &self.prune_interval)?,
            prune_batch: self.prune_batch,
            event_streams_per_credential: self.event_streams_per_credential,
            listen,
            idle_timeout: std("idle_timeout", &self.idle_timeout)?,
            max_connections: self.max_connections,
            key_rotation_period: duration("key_rotation_period", &self.key_rotation_period)?,
            request_timeout: std("request_timeout", &self.request_timeout)?,
            header_read_timeout: std("header_read_timeout", &self.header_read_timeout)?,
            token_ttl: duration("token_ttl", &self.token_ttl)?,
            public_url,
            jwt_algorithm,
            limits,
            trusted_proxy_header,
            redis_url: self.redis_url.filter(|u| !u.is_empty()),
            metrics_listen,
            emf,
            database_url,
            webhook_policy,
            webhook_schedule,
            webhook_dispatch: self.webhook_dispatch,
            allow_insecure_permissions: self.allow_insecure_permissions,
            webhook_proxy,
            nats_url,
            metrics_enabled: self.metrics_enabled,
            log_level: self.log_level.clone(),
            token_leeway: {
                let d = parse_duration(&self.token_leeway, true)
                    .map_err(|e| anyhow!("invalid configuration: `token_leeway`: {e}"))?;
                if d > time::Duration::seconds(60) {
                    return Err(anyhow!("invalid configuration: `token_leeway` must be at most 60s"));
                }
                d.whole_seconds() as u64
            },
            data_dir: self.data_dir,
            log_format: self.log_format,
            debug: self.debug,
        })
    }
}

/// A retention: a duration of at least one second.
fn positive_duration(name: &str, value: &str) -> anyhow::Result<time::Duration> {
    let d = parse_duration(value, false).map_err(|e| anyhow!("invalid configuration: `{name}`: {e}"))?;
    if d < time::Duration::seconds(1) {
        return Err(anyhow!("invalid configuration: `{name}` must be at least 1s"));
    }
    Ok(d)
}
