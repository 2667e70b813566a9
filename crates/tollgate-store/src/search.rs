//! The full-text index of resources, written in each change's transaction so that a resource is
//! findable the moment its write is acknowledged: SQLite FTS5 (porter stemming) and PostgreSQL
//! `tsvector` (english), with the same query on both (see `tollgate_core::search`). Entries are
//! written for many resources at once (see `conn::Many`).

use crate::conn::{Arg, Column, Conn, Many};
use crate::StoreError;

/// SQLite: the resource's FTS5 key, made once.
const KEY: Many = Many::each(
    "INSERT INTO resource_search_map (resource_id, project_id) VALUES ($1, $2) ON CONFLICT (resource_id) DO NOTHING",
    "",
);
/// Drops the resource's indexed text (before writing it again, or when it is deleted).
const UNINDEX: Many = Many::each(
    "DELETE FROM resource_search WHERE rowid = (SELECT rowid FROM resource_search_map WHERE resource_id = $1)",
    "DELETE FROM resource_search WHERE resource_id = ANY($1::text[])",
);
/// One row at a time by `VALUES` on SQLite: an `INSERT ... SELECT` would get a statement
/// journal, and FTS5 flushes its pending terms whenever one opens, leaving a segment per write
/// to merge later.
const INDEX: Many = Many::each(
    "INSERT INTO resource_search (rowid, body)
     VALUES ((SELECT rowid FROM resource_search_map WHERE resource_id = $1 AND project_id = $2), $3)",
    "INSERT INTO resource_search (resource_id, project_id, doc)
     SELECT u.id, $2::text, to_tsvector('english', u.body) FROM unnest($1::text[], $3::text[]) AS u(id, body)",
);
const FORGET: Many = Many::each("DELETE FROM resource_search_map WHERE resource_id = $1", "");

/// Drops the indexed text of `stale` (resources written again, or deleted), and forgets the
/// keys of `gone` (deleted resources, a subset of `stale`).
pub(crate) async fn unindex(tx: &mut impl Conn, stale: &[&str], gone: &[&str]) -> Result<(), StoreError> {
    tx.queue_many(&UNINDEX, &[Column::Text(stale.to_vec())]).await?;
    tx.queue_many(&FORGET, &[Column::Text(gone.to_vec())]).await
}

/// Writes the indexed text of resources of `project`, given as (id, document) pairs, none of
/// them indexed now (see [`unindex`]).
pub(crate) async fn index(tx: &mut impl Conn, project: &str, documents: &[(&str, String)]) -> Result<(), StoreError> {
    let ids = Column::Text(documents.iter().map(|(id, _)| *id).collect());
    tx.queue_many(&KEY, &[ids.clone(), Column::Same(Arg::Text(project))]).await?;
    let texts = Column::Text(documents.iter().map(|(_, text)| text.as_str()).collect());
    tx.queue_many(&INDEX, &[ids, Column::Same(Arg::Text(project)), texts]).await
}
