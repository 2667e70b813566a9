//! Every setting, declared once in the [`settings!`] table below: its name (which gives the
//! TOML key, the `TOLLGATE_*` variable and the `--flag`), its type, default, one-line doc (the
//! `--help` text, the README table, `tollgate config`) and the parser that validates it.
//! Loading ([`load`]) layers defaults < `tollgate.toml` < `TOLLGATE_*` environment < flags;
//! [`flags`] turns the table into command-line flags and [`show`] into what `tollgate config`
//! prints and the README's settings table.

pub mod flags;
mod load;
pub mod parse;
pub mod show;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use tollgate_auth::jwt::SigningAlgorithm;
use tollgate_core::Limit;
use tollgate_events::schedule::RetrySchedule;

use crate::cli::LogFormat;
pub use load::{load, Loaded, Source};
pub use parse::SecretUrl;
use parse::*;

/// One setting's declaration, as the rest of the program sees it.
#[derive(Debug, Clone, Copy)]
pub struct Setting {
    /// The TOML key; the variable is `TOLLGATE_` + its upper case, the flag `--` + kebab case.
    pub name: &'static str,
    /// Which group it belongs to in `--help` and the README.
    pub area: &'static str,
    /// What it does, one line.
    pub doc: &'static str,
    /// The default, as text; empty: not set.
    pub default: &'static str,
    /// May carry a password: masked wherever it is shown, and also read from `TOLLGATE_*_FILE`.
    pub secret: bool,
    /// Its flag is accepted by every command (`--data-dir`), not only `serve` and `config`.
    pub global: bool,
}

impl Setting {
    /// `TOLLGATE_LISTEN` for `listen`.
    pub fn env(&self) -> String {
        format!("TOLLGATE_{}", self.name.to_ascii_uppercase())
    }

    /// `data-dir` for `data_dir` (without the dashes).
    pub fn flag(&self) -> String {
        self.name.replace('_', "-")
    }

    /// A switch: its flag alone means `true` (`--debug`), `--debug=false` turns it off.
    pub fn switch(&self) -> bool {
        matches!(self.default, "true" | "false")
    }

    /// The text as it may be shown: secrets with their password masked.
    pub fn display(&self, value: &str) -> String {
        if self.secret {
            tollgate_core::redact::mask_url(value)
        } else {
            value.to_owned()
        }
    }
}

/// Whether `opts` (the words after a declaration's parser) holds `word`.
const fn has(opts: &[&str], word: &str) -> bool {
    let mut i = 0;
    while i < opts.len() {
        let (a, b) = (opts[i].as_bytes(), word.as_bytes());
        if a.len() == b.len() {
            let mut j = 0;
            while j < a.len() && a[j] == b[j] {
                j += 1;
            }
            if j == a.len() {
                return true;
            }
        }
        i += 1;
    }
    false
}

