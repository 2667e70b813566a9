//! [`Conn`] on sqlx: a statement runs on the pool (reads) or inside the write's transaction.

use sqlx::postgres::{PgArguments, PgRow};
use sqlx::query::Query;
use sqlx::{PgPool, Postgres, Row as _, Transaction};

use crate::conn::{row_count, Arg, Column, Conn, Dialect, FromRow, Many, Row};
use crate::StoreError;

/// A PostgreSQL connection: the pool, or one write transaction.
pub enum PgConn {
    /// Reads outside a transaction.
    Pool(PgPool),
    /// A write transaction.
    Tx(Transaction<'static, Postgres>),
}

impl PgConn {
    /// Commits the write transaction (a no-op for the pool).
    pub async fn commit(self) -> Result<(), StoreError> {
        match self {
            PgConn::Pool(_) => Ok(()),
            PgConn::Tx(tx) => Ok(tx.commit().await?),
        }
    }

    /// Every row `q` returns, read on the pool or inside the transaction.
    async fn rows(&mut self, q: Query<'_, Postgres, PgArguments>) -> Result<Vec<PgRow>, StoreError> {
        Ok(match self {
            PgConn::Pool(pool) => q.fetch_all(&*pool).await?,
            PgConn::Tx(tx) => q.fetch_all(&mut **tx).await?,
        })
    }
}

fn bind<'q>(sql: &'q str, args: &[Arg<'q>]) -> Query<'q, Postgres, PgArguments> {
    args.iter().fold(sqlx::query(sql), |q, a| match *a {
        Arg::Text(s) => q.bind(s),
        Arg::OptText(s) => q.bind(s),
        Arg::Int(i) => q.bind(i),
        Arg::OptInt(i) => q.bind(i),
        Arg::Blob(b) => q.bind(b),
    })
}

/// Each varying column as one array, a [`Column::Same`] as one value.
fn bind_columns<'q>(sql: &'q str, columns: &'q [Column<'q>]) -> Query<'q, Postgres, PgArguments> {
    columns.iter().fold(sqlx::query(sql), |q, c| match c {
        Column::Text(v) => q.bind(v.as_slice()),
        Column::OptText(v) => q.bind(v.as_slice()),
        Column::Int(v) => q.bind(v.as_slice()),
        Column::OptInt(v) => q.bind(v.as_slice()),
        Column::Same(Arg::Text(s)) => q.bind(*s),
        Column::Same(Arg::OptText(s)) => q.bind(*s),
        Column::Same(Arg::Int(i)) => q.bind(*i),
        Column::Same(Arg::OptInt(i)) => q.bind(*i),
        Column::Same(Arg::Blob(b)) => q.bind(*b),
    })
}

fn column<'r, T: sqlx::Decode<'r, Postgres> + sqlx::Type<Postgres>>(r: &'r PgRow, i: usize) -> Result<T, StoreError> {
    Ok(r.try_get(i)?)
}

impl Row for PgRow {
    fn text(&self, i: usize) -> Result<String, StoreError> {
        column(self, i)
    }
    fn text_bytes(&self, i: usize) -> Result<&[u8], StoreError> {
        // sqlx checks the text is UTF-8 (PostgreSQL's always is); the export checks again.
        Ok(column::<&str>(self, i)?.as_bytes())
    }
    fn opt_text(&self, i: usize) -> Result<Option<String>, StoreError> {
        column(self, i)
    }
    fn int(&self, i: usize) -> Result<i64, StoreError> {
        column(self, i)
    }
    fn opt_int(&self, i: usize) -> Result<Option<i64>, StoreError> {
        column(self, i)
    }
    fn blob(&self, i: usize) -> Result<Vec<u8>, StoreError> {
        column(self, i)
    }
}

impl Conn for PgConn {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    async fn execute_text(&mut self, sql: &str, args: &[Arg<'_>]) -> Result<u64, StoreError> {
        let q = bind(sql, args);
        let done = match self {
            PgConn::Pool(pool) => q.execute(&*pool).await?,
            PgConn::Tx(tx) => q.execute(&mut **tx).await?,
        };
        Ok(done.rows_affected())
    }

    async fn execute_many(&mut self, sql: &Many, columns: &[Column<'_>]) -> Result<u64, StoreError> {
        let text = sql.text(Dialect::Postgres);
        if row_count(columns)? == 0 || text.is_empty() {
            return Ok(0);
        }
        let q = bind_columns(text, columns);
        let done = match self {
            PgConn::Pool(pool) => q.execute(&*pool).await?,
            PgConn::Tx(tx) => q.execute(&mut **tx).await?,
        };
        Ok(done.rows_affected())
    }

    async fn fetch_many<T: FromRow>(&mut self, sql: &Many, columns: &[Column<'_>]) -> Result<Vec<T>, StoreError> {
        let text = sql.text(Dialect::Postgres);
        if row_count(columns)? == 0 || text.is_empty() {
            return Ok(Vec::new());
        }
        let rows = self.rows(bind_columns(text, columns)).await?;
        rows.iter().map(T::from_row).collect()
    }

    async fn fetch_all_text<T: FromRow>(&mut self, sql: &str, args: &[Arg<'_>]) -> Result<Vec<T>, StoreError> {
        let rows = self.rows(bind(sql, args)).await?;
        rows.iter().map(T::from_row).collect()
    }

    async fn for_each_text(
        &mut self,
        sql: &str,
        args: &[Arg<'_>],
        each: &mut (dyn FnMut(&dyn Row) -> Result<(), StoreError> + Send),
    ) -> Result<(), StoreError> {
        let rows = self.rows(bind(sql, args)).await?;
        rows.iter().try_for_each(|r| each(r))
    }

    async fn fetch_optional_text<T: FromRow>(&mut self, sql: &str, args: &[Arg<'_>]) -> Result<Option<T>, StoreError> {
        let q = bind(sql, args);
        let row = match self {
            PgConn::Pool(pool) => q.fetch_optional(&*pool).await?,
            PgConn::Tx(tx) => q.fetch_optional(&mut **tx).await?,
        };
        row.as_ref().map(T::from_row).transpose()
    }
}
