//! `tollgate serve`: opens the store, creates the first admin key on a fresh installation,
//! binds the listener (port 0 works) and serves until SIGINT or SIGTERM, then drains in-flight
//! requests. Slow or idle clients are cut off by the per-connection limits ([`crate::connection`])
//! and the request deadline; at most `max_connections` are served at once, and the ones beyond
//! wait to be accepted while the server keeps answering the ones it has.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::logging::BatchWriter;
use anyhow::Context;
use std::io::Write;
use tokio::net::TcpListener;
use tollgate_api::{ApiSettings, AppState, OAuthSettings};
use tollgate_auth::{SecretKind, SecretToken};
use tollgate_core::CredentialLimits;
use tollgate_events::{Dispatcher, DispatcherSettings};
use tollgate_limits::{MemoryLimiter, RateLimiter, RedisLimiter};
use tollgate_store::{NewApiKeyTemplate, Observer, Store};

use crate::commands::credentials::open_store_with;
use tollgate_telemetry::emf::EmfAggregator;
use tollgate_telemetry::Metrics;

use crate::background::{stopped, Background};
use crate::config::Config;
use crate::connection::{self, Limits};

/// How long shutdown waits for in-flight requests and background work.
const DRAIN: Duration = Duration::from_secs(30);
/// The least time background work gets to stop after the requests have drained: enough for a
/// webhook attempt under way to reach its 10-second timeout and be recorded.
const BACKGROUND_FLOOR: Duration = Duration::from_secs(12);

/// A bound, ready-to-run server.
pub struct Application {
    listener: TcpListener,
    app: axum::Router,
    limits: Limits,
    max_connections: usize,
    /// Everything started besides the connections: stopped and awaited on shutdown.
    background: Background,
    /// Live event streams, ended when draining starts.
    hub: tollgate_events::EventHub,
}

