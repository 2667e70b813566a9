//! How many resources each project has, and how many of them hold each attribute key, kept as
//! counters by every write that adds, removes or moves a resource or an attribute, in the
//! write's own transaction. A listing sorted by an attribute asks, once the resources holding it
//! run out, whether any resource lacks it: counting the resources and the attribute's index
//! entries grows with the project (28 ms on SQLite and 162 ms on PostgreSQL at 100,000
//! resources), while the counters answer from a few rows, whatever the size.
//!
//! A counter is a row per (project, key, shard); the resource count is the key `''`, which no
//! attribute key can be (they are 1-40 characters). Only the sum over the shards means
//! anything: the shards only spread concurrent PostgreSQL writers over different rows, so that
//! two creates in one project do not wait for each other's commit. A transaction writes to one
//! shard, its connection's (`pg_backend_pid()`: the connections of a pool have different
//! processes, and numbers close together), so concurrent writers rarely share a row. SQLite has
//! one writer at a time and uses shard 0 alone.
//!
//! A write collects its changes in a [`Tally`] and applies them once, at its end, in one
//! statement whose rows come in a fixed order (project, key): two PostgreSQL transactions then
//! lock counter rows in the same order, hold them only until they commit, and cannot deadlock.
//! Changes that cancel out (a patch that keeps its keys) write nothing.

use std::collections::BTreeMap;

use tollgate_core::Resource;

use crate::conn::{Arg, Builder, Conn, Dialect, FromRow, Row, Sql};
use crate::StoreError;

/// The key under which a project's resources are counted.
const RESOURCES: &str = "";

/// Counter rows per statement. PostgreSQL: many, one round trip, well under its placeholder
/// limit. SQLite: one, since a statement of several rows takes a statement journal, and opening
/// one makes FTS5 write out the search terms it holds for the transaction (a segment per write,
/// its pages copied to the journal): 5% more instructions per single create, measured.
fn rows_per_statement(dialect: Dialect) -> usize {
    match dialect {
        Dialect::Sqlite => 1,
        Dialect::Postgres => 200,
    }
}

/// How many resources of `$1` lack the attribute `$2`: the resources counted, less those
/// holding it. Summed as one bigint on both backends (PostgreSQL's `sum` of bigints is numeric).
const LACKING: Sql = Sql::same(
    "SELECT CAST(COALESCE(sum(CASE WHEN key = '' THEN n ELSE -n END), 0) AS BIGINT)
     FROM attribute_counts WHERE project_id = $1 AND key IN ('', $2)",
);

/// A resource's project and attribute keys as the attribute index holds them: one row per key,
/// or one row with no key for a resource without attributes.
const STORED_KEYS: Sql = Sql::same(
    "SELECT r.project_id, a.key FROM resources r LEFT JOIN resource_attributes a ON a.resource_id = r.id
     WHERE r.id = $1",
);

/// The changes a write makes to the counters, by (project, key).
#[derive(Debug, Default)]
pub(crate) struct Tally {
    deltas: BTreeMap<(String, String), i64>,
}

impl Tally {
    /// `r` now exists, with its attributes.
    pub(crate) fn add(&mut self, r: &Resource) {
        self.count(&r.project_id.to_string(), r.content.attributes.keys().map(String::as_str), 1);
    }

    /// `r` no longer exists, nor its attributes.
    pub(crate) fn remove(&mut self, r: &Resource) {
        self.count(&r.project_id.to_string(), r.content.attributes.keys().map(String::as_str), -1);
    }

    /// The resource stored under `id`, if any, is about to be replaced: whatever its row and
    /// attribute index hold (read from them, as an import may replace any row) goes.
    pub(crate) async fn remove_stored(&mut self, tx: &mut impl Conn, id: &str) -> Result<(), StoreError> {
        let rows: Vec<StoredKey> = tx.fetch_all(&STORED_KEYS, &[Arg::Text(id)]).await?;
        let Some(first) = rows.first() else { return Ok(()) };
        let keys = rows.iter().filter_map(|r| r.key.as_deref());
        self.count(&first.project, keys, -1);
        Ok(())
    }

    fn count<'k>(&mut self, project: &str, keys: impl Iterator<Item = &'k str>, by: i64) {
        for key in std::iter::once(RESOURCES).chain(keys) {
            *self.deltas.entry((project.to_owned(), key.to_owned())).or_default() += by;
        }
    }

    /// Applies the changes to the counters of this transaction's shard, in (project, key) order.
    pub(crate) async fn apply(self, tx: &mut impl Conn) -> Result<(), StoreError> {
        let shard = match tx.dialect() {
            Dialect::Sqlite => "0",
            // 64 shards: concurrent transactions in a pool rarely share a row, and a reader
            // sums at most 64 rows per key.
            Dialect::Postgres => "pg_backend_pid() % 64",
        };
        let changed: Vec<_> = self.deltas.iter().filter(|(_, by)| **by != 0).collect();
        for chunk in changed.chunks(rows_per_statement(tx.dialect())) {
            let mut sql = Builder::default();
            sql.push("INSERT INTO attribute_counts (project_id, key, shard, n) VALUES ");
            for (i, ((project, key), by)) in chunk.iter().enumerate() {
                sql.push(if i == 0 { "(" } else { ", (" });
                sql.arg(Arg::Text(project)).push(", ").arg(Arg::Text(key));
                sql.push(", ").push(shard).push(", ").arg(Arg::Int(**by)).push(")");
            }
            sql.push(" ON CONFLICT (project_id, key, shard) DO UPDATE SET n = attribute_counts.n + excluded.n");
            tx.execute_text(&sql.text, &sql.args).await?;
        }
        Ok(())
    }
}

/// How many resources of `project` lack the attribute `key`, as of the reader's snapshot.
pub(crate) async fn lacking(c: &mut impl Conn, project: &str, key: &str) -> Result<i64, StoreError> {
    c.fetch_one(&LACKING, &[Arg::Text(project), Arg::Text(key)]).await
}

/// A row of [`STORED_KEYS`].
struct StoredKey {
    project: String,
    key: Option<String>,
}

impl FromRow for StoredKey {
    fn from_row(r: &impl Row) -> Result<Self, StoreError> {
        Ok(Self { project: r.text(0)?, key: r.opt_text(1)? })
    }
}
