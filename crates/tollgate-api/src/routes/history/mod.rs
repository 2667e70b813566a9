//! Short histories for the console's charts: the node's request metrics per minute over the
//! last 24 hours (`metrics.rs`) and a credential's requests per hour over the last days
//! (`usage.rs`). Both are admin reads with small integer query parameters (`QueryPairs::ints`).

pub mod metrics;
pub mod usage;
