//! Log set-up: JSON lines (one object per event, fields at the top level; see [`json`]) or
//! readable text on a terminal. Output goes through a batching writer ([`writer`]) that drops
//! lines rather than stall a request when stdout is slow.

mod json;
mod writer;

use std::io::IsTerminal;

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::EnvFilter;
pub use writer::{BatchWriter, FlushGuard};

use crate::cli::LogFormat;

/// Installs the global subscriber; keep the guard alive until exit so buffered lines flush.
/// The returned writer shares the same stdout buffer, for other line-oriented output (EMF)
/// that must not interleave with log lines.
pub fn init(format: LogFormat, debug: bool, level: &str) -> (FlushGuard, BatchWriter) {
    let (writer, guard) = writer::batched(std::io::stdout());
    let level = if debug { "debug" } else { level };
    let filter = EnvFilter::new(format!("{level},hyper=warn,h2=warn,tower=warn"));
    let json = match format {
        LogFormat::Json => true,
        LogFormat::Pretty => false,
        LogFormat::Auto => !std::io::stdout().is_terminal(),
    };
    if json {
        tracing_subscriber::registry().with(filter).with(json::JsonLines::new(writer.clone())).init();
    } else {
        tracing_subscriber::fmt().with_env_filter(filter).with_writer(writer.clone()).with_target(false).init();
    }
    (guard, writer)
}
