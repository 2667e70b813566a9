//! The resource listing: filters, time ranges, any order with the id as the final tie-break, and
//! keyset cursors that carry the last item's sort values, so that a cursor page does not cost
//! more the deeper it is. Text is compared byte by byte on both backends (`COLLATE "C"` on
//! PostgreSQL). A resource without the attribute a sort names comes after every resource that
//! has it, in either direction: a sort by one attribute then reads the attribute index in order
//! (one range, whatever the depth) and only the last pages look for the resources without it,
//! and only when the project's counters (see `attribute_counts`) say that some resource lacks it.
//! Sorts by a column read that column's index.

use tollgate_core::query::{encode_cursor, SortField, SortKey, SortValue};
use tollgate_core::time_fmt::to_unix_micros;
use tollgate_core::{ListQuery, Page, PageMode, ProjectId};

use crate::attribute_counts;
use crate::conn::{Arg, Builder, Conn, Dialect};
use crate::rows::{resource_columns, RawResource};
use crate::StoreError;

/// A page of `project`'s resources as `q` asks.
/// Rows as stored: the API answers straight from them, and only the last is checked into a
/// resource, for its cursor.
pub(crate) async fn list(c: &mut impl Conn, project: ProjectId, q: ListQuery) -> Result<Page<RawResource>, StoreError> {
    let project = project.to_string();
    let dialect = c.dialect();
    let search = q.search.as_ref().map(|s| if dialect == Dialect::Sqlite { s.fts5() } else { s.tsquery() });
    let cursor = match &q.mode {
        PageMode::Cursor { after: Some(after) } => Some((after.values.as_slice(), after.id.to_string())),
        _ => None,
    };
    let mut items = match (&q.sort[..], &q.mode, &search) {
        ([SortKey { field: SortField::Attribute(key), descending }], PageMode::Cursor { .. }, None) => {
            by_attribute(c, &project, &q, key, *descending, cursor).await?
        }
        _ => general(c, &project, &q, search.as_deref(), cursor).await?,
    };
    let has_next = items.len() > q.per_page as usize;
    items.truncate(q.per_page as usize);
    let last = if has_next { items.last().map(|r| r.clone().into_resource()).transpose()? } else { None };
    let next_cursor = last.map(|r| encode_cursor(&q.sort, &r));
    let total = if q.include_total { Some(count(c, &project, &q, search.as_deref()).await?) } else { None };
    Ok(Page { items, has_next, next_cursor, total })
}

/// Any order, filter and search, by cursor or page number: one query whose order terms are
/// those of [`terms`].
async fn general(
    c: &mut impl Conn,
    project: &str,
    q: &ListQuery,
    search: Option<&str>,
    cursor: Option<(&[SortValue], String)>,
) -> Result<Vec<RawResource>, StoreError> {
    let dialect = c.dialect();
    let terms = terms(&q.sort, collate(dialect));
    let mut sql = Builder::default();
    sql.push(concat!("SELECT ", resource_columns!()));
    from_resources(&mut sql, dialect, project, search);
    for (i, key) in q.sort.iter().enumerate() {
        if let SortField::Attribute(name) = &key.field {
            sql.push(" LEFT JOIN (SELECT resource_id AS rid, value AS v FROM resource_attributes WHERE key = ");
            sql.arg(Arg::Text(name)).push(&format!(") s{i} ON s{i}.rid = resources.id"));
        }
    }
    filters(&mut sql, project, q);
    if let Some((values, id)) = &cursor {
        after_cursor(&mut sql, &terms, &term_values(&q.sort, values), id, id_descending(&q.sort));
    }
    sql.push(" ORDER BY ");
    // Without a sort, search results come by relevance (FTS5's bm25 is lower for better).
    if search.is_some() && q.sort.is_empty() {
        sql.push(if dialect == Dialect::Sqlite { "s.rank ASC, " } else { "s.rank DESC, " });
    }
    for (expr, descending) in &terms {
        sql.push(expr).push(if *descending { " DESC, " } else { " ASC, " });
    }
    sql.push(if id_descending(&q.sort) { "id DESC" } else { "id ASC" });
    let offset = match &q.mode {
        PageMode::Offset { page } => i64::from(page - 1) * i64::from(q.per_page),
        PageMode::Cursor { .. } => 0,
    };
    sql.push(" LIMIT ").arg(Arg::Int(i64::from(q.per_page) + 1));
    sql.push(" OFFSET ").arg(Arg::Int(offset));
    c.fetch_all_text(&sql.text, &sql.args).await
}

