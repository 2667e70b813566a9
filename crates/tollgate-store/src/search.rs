//! The full-text index of resources, written in each change's transaction so that a resource is
//! findable the moment its write is acknowledged: SQLite FTS5 (porter stemming) and PostgreSQL
//! `tsvector` (english), with the same query on both (see `tollgate_core::search`).

use tollgate_core::search::document;
use tollgate_core::Resource;

use crate::conn::{Arg, Conn, Sql};
use crate::StoreError;

/// SQLite: the resource's FTS5 key, made once.
const KEY: Sql = Sql::each(
    "INSERT INTO resource_search_map (resource_id, project_id) VALUES ($1, $2) ON CONFLICT (resource_id) DO NOTHING",
    "",
);
/// Drops the resource's indexed text (before writing it again, or when it is deleted).
const UNINDEX: Sql = Sql::each(
    "DELETE FROM resource_search WHERE rowid = (SELECT rowid FROM resource_search_map WHERE resource_id = $1)",
    "DELETE FROM resource_search WHERE resource_id = $1",
);
/// One row, by `VALUES`: an `INSERT ... SELECT` would get a statement journal, and FTS5 flushes
/// its pending terms whenever one opens, leaving a segment per resource to merge later.
const INDEX: Sql = Sql::each(
    "INSERT INTO resource_search (rowid, body)
     VALUES ((SELECT rowid FROM resource_search_map WHERE resource_id = $1 AND project_id = $2), $3)",
    "INSERT INTO resource_search (resource_id, project_id, doc) VALUES ($1, $2, to_tsvector('english', $3))",
);
const FORGET: Sql = Sql::each("DELETE FROM resource_search_map WHERE resource_id = $1", "");

/// Writes (or rewrites) `r`'s indexed text.
pub(crate) async fn index(tx: &mut impl Conn, r: &Resource, fresh: bool) -> Result<(), StoreError> {
    let (id, project, text) = (r.id.to_string(), r.project_id.to_string(), document(&r.content));
    tx.execute(&KEY, &[Arg::Text(&id), Arg::Text(&project)]).await?;
    if !fresh {
        tx.execute(&UNINDEX, &[Arg::Text(&id)]).await?;
    }
    tx.execute(&INDEX, &[Arg::Text(&id), Arg::Text(&project), Arg::Text(&text)]).await.map(drop)
}

/// Removes `id` from the index.
pub(crate) async fn remove(tx: &mut impl Conn, id: &str) -> Result<(), StoreError> {
    tx.execute(&UNINDEX, &[Arg::Text(id)]).await?;
    tx.execute(&FORGET, &[Arg::Text(id)]).await.map(drop)
}
