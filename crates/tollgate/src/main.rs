//! The `tollgate` binary: parses the command line, loads configuration, and hands over to
//! `serve` or a CLI command. Nothing else lives here.

// The one module allowed `unsafe`: a global allocator cannot be written without it.
#[allow(unsafe_code)]
mod alloc;
mod background;
mod cli;
mod commands;
mod config;
mod connection;
mod first_line;
mod logging;
mod serve;

use clap::Parser;

use tollgate_store::sqlite::{fold_log, Folded};
use tollgate_store::StoreError;

use crate::cli::{Cli, Command};
use crate::config::{Config, Loaded};

/// mimalloc instead of glibc's allocator: malloc, free and their bookkeeping were a quarter of
/// a GET's instructions (and of a list page's and an export's). Its per-thread free lists serve
/// the many small, short-lived allocations of a request without locks or consolidation.
#[global_allocator]
static ALLOCATOR: alloc::MiMalloc = alloc::MiMalloc;

#[tokio::main]
async fn main() {
    // First, before anything opens a database: SQLite takes an allocator only until it starts.
    if !alloc::sqlite_uses_mimalloc() {
        eprintln!("tollgate: warning: SQLite refused mimalloc and keeps the system allocator");
    }
    quiet_on_closed_stdout();
    let cli = Cli::parse();
    let loaded = match config::load(&cli) {
        Ok(loaded) => loaded,
        Err(e) => {
            eprintln!("tollgate: {e:#}");
            std::process::exit(2);
        }
    };
    let code = match run(cli, loaded).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("tollgate: {e:#}");
            1
        }
    };
    std::process::exit(code);
}

/// A command whose output is piped into `head` and the like stops quietly when the reader goes,
/// as command-line tools do, instead of reporting the broken pipe as a crash.
fn quiet_on_closed_stdout() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or_default();
        if message.contains("failed printing to stdout") && message.contains("Broken pipe") {
            std::process::exit(0);
        }
        default(info);
    }));
}

async fn run(cli: Cli, loaded: Loaded) -> anyhow::Result<i32> {
    let config = loaded.config;
    match cli.command {
        Command::Serve(_) => {
            let (guard, stdout) = logging::init(config.log_format, config.debug, &config.log_level);
            let app = serve::Application::build(&config, stdout).await?;
            let addr = app.local_addr()?;
            tracing::info!(
                version = env!("CARGO_PKG_VERSION"),
                backend = serve::backend_name(&config),
                rate_limiter = if config.redis_url.is_some() { "redis" } else { "memory" },
                address = %addr,
                data_dir = %config.data_dir.display(),
                // `SecretUrl` displays itself masked: these URLs may carry passwords.
                database_url = config.database_url.as_ref().map(display),
                redis_url = config.redis_url.as_ref().map(display),
                nats_url = config.nats_url.as_ref().map(display),
                webhook_proxy = config.webhook_proxy.as_ref().map(display),
                "listening"
            );
            app.run_until_stopped(serve::shutdown_signal()).await;
            match fold_sqlite_log(&config) {
                Some(Ok(Folded::Busy)) => tracing::info!("write-ahead log left: another process is using the database"),
                Some(Ok(_)) => tracing::info!("write-ahead log folded into the database file"),
                Some(Err(e)) => tracing::warn!(error = %e, "could not fold the write-ahead log into the database file"),
                None => {}
            }
            tracing::info!("stopped");
            drop(guard);
            Ok(0)
        }
        Command::Config(args) => {
            config::show::print(&loaded.sources, args.output);
            Ok(0)
        }
        Command::Openapi => {
            print!("{}", tollgate_api::openapi::json());
            Ok(0)
        }
        Command::Keys(command) => folded(&config, commands::credentials::run_keys(&config, command).await),
        Command::Clients(command) => folded(&config, commands::credentials::run_clients(&config, command).await),
        Command::Projects(command) => folded(&config, commands::projects::run(&config, command).await),
        Command::SigningKeys(command) => folded(&config, commands::signing_keys::run(&config, command).await),
        Command::Usage(args) => folded(&config, commands::usage::run(&config, args).await),
        Command::Webhooks(command) => folded(&config, commands::webhooks::run(&config, command).await),
        Command::Types(command) => folded(&config, commands::types::run(&config, command).await),
        Command::Export(args) => folded(&config, commands::transfer::export(&config, args).await),
        Command::Prune(args) => folded(&config, commands::prune::run(&config, args).await.map(|()| 0)),
        Command::Import(args) => folded(&config, commands::transfer::import(&config, args).await),
    }
}

/// A command's outcome, once SQLite's write-ahead log is folded into the database file: the
/// command's store is gone by then, and a failure to fold changes nothing the command did.
fn folded(config: &Config, outcome: anyhow::Result<i32>) -> anyhow::Result<i32> {
    let _ = fold_sqlite_log(config);
    outcome
}

/// Folds SQLite's write-ahead log into the database file (see
/// `tollgate_store::sqlite::fold_log`); `None` on PostgreSQL, which has no such file.
fn fold_sqlite_log(config: &Config) -> Option<Result<Folded, StoreError>> {
    config.database_url.is_none().then(|| fold_log(&config.data_dir))
}
