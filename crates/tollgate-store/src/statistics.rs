//! Planner statistics on PostgreSQL. Its planner chooses between the sort indexes, the filters'
//! indexes and a sort by how many rows it believes each condition keeps; with no statistics it
//! guesses, and a listing that reads 100 rows through the right index takes 3 ms where the
//! guessed plan sorts 100,000 rows on every page (measured). Autovacuum normally keeps them
//! fresh, but it can be switched off, and a freshly loaded table waits for its next round. So
//! the upkeep task applies autovacuum's own rule itself: a table changed in more than 50 rows
//! plus a tenth of its size since its last `ANALYZE` is analysed again. One node does it at a
//! time. SQLite plans without statistics (its statements are written for that) and does
//! nothing here.

use crate::conn::{Arg, Conn};
use crate::StoreError;

/// Only one node refreshes at a time; the others skip the round.
const LOCK: &str = "SELECT CASE WHEN pg_try_advisory_xact_lock(7126483925117520113) THEN 1::bigint ELSE 0 END";
const STALE: &str = "SELECT relname::text FROM pg_stat_user_tables WHERE schemaname = current_schema()
     AND n_mod_since_analyze > 50 + n_live_tup / 10 ORDER BY relname";

/// Analyses the tables whose statistics are stale, and returns their names (PostgreSQL only).
pub(crate) async fn refresh(tx: &mut impl Conn) -> Result<Vec<String>, StoreError> {
    let locked: Vec<i64> = tx.fetch_all_text(LOCK, &[]).await?;
    if locked.first() != Some(&1) {
        return Ok(Vec::new());
    }
    let stale: Vec<String> = tx.fetch_all_text(STALE, &[]).await?;
    for table in &stale {
        // The name comes from the catalogue; quoted as an identifier all the same.
        let quoted = format!("\"{}\"", table.replace('"', "\"\""));
        tx.execute_text(&format!("ANALYZE {quoted}"), &[] as &[Arg<'_>]).await?;
    }
    Ok(stale)
}
