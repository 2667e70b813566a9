//! What a backend must supply: a connection that runs a statement with arguments and maps the
//! rows it returns. Everything above this (which statements a write runs, what it checks,
//! which events and idempotency records go with it) is written once, against [`Conn`].
//!
//! Statements are written once in PostgreSQL's placeholder style (`$1`, `$2`, ...). SQLite reads
//! `$N` as a named parameter and numbers parameters by first appearance, so a statement whose
//! placeholders first appear in ascending order binds the same on both; the SQLite connection
//! checks that rule on every statement in debug builds. Where the dialects really differ
//! (`FOR UPDATE`, collations, advisory locks) a statement carries one text per dialect.
//!
//! A write of many rows (a batch's resources, attributes, events) is a [`Many`]: SQLite runs a
//! one-row statement once per row (prepared once, so a row costs a bind and a step), PostgreSQL
//! runs one statement over an array per column (`unnest`), one round trip for every row.

use std::future::Future;

use crate::StoreError;

/// One value bound to a placeholder.
#[derive(Debug, Clone, Copy)]
pub enum Arg<'a> {
    /// `TEXT`.
    Text(&'a str),
    /// `TEXT` or `NULL`.
    OptText(Option<&'a str>),
    /// `BIGINT` / `INTEGER`.
    Int(i64),
    /// `BIGINT` or `NULL`.
    OptInt(Option<i64>),
    /// `BYTEA` / `BLOB`.
    Blob(&'a [u8]),
}

/// Which SQL dialect a connection speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// SQLite.
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

/// A statement: one text, or one per dialect where they differ.
#[derive(Debug, Clone, Copy)]
pub struct Sql {
    sqlite: &'static str,
    postgres: &'static str,
}

impl Sql {
    /// The same text on both backends.
    pub const fn same(text: &'static str) -> Self {
        Self { sqlite: text, postgres: text }
    }

    /// A text per dialect. An empty text means "nothing to run" on that backend.
    pub const fn each(sqlite: &'static str, postgres: &'static str) -> Self {
        Self { sqlite, postgres }
    }

    /// The text for `dialect`.
    pub fn text(&self, dialect: Dialect) -> &'static str {
        match dialect {
            Dialect::Sqlite => self.sqlite,
            Dialect::Postgres => self.postgres,
        }
    }
}

/// A statement that writes many rows (see [`Conn::execute_many`]): on SQLite a one-row statement
/// whose placeholders are the columns, in order; on PostgreSQL one statement whose placeholders
/// are the same columns, each an array (or one value where the column is [`Column::Same`]).
#[derive(Debug, Clone, Copy)]
pub struct Many(Sql);

impl Many {
    /// The one-row SQLite text and the PostgreSQL text over arrays. An empty text means "nothing
    /// to run" on that backend.
    pub const fn each(sqlite: &'static str, postgres: &'static str) -> Self {
        Self(Sql::each(sqlite, postgres))
    }

    /// The text for `dialect`.
    pub fn text(&self, dialect: Dialect) -> &'static str {
        self.0.text(dialect)
    }
}

