//! Telemetry: the Prometheus metrics registry (OpenTelemetry HTTP names and labels, domain
//! metrics prefixed `tollgate_`), a bounded view of quota use, a 24-hour per-minute history for
//! the console, and CloudWatch Embedded Metric
//! Format output aggregated per interval.

pub mod emf;
pub mod history;
pub mod metrics;
pub mod quota;

pub use metrics::Metrics;