/// A cursor page sorted by one attribute: the resources that have it from the attribute index
/// in order (`(project_id, key, value, resource_id)`), after the cursor's value; once those run
/// out, the ones without it, by id.
async fn by_attribute(
    c: &mut impl Conn,
    project: &str,
    q: &ListQuery,
    key: &str,
    descending: bool,
    cursor: Option<(&[SortValue], String)>,
) -> Result<Vec<RawResource>, StoreError> {
    let dialect = c.dialect();
    let collate = collate(dialect);
    let (op, dir) = if descending { (" < ", " DESC") } else { (" > ", " ASC") };
    let wanted = q.per_page as usize + 1;
    let after_value = match &cursor {
        Some((values, id)) => match values.first() {
            Some(SortValue::Text(v)) => Some(Some((v.as_str(), id.as_str()))),
            _ => None, // past every resource that has the attribute
        },
        None => Some(None),
    };
    let mut items = Vec::new();
    if let Some(after) = after_value {
        let mut sql = Builder::default();
        sql.push(concat!("SELECT ", resource_columns!(), " FROM (SELECT resource_id AS rid, value AS v"));
        sql.push(" FROM resource_attributes WHERE project_id = ").arg(Arg::Text(project));
        sql.push(" AND key = ").arg(Arg::Text(key));
        if let Some((value, id)) = after {
            sql.push(&format!(" AND (value{collate}, resource_id{collate})")).push(op);
            sql.push("(").arg(Arg::Text(value)).push(", ").arg(Arg::Text(id)).push(")");
        }
        // SQLite: CROSS JOIN keeps the attribute index as the outer loop, so the order comes
        // from it and no sort is needed.
        sql.push(if dialect == Dialect::Sqlite { ") s CROSS JOIN resources" } else { ") s JOIN resources" });
        sql.push(" ON resources.id = s.rid");
        filters(&mut sql, project, q);
        sql.push(&format!(" ORDER BY s.v{collate}{dir}, s.rid{collate}{dir} LIMIT "));
        sql.arg(Arg::Int(wanted as i64));
        items = c.fetch_all_text(&sql.text, &sql.args).await?;
    }
    // Past the resources with the attribute come those without it, which no index finds: look
    // for them only when the project has any, as its counters tell from a few rows. They are
    // read after the page's resources with the attribute, so a resource whose attribute a
    // concurrent write removed is seen in one query or the other.
    if items.len() < wanted && (after_value.is_none() || attribute_counts::lacking(c, project, key).await? > 0) {
        let mut sql = Builder::default();
        sql.push(concat!("SELECT ", resource_columns!(), " FROM resources"));
        filters(&mut sql, project, q);
        sql.push(
            " AND NOT EXISTS (SELECT 1 FROM resource_attributes a WHERE a.resource_id = resources.id AND a.key = ",
        );
        sql.arg(Arg::Text(key)).push(")");
        if let Some((_, id)) = cursor.as_ref().filter(|_| after_value.is_none()) {
            sql.push(" AND id").push(op).arg(Arg::Text(id));
        }
        sql.push(&format!(" ORDER BY id{dir} LIMIT ")).arg(Arg::Int((wanted - items.len()) as i64));
        items.extend(c.fetch_all_text::<RawResource>(&sql.text, &sql.args).await?);
    }
    Ok(items)
}

fn collate(dialect: Dialect) -> &'static str {
    if dialect == Dialect::Postgres {
        " COLLATE \"C\""
    } else {
        ""
    }
}

