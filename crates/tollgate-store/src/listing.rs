//! The resource listing: filters, time ranges, any order with the id as the final tie-break, and
//! keyset cursors that carry the last item's sort values, so that every cursor page costs the
//! same. Text is compared byte by byte on both backends (`COLLATE "C"` on PostgreSQL), and a
//! missing attribute sorts as the empty string, so both return the same order.

use tollgate_core::query::{encode_cursor, SortField, SortKey, SortValue};
use tollgate_core::time_fmt::to_unix_micros;
use tollgate_core::{ListQuery, Page, PageMode, ProjectId, Resource};

use crate::conn::{Arg, Builder, Conn, Dialect};
use crate::rows::resource_columns;
use crate::StoreError;

/// A page of `project`'s resources as `q` asks.
pub(crate) async fn list(c: &mut impl Conn, project: ProjectId, q: ListQuery) -> Result<Page<Resource>, StoreError> {
    let project = project.to_string();
    let collate = if c.dialect() == Dialect::Postgres { " COLLATE \"C\"" } else { "" };
    let exprs: Vec<String> = q.sort.iter().enumerate().map(|(i, k)| expression(&k.field, i, collate)).collect();
    let dialect = c.dialect();
    let search = q.search.as_ref().map(|s| if dialect == Dialect::Sqlite { s.fts5() } else { s.tsquery() });
    let cursor = match &q.mode {
        PageMode::Cursor { after: Some(after) } => Some((after.values.as_slice(), after.id.to_string())),
        _ => None,
    };
    let mut sql = Builder::default();
    sql.push(concat!("SELECT ", resource_columns!(), " FROM resources"));
    for (i, key) in q.sort.iter().enumerate() {
        if let SortField::Attribute(name) = &key.field {
            sql.push(" LEFT JOIN (SELECT resource_id AS rid, value AS v FROM resource_attributes WHERE key = ");
            sql.arg(Arg::Text(name)).push(&format!(") s{i} ON s{i}.rid = resources.id"));
        }
    }
    if let Some(search) = &search {
        search_join(&mut sql, dialect, &project, search);
    }
    filters(&mut sql, &project, &q);
    if let Some((values, id)) = &cursor {
        after_cursor(&mut sql, &q.sort, &exprs, values, id);
    }
    sql.push(" ORDER BY ");
    // Without a sort, search results come by relevance (FTS5's bm25 is lower for better).
    if search.is_some() && q.sort.is_empty() {
        sql.push(if dialect == Dialect::Sqlite { "s.rank ASC, " } else { "s.rank DESC, " });
    }
    for (key, expr) in q.sort.iter().zip(&exprs) {
        sql.push(expr).push(if key.descending { " DESC, " } else { " ASC, " });
    }
    sql.push(if id_descending(&q.sort) { "id DESC" } else { "id ASC" });
    let offset = match &q.mode {
        PageMode::Offset { page } => i64::from(page - 1) * i64::from(q.per_page),
        PageMode::Cursor { .. } => 0,
    };
    sql.push(" LIMIT ").arg(Arg::Int(i64::from(q.per_page) + 1));
    sql.push(" OFFSET ").arg(Arg::Int(offset));
    let mut items: Vec<Resource> = c.fetch_all_text(&sql.text, &sql.args).await?;
    let has_next = items.len() > q.per_page as usize;
    items.truncate(q.per_page as usize);
    let next_cursor = if has_next { items.last().map(|r| encode_cursor(&q.sort, r)) } else { None };
    let total = if q.include_total { Some(count(c, &project, &q, search.as_deref()).await?) } else { None };
    Ok(Page { items, has_next, next_cursor, total })
}

/// Joins the full-text matches of `search` (in the dialect's query language) as `s`, with their
/// relevance as `s.rank`.
fn search_join<'a>(sql: &mut Builder<'a>, dialect: Dialect, project: &'a str, search: &'a str) {
    if dialect == Dialect::Sqlite {
        sql.push(
            " JOIN (SELECT m.resource_id AS sid, bm25(resource_search) AS rank FROM resource_search
             JOIN resource_search_map m ON m.rowid = resource_search.rowid WHERE resource_search MATCH ",
        );
        sql.arg(Arg::Text(search)).push(" AND m.project_id = ").arg(Arg::Text(project));
    } else {
        sql.push(" JOIN (SELECT resource_id AS sid, ts_rank(doc, to_tsquery('english', ");
        sql.arg(Arg::Text(search)).push(")) AS rank FROM resource_search WHERE project_id = ").arg(Arg::Text(project));
        sql.push(" AND doc @@ to_tsquery('english', ").arg(Arg::Text(search)).push(")");
    }
    sql.push(") s ON s.sid = resources.id");
}