impl Application {
    /// Opens storage, bootstraps, and binds. `stdout` receives EMF lines when they are enabled.
    pub async fn build(config: &Config, stdout: BatchWriter) -> anyhow::Result<Self> {
        let metrics = Arc::new(Metrics::new(env!("CARGO_PKG_VERSION"), backend_name(config)));
        let observer = metrics.clone();
        let observer: Observer = Arc::new(move |op, elapsed| observer.db_query(op, elapsed));
        let store = open_store_with(config, 16, Some(observer), config.nats_url.is_some()).await?;
        bootstrap(store.as_ref()).await?;
        // Before any request: a token request must never have to mint a key.
        let overlap = config.token_ttl + time::Duration::seconds(config.token_leeway as i64);
        tollgate_api::oauth::keys::ensure_signing_key(store.as_ref(), config.jwt_algorithm, overlap)
            .await
            .context("making sure a signing key of `jwt_algorithm` exists")?;
        let listener = TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("cannot listen on {} (setting `listen`)", config.listen))?;
        let issuer = match &config.public_url {
            Some(url) => url.clone(),
            None => format!("http://{}", listener.local_addr()?),
        };
        let oauth = OAuthSettings {
            token_ttl: config.token_ttl,
            algorithm: config.jwt_algorithm,
            leeway_seconds: config.token_leeway,
            ..OAuthSettings::for_issuer(&issuer)
        };
        let settings = ApiSettings {
            request_timeout: config.request_timeout,
            key_rotation_period: config.key_rotation_period,
            oauth,
            limits: config.limits(),
            metrics_on_main_port: config.metrics_listen.is_none(),
            webhook_policy: config.webhook_policy(),
            metrics_enabled: config.metrics_enabled,
            trusted_proxy_header: config.trusted_proxy_header.clone(),
            nats_configured: config.nats_url.is_some(),
        };
        let mut background = Background::default();
        if config.webhook_dispatch {
            let hook_metrics = metrics.clone();
            let dispatcher = Dispatcher::new(
                store.clone(),
                DispatcherSettings {
                    schedule: config.webhook_retry_schedule.clone(),
                    policy: config.webhook_policy(),
                    proxy: config.webhook_proxy_url().map_err(anyhow::Error::msg)?,
                    ..Default::default()
                },
                Some(Arc::new(move |outcome| hook_metrics.webhook_attempt(outcome))),
            );
            background.spawn("webhook dispatcher", |stop| dispatcher.run(stop));
        }
        if let Some(url) = &config.nats_url {
            let (store, url) = (store.clone(), url.expose().to_owned());
            background.spawn("nats sink", |stop| tollgate_events::nats::run(store, url, stop));
        }
        let limiter: Arc<dyn RateLimiter> = match &config.redis_url {
            Some(url) => Arc::new(
                RedisLimiter::connect(url.expose(), "tollgate:rl:")
                    .await
                    .with_context(|| "connecting to Redis (setting `redis_url`)".to_string())?,
            ),
            None => Arc::new(MemoryLimiter::new()),
        };
        let emf = config.emf().map(|(namespace, every)| {
            let emf = Arc::new(EmfAggregator::new(&namespace));
            let (flushed, metrics) = (emf.clone(), metrics.clone());
            background.spawn("emf flusher", move |stop| flush_emf(flushed, metrics, every, stdout, stop));
            emf
        });
        let hub = events_and_retention(config, &store, &metrics, &mut background).await?;
        let state = AppState::new(store.clone(), limiter, metrics, emf, settings).with_event_hub(hub.clone());
        let (hourly, every) = (state.hourly.clone(), config.usage_flush_interval);
        background
            .spawn("hourly usage flusher", move |stop| tollgate_api::hourly::run_flusher(store, hourly, every, stop));
        if let Some(addr) = config.metrics_listen {
            let listener = TcpListener::bind(addr)
                .await
                .with_context(|| format!("cannot listen on {addr} (setting `metrics_listen`)"))?;
            tracing::info!(address = %addr, "serving /metrics");
            let metrics_app = tollgate_api::metrics_app(state.clone());
            background.spawn("metrics listener", |stop| async move {
                if let Err(e) = axum::serve(listener, metrics_app).with_graceful_shutdown(stopped(stop)).await {
                    tracing::error!(error = %e, "the metrics listener stopped");
                }
            });
        }
        let app = tollgate_api::app(state);
        let limits =
            Limits { header_read_timeout: config.header_read_timeout, idle_timeout: config.idle_timeout, drain: DRAIN };
        Ok(Self { listener, app, limits, max_connections: config.max_connections, background, hub })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` resolves, then drains.
    pub async fn run_until_stopped(self, shutdown: impl std::future::Future<Output = ()>) {
        let builder = connection::builder(&self.limits);
        let permits = Arc::new(tokio::sync::Semaphore::new(self.max_connections));
        let (stopping, stop_rx) = tokio::sync::watch::channel(false);
        let mut warned_full: Option<std::time::Instant> = None;
        tokio::pin!(shutdown);
        loop {
            // At the cap, new connections wait in the listen queue until one closes.
            let permit = match permits.clone().try_acquire_owned() {
                Ok(permit) => permit,
                Err(_) => {
                    if warned_full.is_none_or(|at| at.elapsed() > Duration::from_secs(60)) {
                        tracing::warn!(
                            max_connections = self.max_connections,
                            "connection limit reached: new connections wait"
                        );
                        warned_full = Some(std::time::Instant::now());
                    }
                    tokio::select! {
                        permit = permits.clone().acquire_owned() => permit.expect("the semaphore is never closed"),
                        () = &mut shutdown => break,
                    }
                }
            };
            let (stream, peer) = tokio::select! {
                accepted = self.listener.accept() => match accepted {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        // Out of file descriptors and the like: back off instead of spinning.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
                () = &mut shutdown => break,
            };
            let _ = stream.set_nodelay(true);
            let conn = connection::serve(
                stream,
                peer,
                self.app.clone(),
                builder.clone(),
                self.limits,
                stop_rx.clone(),
                permit,
            );
            tokio::spawn(conn);
        }
        drop(self.listener);
        tracing::info!("shutting down: draining in-flight requests");
        let deadline = tokio::time::Instant::now() + DRAIN;
        let _ = stopping.send(true);
        // Event streams never finish by themselves: end them so their connections can close.
        self.hub.close_streams();
        // Every connection holds a permit until it is gone: all of them back means all closed.
        let all = u32::try_from(self.max_connections).unwrap_or(u32::MAX);
        if tokio::time::timeout_at(deadline, permits.acquire_many(all)).await.is_err() {
            tracing::warn!(drain_seconds = DRAIN.as_secs(), "requests still running after the drain period");
        }
        // Background work stops after the requests, so that the last EMF batch counts them.
        // It gets the rest of the drain period, and a little time even when requests used it
        // all: webhook attempts in progress finish (or their leases expire and another node
        // retries them), the EMF flusher writes its last batch.
        let floor = tokio::time::Instant::now() + BACKGROUND_FLOOR;
        self.background.stop(deadline.max(floor)).await;
    }
}

/// The live stream's hub and the pruner, each a task `serve` owns until it stops.
async fn events_and_retention(
    config: &Config,
    store: &Arc<dyn Store>,
    metrics: &Arc<Metrics>,
    background: &mut Background,
) -> anyhow::Result<tollgate_events::EventHub> {
    let settings = tollgate_events::HubSettings {
        max_streams_per_credential: config.event_streams_per_credential,
        event_retention: config.event_retention,
    };
    let hub = tollgate_events::EventHub::start(store.clone(), settings).await.context("starting the event stream")?;
    let pruner = tollgate_events::pruner::PrunerSettings {
        retention: config.retention(),
        interval: config.prune_interval,
        batch: u32::try_from(config.prune_batch).unwrap_or(u32::MAX),
        ..Default::default()
    };
    let m = metrics.clone();
    let observe: tollgate_events::pruner::PruneObserver =
        Arc::new(move |pruned, rows| m.pruned(&pruned.by_table(), rows));
    let tail = hub.clone();
    background.spawn("event stream", move |stop| tail.run(stop));
    let store = store.clone();
    background.spawn("pruner", move |stop| tollgate_events::pruner::run(store, pruner, Some(observe), stop));
    Ok(hub)
}

/// The first admin key's own limits: administration (setting up projects, keys, types, webhooks,
/// then a first import or walkthrough) must not stop at the defaults meant for integrations
/// (1000 reads and 100 writes an hour). `tollgate keys update ID --limit ...` changes them.
pub const FIRST_ADMIN_KEY_LIMITS: &str = "read=10000/h,write=10000/h";

/// On the first start of an empty installation: the `default` project and an admin key, whose
/// secret is shown here once, on stderr, and never again.
async fn bootstrap(store: &dyn Store) -> anyhow::Result<()> {
    let secret = SecretToken::generate(SecretKind::ApiKey);
    let limits = CredentialLimits::parse(FIRST_ADMIN_KEY_LIMITS).expect("valid limits");
    let template = NewApiKeyTemplate { digest: secret.digest(), hint: secret.hint(), limits };
    if store.bootstrap(template).await.context("creating the first admin key")? {
        let line = "=".repeat(72);
        eprintln!(
            "{line}\nTollgate created the project `default` and its first admin key\n\
             (scopes: admin resource:read resource:write; limits: {FIRST_ADMIN_KEY_LIMITS}).\n\
             Store it now: it is never shown again.\n\n    \
             {}\n\n    export TOLLGATE_API_KEY={}\n{line}",
            secret.expose(),
            secret.expose()
        );
    }
    Ok(())
}

/// `postgres` or `sqlite`, for logs and build info.
pub fn backend_name(config: &Config) -> &'static str {
    if config.database_url.is_some() {
        "postgres"
    } else {
        "sqlite"
    }
}

/// Writes the EMF lines of each interval through the log writer, so that they never interleave
/// with log lines and never block a request; when told to stop, writes the last batch.
async fn flush_emf(
    emf: Arc<EmfAggregator>,
    metrics: Arc<Metrics>,
    every: Duration,
    mut out: BatchWriter,
    stop: tokio::sync::watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(every);
    tick.tick().await;
    let stop = stopped(stop);
    tokio::pin!(stop);
    loop {
        let last = tokio::select! {
            _ = tick.tick() => false,
            () = &mut stop => true,
        };
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or_default();
        for line in emf.flush(now_ms, &metrics.quota.summary()) {
            let _ = out.write_all(format!("{line}\n").as_bytes());
        }
        if last {
            return;
        }
    }
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