/// `FROM resources`, or with a search, `FROM` its matches (in the dialect's query language) as
/// `s`, with their relevance as `s.rank`, joined to their resources. On SQLite the matches are
/// the outer loop (`CROSS JOIN` fixes the order) and each is looked up by id: otherwise a sort
/// index can tempt its planner to walk the project's resources for every match.
fn from_resources<'a>(sql: &mut Builder<'a>, dialect: Dialect, project: &'a str, search: Option<&'a str>) {
    let Some(search) = search else {
        sql.push(" FROM resources");
        return;
    };
    if dialect == Dialect::Sqlite {
        sql.push(
            " FROM (SELECT m.resource_id AS sid, bm25(resource_search) AS rank FROM resource_search
             JOIN resource_search_map m ON m.rowid = resource_search.rowid WHERE resource_search MATCH ",
        );
        sql.arg(Arg::Text(search)).push(" AND m.project_id = ").arg(Arg::Text(project));
        // Without statistics SQLite may pick a covering sort index that matches only the
        // project (for a count, say) and scan it for every match: the lookup is by id.
        sql.push(") s CROSS JOIN resources INDEXED BY resources_by_project ON resources.id = s.sid");
    } else {
        sql.push(" FROM (SELECT resource_id AS sid, ts_rank(doc, to_tsquery('english', ");
        sql.arg(Arg::Text(search)).push(")) AS rank FROM resource_search WHERE project_id = ").arg(Arg::Text(project));
        sql.push(" AND doc @@ to_tsquery('english', ").arg(Arg::Text(search)).push(")");
        sql.push(") s JOIN resources ON resources.id = s.sid");
    }
}

/// The order terms of `sort`, each an SQL expression and its direction. An attribute (joined as
/// `s{i}`) is two: whether the resource lacks it (always ascending, so those come last), then
/// its value.
fn terms(sort: &[SortKey], collate: &str) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    for (i, k) in sort.iter().enumerate() {
        let expr = match &k.field {
            SortField::CreatedAt => "created_at".into(),
            SortField::UpdatedAt => "updated_at".into(),
            SortField::Name => format!("name{collate}"),
            SortField::Type => format!("type{collate}"),
            SortField::Status => format!("status{collate}"),
            SortField::Attribute(_) => {
                out.push((format!("CASE WHEN s{i}.v IS NULL THEN 1 ELSE 0 END"), false));
                format!("COALESCE(s{i}.v, ''){collate}")
            }
        };
        out.push((expr, k.descending));
    }
    out
}

/// A cursor's sort values as the values of [`terms`].
fn term_values<'a>(sort: &[SortKey], values: &'a [SortValue]) -> Vec<Arg<'a>> {
    let mut out = Vec::new();
    for (k, v) in sort.iter().zip(values) {
        if matches!(k.field, SortField::Attribute(_)) {
            out.push(Arg::Int(i64::from(*v == SortValue::Missing)));
        }
        match v {
            SortValue::Int(i) => out.push(Arg::Int(*i)),
            SortValue::Text(t) => out.push(Arg::Text(t)),
            SortValue::Missing => out.push(Arg::Text("")),
        }
    }
    out
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

/// Only rows after the cursor's in the order: one row-value comparison when every term goes one
/// way, else the expanded form `t1 > v1 OR (t1 = v1 AND t2 < v2) OR ...`.
fn after_cursor<'a>(sql: &mut Builder<'a>, terms: &[(String, bool)], values: &[Arg<'a>], id: &'a str, id_desc: bool) {
    if terms.iter().all(|(_, d)| *d == id_desc) {
        sql.push(" AND (");
        for (e, _) in terms {
            sql.push(e).push(", ");
        }
        sql.push(if id_desc { "id) < (" } else { "id) > (" });
        for v in values {
            sql.arg(*v).push(", ");
        }
        sql.arg(Arg::Text(id)).push(")");
        return;
    }
    sql.push(" AND (");
    for n in 0..=terms.len() {
        if n > 0 {
            sql.push(" OR ");
        }
        sql.push("(");
        for ((e, _), v) in terms.iter().zip(values).take(n) {
            sql.push(e).push(" = ").arg(*v).push(" AND ");
        }
        match terms.get(n) {
            Some((e, descending)) => {
                sql.push(e).push(if *descending { " < " } else { " > " }).arg(values[n]);
            }
            None => {
                sql.push(if id_desc { "id < " } else { "id > " }).arg(Arg::Text(id));
            }
        }
        sql.push(")");
    }
    sql.push(")");
}

async fn count(c: &mut impl Conn, project: &str, q: &ListQuery, search: Option<&str>) -> Result<u64, StoreError> {
    let dialect = c.dialect();
    let mut sql = Builder::default();
    sql.push("SELECT count(*)");
    from_resources(&mut sql, dialect, project, search);
    filters(&mut sql, project, q);
    let n: Vec<i64> = c.fetch_all_text(&sql.text, &sql.args).await?;
    Ok(n.first().copied().unwrap_or(0).try_into().unwrap_or(0))
}