/// The SQL expression of a sort key; `i` names its attribute join.
fn expression(field: &SortField, i: usize, collate: &str) -> String {
    match field {
        SortField::CreatedAt => "created_at".into(),
        SortField::UpdatedAt => "updated_at".into(),
        SortField::Name => format!("name{collate}"),
        SortField::Type => format!("type{collate}"),
        SortField::Status => format!("status{collate}"),
        SortField::Attribute(_) => format!("COALESCE(s{i}.v, ''){collate}"),
    }
}

/// The id breaks ties in the direction of the last key, so a single-direction order is one
/// index range on both backends.
fn id_descending(sort: &[SortKey]) -> bool {
    sort.last().is_some_and(|k| k.descending)
}

/// Every condition but the cursor: the project, `type`, `status`, attributes and time ranges.
fn filters<'a>(sql: &mut Builder<'a>, project: &'a str, q: &'a ListQuery) {
    sql.push(" WHERE project_id = ").arg(Arg::Text(project));
    if let Some(kind) = &q.kind {
        sql.push(" AND type = ").arg(Arg::Text(kind));
    }
    if let Some(status) = q.status {
        sql.push(" AND status = ").arg(Arg::Text(status.as_str()));
    }
    for (key, value) in &q.attributes {
        sql.push(" AND id IN (SELECT resource_id FROM resource_attributes WHERE project_id = ").arg(Arg::Text(project));
        sql.push(" AND key = ").arg(Arg::Text(key)).push(" AND value = ").arg(Arg::Text(value)).push(")");
    }
    let ranges = [
        (" AND created_at > ", q.created_after),
        (" AND created_at < ", q.created_before),
        (" AND updated_at > ", q.updated_after),
        (" AND updated_at < ", q.updated_before),
    ];
    for (condition, at) in ranges {
        if let Some(at) = at {
            sql.push(condition).arg(Arg::Int(to_unix_micros(at)));
        }
    }
}

/// Only rows after the cursor's in the order: one row-value comparison when every key goes one
/// way, else the expanded form `k1 > v1 OR (k1 = v1 AND k2 < v2) OR ...`.
fn after_cursor<'a>(sql: &mut Builder<'a>, sort: &[SortKey], exprs: &[String], values: &'a [SortValue], id: &'a str) {
    let value = |v: &'a SortValue| match v {
        SortValue::Int(i) => Arg::Int(*i),
        SortValue::Text(t) => Arg::Text(t),
    };
    let descending = id_descending(sort);
    if sort.iter().all(|k| k.descending == descending) {
        sql.push(" AND (");
        for e in exprs {
            sql.push(e).push(", ");
        }
        sql.push(if descending { "id) < (" } else { "id) > (" });
        for v in values {
            sql.arg(value(v)).push(", ");
        }
        sql.arg(Arg::Text(id)).push(")");
        return;
    }
    sql.push(" AND (");
    for n in 0..=sort.len() {
        if n > 0 {
            sql.push(" OR ");
        }
        sql.push("(");
        for (e, v) in exprs.iter().zip(values).take(n) {
            sql.push(e).push(" = ").arg(value(v)).push(" AND ");
        }
        match sort.get(n) {
            Some(k) => {
                sql.push(&exprs[n]).push(if k.descending { " < " } else { " > " }).arg(value(&values[n]));
            }
            None => {
                sql.push(if descending { "id < " } else { "id > " }).arg(Arg::Text(id));
            }
        }
        sql.push(")");
    }
    sql.push(")");
}

async fn count(c: &mut impl Conn, project: &str, q: &ListQuery, search: Option<&str>) -> Result<u64, StoreError> {
    let dialect = c.dialect();
    let mut sql = Builder::default();
    sql.push("SELECT count(*) FROM resources");
    if let Some(search) = search {
        search_join(&mut sql, dialect, project, search);
    }
    filters(&mut sql, project, q);
    let n: Vec<i64> = c.fetch_all_text(&sql.text, &sql.args).await?;
    Ok(n.first().copied().unwrap_or(0).try_into().unwrap_or(0))
}
