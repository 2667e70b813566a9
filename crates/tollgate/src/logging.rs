//! Log set-up: JSON lines (one object per event, fields at the top level) or readable text on
//! a terminal. Output goes through a non-blocking writer that drops lines rather than stall a
//! request when stdout is slow.

use std::io::IsTerminal;

use tracing_appender::non_blocking::{NonBlocking, WorkerGuard};
use tracing_subscriber::EnvFilter;

use crate::cli::LogFormat;

/// Installs the global subscriber; keep the guard alive until exit so buffered lines flush.
/// The returned writer shares the same non-blocking stdout, for other line-oriented output
/// (EMF) that must not interleave with log lines.
pub fn init(format: LogFormat, debug: bool, level: &str) -> (WorkerGuard, NonBlocking) {
    let (writer, guard) =
        tracing_appender::non_blocking::NonBlockingBuilder::default().lossy(true).finish(std::io::stdout());
    let level = if debug { "debug" } else { level };
    let filter = EnvFilter::new(format!("{level},hyper=warn,h2=warn,tower=warn"));
    let json = match format {
        LogFormat::Json => true,
        LogFormat::Pretty => false,
        LogFormat::Auto => !std::io::stdout().is_terminal(),
    };
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(writer.clone());
    if json {
        builder.json().flatten_event(true).with_current_span(false).with_span_list(false).init();
    } else {
        builder.with_target(false).init();
    }
    (guard, writer)
}
