//! [`Conn`] on rusqlite: statements are prepared once per connection (the statement cache), run
//! synchronously, and their futures are always ready at once.

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, ToSql};

use crate::conn::{placeholders_in_order, row_count, Arg, Column, Conn, Dialect, FromRow, Many, Row};
use crate::StoreError;

/// A SQLite connection: the writer's own, or a pooled reader.
pub struct SqliteConn<C> {
    conn: C,
}

/// Either kind of connection.
pub trait AsConnection: Send {
    /// The connection.
    fn connection(&self) -> &Connection;
}

impl AsConnection for Connection {
    fn connection(&self) -> &Connection {
        self
    }
}

impl AsConnection for r2d2::PooledConnection<r2d2_sqlite::SqliteConnectionManager> {
    fn connection(&self) -> &Connection {
        self
    }
}

impl<C: AsConnection> SqliteConn<C> {
    /// Wraps `conn`.
    pub fn new(conn: C) -> Self {
        Self { conn }
    }

    /// The connection underneath (for the writer's transaction statements).
    pub fn connection(&self) -> &Connection {
        self.conn.connection()
    }

    fn prepare(&self, sql: &str) -> Result<rusqlite::CachedStatement<'_>, StoreError> {
        debug_assert!(placeholders_in_order(sql), "placeholders out of order in: {sql}");
        Ok(self.conn.connection().prepare_cached(sql)?)
    }
}

impl ToSql for Arg<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(match *self {
            Arg::Text(s) | Arg::OptText(Some(s)) => ValueRef::Text(s.as_bytes()),
            Arg::Int(i) | Arg::OptInt(Some(i)) => ValueRef::Integer(i),
            Arg::Blob(b) => ValueRef::Blob(b),
            Arg::OptText(None) | Arg::OptInt(None) => ValueRef::Null,
        }))
    }
}

impl Row for rusqlite::Row<'_> {
    fn text(&self, i: usize) -> Result<String, StoreError> {
        Ok(self.get(i)?)
    }
    fn text_bytes(&self, i: usize) -> Result<&[u8], StoreError> {
        match self.get_ref(i)? {
            ValueRef::Text(bytes) => Ok(bytes),
            other => {
                let name = self.as_ref().column_name(i).map(str::to_owned).unwrap_or_default();
                Err(rusqlite::Error::InvalidColumnType(i, name, other.data_type()).into())
            }
        }
    }
    fn opt_text(&self, i: usize) -> Result<Option<String>, StoreError> {
        Ok(self.get(i)?)
    }
    fn int(&self, i: usize) -> Result<i64, StoreError> {
        Ok(self.get(i)?)
    }
    fn opt_int(&self, i: usize) -> Result<Option<i64>, StoreError> {
        Ok(self.get(i)?)
    }
    fn blob(&self, i: usize) -> Result<Vec<u8>, StoreError> {
        Ok(self.get(i)?)
    }
}

impl<C: AsConnection> Conn for SqliteConn<C> {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    async fn execute_text(&mut self, sql: &str, args: &[Arg<'_>]) -> Result<u64, StoreError> {
        let changed = self.prepare(sql)?.execute(rusqlite::params_from_iter(args))?;
        Ok(changed as u64)
    }

    async fn execute_many(&mut self, sql: &Many, columns: &[Column<'_>]) -> Result<u64, StoreError> {
        let (rows, text) = (row_count(columns)?, sql.text(Dialect::Sqlite));
        if rows == 0 || text.is_empty() {
            return Ok(0);
        }
        let mut stmt = self.prepare(text)?;
        let mut changed = 0;
        for i in 0..rows {
            for (k, column) in columns.iter().enumerate() {
                stmt.raw_bind_parameter(k + 1, column.arg(i))?;
            }
            changed += stmt.raw_execute()? as u64;
        }
        Ok(changed)
    }

    async fn fetch_many<T: FromRow>(&mut self, sql: &Many, columns: &[Column<'_>]) -> Result<Vec<T>, StoreError> {
        let (rows, text) = (row_count(columns)?, sql.text(Dialect::Sqlite));
        let mut out = Vec::new();
        if rows == 0 || text.is_empty() {
            return Ok(out);
        }
        let mut stmt = self.prepare(text)?;
        for i in 0..rows {
            for (k, column) in columns.iter().enumerate() {
                stmt.raw_bind_parameter(k + 1, column.arg(i))?;
            }
            let mut found = stmt.raw_query();
            while let Some(row) = found.next()? {
                out.push(T::from_row(row)?);
            }
        }
        Ok(out)
    }

    async fn fetch_all_text<T: FromRow>(&mut self, sql: &str, args: &[Arg<'_>]) -> Result<Vec<T>, StoreError> {
        let mut stmt = self.prepare(sql)?;
        let mut rows = stmt.query(rusqlite::params_from_iter(args))?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            out.push(T::from_row(row)?);
        }
        Ok(out)
    }

    async fn for_each_text(
        &mut self,
        sql: &str,
        args: &[Arg<'_>],
        each: &mut (dyn FnMut(&dyn Row) -> Result<(), StoreError> + Send),
    ) -> Result<(), StoreError> {
        let mut stmt = self.prepare(sql)?;
        let mut rows = stmt.query(rusqlite::params_from_iter(args))?;
        while let Some(row) = rows.next()? {
            each(row)?;
        }
        Ok(())
    }

    async fn fetch_optional_text<T: FromRow>(&mut self, sql: &str, args: &[Arg<'_>]) -> Result<Option<T>, StoreError> {
        let mut stmt = self.prepare(sql)?;
        let mut rows = stmt.query(rusqlite::params_from_iter(args))?;
        rows.next()?.map(T::from_row).transpose()
    }
}
