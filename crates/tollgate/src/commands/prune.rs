//! `tollgate prune [--dry-run]`: one pass of the pruner now, with the configured retention, or
//! (dry run) the number of rows of each table it would delete.

use anyhow::Context;
use tollgate_core::time_fmt::now;
use tollgate_events::pruner::{prune_once, PrunerSettings};

use crate::cli::PruneArgs;
use crate::commands::credentials::open_store;
use crate::config::Config;

/// Runs `prune`.
pub async fn run(config: &Config, args: PruneArgs) -> anyhow::Result<()> {
    let store = open_store(config).await?;
    let (pruned, verb) = if args.dry_run {
        (store.prunable(config.retention(), now()).await.context("counting rows past retention")?, "would delete")
    } else {
        let batch = u32::try_from(config.prune_batch).unwrap_or(u32::MAX);
        let settings = PrunerSettings { retention: config.retention(), batch, ..Default::default() };
        (prune_once(store.as_ref(), &settings, None).await.context("pruning rows past retention")?, "deleted")
    };
    let rows = store.table_rows().await.context("counting rows")?;
    println!("{:<20} {:>12} {:>12}", "table", verb, "rows");
    for ((table, n), (_, total)) in pruned.by_table().iter().zip(rows.iter()) {
        println!("{table:<20} {n:>12} {total:>12}");
    }
    Ok(())
}