/// One column of the rows a [`Many`] writes: a value per row, or one value for every row.
#[derive(Debug, Clone)]
pub enum Column<'a> {
    /// `TEXT` (PostgreSQL `text[]`).
    Text(Vec<&'a str>),
    /// `TEXT` or `NULL` (PostgreSQL `text[]`).
    OptText(Vec<Option<&'a str>>),
    /// `BIGINT` / `INTEGER` (PostgreSQL `bigint[]`).
    Int(Vec<i64>),
    /// `BIGINT` or `NULL` (PostgreSQL `bigint[]`).
    OptInt(Vec<Option<i64>>),
    /// The same value on every row (PostgreSQL: one value, not an array).
    Same(Arg<'a>),
}

impl<'a> Column<'a> {
    /// How many rows the column holds; `None` for [`Column::Same`], which fits any number.
    pub fn rows(&self) -> Option<usize> {
        match self {
            Column::Text(v) => Some(v.len()),
            Column::OptText(v) => Some(v.len()),
            Column::Int(v) => Some(v.len()),
            Column::OptInt(v) => Some(v.len()),
            Column::Same(_) => None,
        }
    }

    /// Row `i`'s value.
    pub fn arg(&self, i: usize) -> Arg<'a> {
        match self {
            Column::Text(v) => Arg::Text(v[i]),
            Column::OptText(v) => Arg::OptText(v[i]),
            Column::Int(v) => Arg::Int(v[i]),
            Column::OptInt(v) => Arg::OptInt(v[i]),
            Column::Same(a) => *a,
        }
    }
}

/// The number of rows `columns` hold: every column that varies holds the same number.
pub fn row_count(columns: &[Column<'_>]) -> Result<usize, StoreError> {
    let mut lengths = columns.iter().filter_map(Column::rows);
    let n = lengths.next().unwrap_or(0);
    if lengths.any(|m| m != n) {
        return Err(StoreError::internal("writing rows", "columns of different lengths"));
    }
    Ok(n)
}

/// A row a statement returned, read by column position.
pub trait Row {
    /// A `TEXT` column.
    fn text(&self, i: usize) -> Result<String, StoreError>;
    /// A `TEXT` column's bytes, borrowed from the row and not yet checked to be UTF-8: a reader
    /// of many columns copies them into one buffer and checks that once (a resource row, an
    /// export line).
    fn text_bytes(&self, i: usize) -> Result<&[u8], StoreError>;
    /// A nullable `TEXT` column.
    fn opt_text(&self, i: usize) -> Result<Option<String>, StoreError>;
    /// An integer column.
    fn int(&self, i: usize) -> Result<i64, StoreError>;
    /// A nullable integer column.
    fn opt_int(&self, i: usize) -> Result<Option<i64>, StoreError>;
    /// A `BLOB` / `BYTEA` column.
    fn blob(&self, i: usize) -> Result<Vec<u8>, StoreError>;
}

/// A value made from one row. Each row type has exactly one implementation, shared by both
/// backends and by every reader, export and import.
pub trait FromRow: Sized + Send {
    /// Reads the row's columns, in the order its statements select them.
    fn from_row(r: &impl Row) -> Result<Self, StoreError>;
}

impl FromRow for String {
    fn from_row(r: &impl Row) -> Result<Self, StoreError> {
        r.text(0)
    }
}

impl FromRow for i64 {
    fn from_row(r: &impl Row) -> Result<Self, StoreError> {
        r.int(0)
    }
}

impl FromRow for (i64, i64) {
    fn from_row(r: &impl Row) -> Result<Self, StoreError> {
        Ok((r.int(0)?, r.int(1)?))
    }
}

impl FromRow for (String, String) {
    fn from_row(r: &impl Row) -> Result<Self, StoreError> {
        Ok((r.text(0)?, r.text(1)?))
    }
}

/// A connection: a pooled reader, or the connection of a write transaction.
pub trait Conn: Send {
    /// The dialect this connection speaks.
    fn dialect(&self) -> Dialect;

    /// Runs a statement given as text in this connection's dialect; the number of rows changed.
    fn execute_text(&mut self, sql: &str, args: &[Arg<'_>]) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Runs a query given as text in this connection's dialect; every row it returns.
    fn fetch_all_text<T: FromRow>(
        &mut self,
        sql: &str,
        args: &[Arg<'_>],
    ) -> impl Future<Output = Result<Vec<T>, StoreError>> + Send;

    /// Runs a query given as text in this connection's dialect and hands each row it returns,
    /// in order, to `each` (which reads what it needs of it, borrowed); stops at `each`'s first
    /// error.
    fn for_each_text(
        &mut self,
        sql: &str,
        args: &[Arg<'_>],
        each: &mut (dyn FnMut(&dyn Row) -> Result<(), StoreError> + Send),
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Runs a query given as text in this connection's dialect; its first row, if any.
    fn fetch_optional_text<T: FromRow>(
        &mut self,
        sql: &str,
        args: &[Arg<'_>],
    ) -> impl Future<Output = Result<Option<T>, StoreError>> + Send;

    /// Runs `sql` for every row of `columns` (see [`Many`]); the number of rows changed. No rows,
    /// or an empty text for this dialect, run nothing.
    fn execute_many(
        &mut self,
        sql: &Many,
        columns: &[Column<'_>],
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// [`Conn::execute_many`] for a write whose count nobody reads, which PostgreSQL may hold back
    /// and send in one statement with the writes queued after it (see [`Conn::flush`]); SQLite
    /// runs it at once. Every other statement on the connection, and the commit, sends what is
    /// queued first, so queued writes keep their place among the reads and writes around them.
    ///
    /// Queue together only writes that no other queued write depends on: PostgreSQL runs the
    /// statements of one round trip on one snapshot, in no set order, so none may touch a row
    /// another touches or read what another writes. Foreign keys are the exception: PostgreSQL
    /// checks them when the whole statement is done.
    fn queue_many(
        &mut self,
        sql: &Many,
        columns: &[Column<'_>],
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        async move { self.execute_many(sql, columns).await.map(drop) }
    }

    /// Ends the statement of queued writes: nothing queued later joins it. A write that queues
    /// ends with this. PostgreSQL sends it now, in one round trip, if the write's transaction has
    /// begun, and answers with its error; before that it is sent at the commit (alone, if it is
    /// all there is, so that it commits by itself) or before the next statement, and its error
    /// comes out there.
    fn flush(&mut self) -> impl Future<Output = Result<(), StoreError>> + Send {
        async { Ok(()) }
    }

    /// Runs the query `sql` for every row of `columns` (see [`Many`]); every row they return.
    fn fetch_many<T: FromRow>(
        &mut self,
        sql: &Many,
        columns: &[Column<'_>],
    ) -> impl Future<Output = Result<Vec<T>, StoreError>> + Send;

    /// Runs a query; its first row, if any.
    fn fetch_optional<T: FromRow>(
        &mut self,
        sql: &Sql,
        args: &[Arg<'_>],
    ) -> impl Future<Output = Result<Option<T>, StoreError>> + Send {
        let text = sql.text(self.dialect());
        self.fetch_optional_text(text, args)
    }

    /// [`Conn::fetch_optional`] for a plain read: a `SELECT` that takes no lock, whose answer
    /// does not depend on what this write has written so far. A PostgreSQL write that has not
    /// begun its transaction runs it on its connection alone (under READ COMMITTED each
    /// statement reads its own snapshot, so the answer is the same), which can spare the write
    /// its `BEGIN` and `COMMIT` (see `postgres::conn`). Elsewhere it is `fetch_optional`.
    fn fetch_optional_plain<T: FromRow>(
        &mut self,
        sql: &Sql,
        args: &[Arg<'_>],
    ) -> impl Future<Output = Result<Option<T>, StoreError>> + Send {
        self.fetch_optional(sql, args)
    }

    /// Runs a query given as text that must return a row.
    fn fetch_one_text<T: FromRow>(
        &mut self,
        sql: &str,
        args: &[Arg<'_>],
    ) -> impl Future<Output = Result<T, StoreError>> + Send {
        async move { self.fetch_optional_text(sql, args).await?.ok_or(StoreError::NotFound) }
    }

    /// Runs a statement; the number of rows changed. An empty text runs nothing.
    fn execute(&mut self, sql: &Sql, args: &[Arg<'_>]) -> impl Future<Output = Result<u64, StoreError>> + Send {
        let text = sql.text(self.dialect());
        async move {
            if text.is_empty() {
                return Ok(0);
            }
            self.execute_text(text, args).await
        }
    }

    /// Runs a query; every row it returns.
    fn fetch_all<T: FromRow>(
        &mut self,
        sql: &Sql,
        args: &[Arg<'_>],
    ) -> impl Future<Output = Result<Vec<T>, StoreError>> + Send {
        let text = sql.text(self.dialect());
        self.fetch_all_text(text, args)
    }

    /// Runs a query and hands each row to `each` (see [`Conn::for_each_text`]).
    fn for_each(
        &mut self,
        sql: &Sql,
        args: &[Arg<'_>],
        each: &mut (dyn FnMut(&dyn Row) -> Result<(), StoreError> + Send),
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        let text = sql.text(self.dialect());
        self.for_each_text(text, args, each)
    }

    /// Runs a query that must return a row.
    fn fetch_one<T: FromRow>(
        &mut self,
        sql: &Sql,
        args: &[Arg<'_>],
    ) -> impl Future<Output = Result<T, StoreError>> + Send {
        async move { self.fetch_optional(sql, args).await?.ok_or(StoreError::NotFound) }
    }
}

/// A statement built at run time (a list with filters), numbering its placeholders as it goes.
#[derive(Default)]
pub struct Builder<'a> {
    /// The text so far.
    pub text: String,
    /// The arguments so far, one per placeholder.
    pub args: Vec<Arg<'a>>,
}

impl<'a> Builder<'a> {
    /// Appends text.
    pub fn push(&mut self, s: &str) -> &mut Self {
        self.text.push_str(s);
        self
    }

    /// Appends the next placeholder, bound to `a`.
    pub fn arg(&mut self, a: Arg<'a>) -> &mut Self {
        self.args.push(a);
        self.text.push('$');
        self.text.push_str(itoa::Buffer::new().format(self.args.len()));
        self
    }
}

/// Each `$N` placeholder of `sql`, in order: the byte range of its digits, and `N` (`usize::MAX`
/// when it does not fit).
fn placeholders(sql: &str) -> impl Iterator<Item = (std::ops::Range<usize>, usize)> + '_ {
    sql.match_indices('$').filter_map(move |(at, _)| {
        let digits = at + 1..at + 1 + sql[at + 1..].bytes().take_while(u8::is_ascii_digit).count();
        (!digits.is_empty()).then(|| (digits.clone(), sql[digits].parse().unwrap_or(usize::MAX)))
    })
}

/// Appends `sql` to `out` with each placeholder `$N` written as `$(N + by)`, for a statement sent
/// after others whose arguments come first.
pub fn push_renumbered(out: &mut String, sql: &str, by: usize) {
    let mut copied = 0;
    for (digits, n) in placeholders(sql) {
        out.push_str(&sql[copied..digits.start]);
        out.push_str(itoa::Buffer::new().format(n.saturating_add(by)));
        copied = digits.end;
    }
    out.push_str(&sql[copied..]);
}

/// Whether every `$N` placeholder first appears in ascending order from `$1` (the rule that makes
/// one text bind the same on SQLite and PostgreSQL).
pub fn placeholders_in_order(sql: &str) -> bool {
    let mut highest = 0_usize;
    placeholders(sql).all(|(_, n)| {
        let next = n <= highest.saturating_add(1);
        highest = highest.max(n);
        next
    })
}

#[cfg(test)]
mod tests {
    use super::{placeholders_in_order, push_renumbered};

    #[test]
    fn renumbering_shifts_every_placeholder_and_nothing_else() {
        let mut out = String::from("WITH a AS (");
        push_renumbered(&mut out, "INSERT INTO t VALUES ($1, $2, '$', $10) RETURNING $", 3);
        push_renumbered(&mut out, ") SELECT $1", 7);
        assert_eq!(out, "WITH a AS (INSERT INTO t VALUES ($4, $5, '$', $13) RETURNING $) SELECT $8");
    }

    #[test]
    fn placeholders_must_first_appear_in_order() {
        assert!(placeholders_in_order("SELECT 1"));
        assert!(placeholders_in_order("UPDATE t SET a = $1 WHERE b = $2 AND c = $1"));
        assert!(placeholders_in_order("VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"));
        assert!(!placeholders_in_order("WHERE b = $2 AND a = $1"));
        assert!(!placeholders_in_order("WHERE a = $1 AND c = $3"));
    }
}