/// Declares the settings: the typed [`Config`], the [`SETTINGS`] table and the parsing of one
/// text per setting into `Config`, all from the one list.
macro_rules! settings {
    ($($area:literal {
        $(#[doc = $doc:literal] $name:ident: $ty:ty = $default:literal, $parse:expr $(, $opt:ident)*;)+
    })+) => {
        /// The validated settings, one field per declaration.
        #[derive(Debug, Clone)]
        pub struct Config {
            $($(#[doc = $doc] pub $name: $ty,)+)+
        }

        /// Every setting, in declaration order.
        pub static SETTINGS: &[Setting] = &[$($(Setting {
            name: stringify!($name),
            area: $area,
            doc: $doc.trim_ascii(),
            default: $default,
            secret: has(&[$(stringify!($opt)),*], "secret"),
            global: has(&[$(stringify!($opt)),*], "global"),
        },)+)+];

        impl Config {
            /// Parses one text per setting, in [`SETTINGS`] order; an error names the setting.
            fn parse(texts: &[String]) -> Result<Self, (&'static str, String)> {
                let mut texts = texts.iter();
                Ok(Self {$($($name: {
                    let text = texts.next().expect("one text per setting");
                    ($parse)(text.as_str()).map_err(|e| (stringify!($name), e))?
                },)+)+})
            }
        }
    };
}

settings! {
    "Server" {
        /// Address to listen on.
        listen: SocketAddr = "127.0.0.1:8080", address;
        /// The URL clients reach this service at, the OAuth issuer; set it behind a load balancer (unset: `http://` + the bound address).
        public_url: Option<String> = "", optional(public_url);
        /// Deadline of one request; with PostgreSQL also each query's `statement_timeout`, so no query outlives its request.
        request_timeout: Duration = "30s", timeout;
        /// Time to send a request head, HTTP/1.1 and HTTP/2; also the HTTP/2 PING timeout.
        header_read_timeout: Duration = "10s", timeout;
        /// A connection with no request in flight is closed after it.
        idle_timeout: Duration = "60s", timeout;
        /// Most connections served at once; beyond it new connections wait to be accepted.
        max_connections: usize = "10000", count(1, 1_000_000);
        /// The header a trusted load balancer writes the client address in, e.g. x-forwarded-for (unset: the TCP peer).
        trusted_proxy_header: Option<axum::http::HeaderName> = "", optional(header_name);
    }
    "Storage" {
        /// Directory that holds the SQLite database.
        data_dir: PathBuf = "./tollgate-data", path, global;
        /// PostgreSQL instead of SQLite in `data_dir` (postgres://...).
        database_url: Option<SecretUrl> = "", optional(secret_url(&["postgres://", "postgresql://"])), secret;
        /// Start even when other users can read the data directory or database (refused otherwise).
        allow_insecure_permissions: bool = "false", boolean;
    }
    "Logs and metrics" {
        /// Log format: `auto` (pretty on a terminal, JSON otherwise), `json` or `pretty`.
        log_format: LogFormat = "auto", log_format;
        /// Log at debug level (overrides `log_level`).
        debug: bool = "false", boolean;
        /// Lowest level logged: trace, debug, info, warn (drops the per-request lines), error or off.
        log_level: String = "info", log_level;
        /// Record the Prometheus request metrics.
        metrics_enabled: bool = "true", boolean;
        /// A separate address for an unauthenticated `/metrics` (unset: the main port, admin only).
        metrics_listen: Option<SocketAddr> = "", optional(address);
        /// Write CloudWatch EMF metrics on stdout.
        metrics_emf: bool = "false", boolean;
        /// The EMF namespace.
        metrics_emf_namespace: String = "Tollgate", text(1, 255);
        /// How often EMF metrics are written.
        metrics_emf_interval: Duration = "60s", timeout;
        /// How often this node adds its per-credential hourly request counts to the database.
        usage_flush_interval: Duration = "10s", timeout;
    }
    "Credentials and tokens" {
        /// Age at which a key or client is marked "rotation due".
        key_rotation_period: time::Duration = "90d", period;
        /// Lifetime of access tokens.
        token_ttl: time::Duration = "1h", period;
        /// Signing algorithm of access tokens: RS256, ES256 or EdDSA.
        jwt_algorithm: SigningAlgorithm = "RS256", |s: &str| s.parse::<SigningAlgorithm>();
        /// Clock skew tolerated on tokens' `exp` and `nbf`, at most 60 s.
        token_leeway: u64 = "60s", leeway;
    }
    "Rate limits" {
        /// Reads per credential, unless the credential has its own.
        rate_limit_read: Limit = "1000/h", limit;
        /// Writes per credential, unless the credential has its own.
        rate_limit_write: Limit = "100/h", limit;
        /// When the limiter's backend is unreachable: admit (true) or refuse with 429 (false).
        rate_limit_fail_open: bool = "true", boolean;
        /// Refused credentials per source address before further attempts get 429.
        rate_limit_failed_auth: Limit = "20/1m", limit;
        /// Redis for shared rate-limit counters, redis://... (unset: in memory).
        redis_url: Option<SecretUrl> = "", optional(secret_url(&["redis://", "rediss://"])), secret;
    }
    "Webhooks and events" {
        /// Whether this node sends webhooks (`false`: it writes the outbox but sends none).
        webhook_dispatch: bool = "true", boolean;
        /// Allow webhooks to loopback addresses (127.0.0.0/8, ::1).
        webhook_allow_loopback: bool = "false", boolean;
        /// Allow webhooks to every address (a private network you trust).
        webhook_allow_private: bool = "false", boolean;
        /// Delays between webhook attempts, comma-separated.
        webhook_retry_schedule: RetrySchedule = "5s,5m,30m,2h,5h,10h,14h,20h,24h", retry_schedule;
        /// The egress proxy webhooks go through (environment proxies are never used; unset: direct).
        webhook_proxy: Option<SecretUrl> = "", optional(secret_url(&["http://", "https://"])), secret;
        /// NATS for the JetStream event sink, nats://... (unset: none).
        nats_url: Option<SecretUrl> = "", optional(secret_url(&["nats://", "tls://"])), secret;
        /// How long events are kept, which is also how far back a stream can resume.
        event_retention: time::Duration = "30d", period;
        /// How long finished webhook deliveries and their attempts are kept (pending ones always).
        delivery_retention: time::Duration = "30d", period;
        /// Time between two passes of the pruner.
        prune_interval: Duration = "1m", timeout;
        /// Rows of each kind the pruner deletes per transaction.
        prune_batch: usize = "100", count(1, 10_000);
        /// Live event streams one credential may hold open on a node (then 429).
        event_streams_per_credential: usize = "10", count(1, 10_000);
    }
}

/// Settings read together.
impl Config {
    /// How long events and finished deliveries are kept.
    pub fn retention(&self) -> tollgate_store::retention::Retention {
        tollgate_store::retention::Retention { events: self.event_retention, deliveries: self.delivery_retention }
    }

    /// The default rate limits and the limiter's failure policy.
    pub fn limits(&self) -> tollgate_api::state::LimitSettings {
        tollgate_api::state::LimitSettings {
            read: self.rate_limit_read,
            write: self.rate_limit_write,
            fail_open: self.rate_limit_fail_open,
            failed_auth: self.rate_limit_failed_auth,
        }
    }

    /// Which addresses webhooks may be sent to.
    pub fn webhook_policy(&self) -> tollgate_events::target::TargetPolicy {
        tollgate_events::target::TargetPolicy {
            allow_loopback: self.webhook_allow_loopback,
            allow_private: self.webhook_allow_private,
        }
    }

    /// CloudWatch EMF: the namespace and the interval, when it is on.
    pub fn emf(&self) -> Option<(String, Duration)> {
        self.metrics_emf.then(|| (self.metrics_emf_namespace.clone(), self.metrics_emf_interval))
    }

    /// The webhook proxy, checked against the webhook address policy.
    pub fn webhook_proxy_url(&self) -> Result<Option<reqwest::Url>, String> {
        let Some(proxy) = &self.webhook_proxy else { return Ok(None) };
        tollgate_events::target::check_proxy(proxy.expose(), self.webhook_policy()).map(Some).map_err(|e| {
            format!(
                "{e} (the proxy's own address must pass the webhook address policy: see \
                 `webhook_allow_loopback` and `webhook_allow_private`)"
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_default_parses() {
        let defaults: Vec<String> = SETTINGS.iter().map(|s| s.default.to_owned()).collect();
        let config = Config::parse(&defaults).expect("the defaults are valid");
        assert_eq!(config.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(config.webhook_retry_schedule, RetrySchedule::default());
    }

    #[test]
    fn names_are_unique_and_secrets_are_urls() {
        let mut names: Vec<&str> = SETTINGS.iter().map(|s| s.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), SETTINGS.len());
        assert!(SETTINGS.iter().filter(|s| s.secret).all(|s| s.name.ends_with("_url") || s.name.ends_with("_proxy")));
    }
}
