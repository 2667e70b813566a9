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
const INDEX: Sql = Sql::each(
    "INSERT INTO resource_search (rowid, body) SELECT m.rowid, b.body FROM (SELECT $1 AS id, $2 AS body, $3 AS project) b
     JOIN resource_search_map m ON m.resource_id = b.id AND m.project_id = b.project",
    "INSERT INTO resource_search (resource_id, doc, project_id) VALUES ($1, to_tsvector('english', $2), $3)",
);
const FORGET: Sql = Sql::each("DELETE FROM resource_search_map WHERE resource_id = $1", "");

/// Writes (or rewrites) `r`'s indexed text.
pub(crate) async fn index(tx: &mut impl Conn, r: &Resource, fresh: bool) -> Result<(), StoreError> {
    let (id, project, text) = (r.id.to_string(), r.project_id.to_string(), document(&r.content));
    tx.execute(&KEY, &[Arg::Text(&id), Arg::Text(&project)]).await?;
    if !fresh {
        tx.execute(&UNINDEX, &[Arg::Text(&id)]).await?;
    }
    tx.execute(&INDEX, &[Arg::Text(&id), Arg::Text(&text), Arg::Text(&project)]).await.map(drop)
}

/// Removes `id` from the index.
pub(crate) async fn remove(tx: &mut impl Conn, id: &str) -> Result<(), StoreError> {
    tx.execute(&UNINDEX, &[Arg::Text(id)]).await?;
    tx.execute(&FORGET, &[Arg::Text(id)]).await.map(drop)
}
