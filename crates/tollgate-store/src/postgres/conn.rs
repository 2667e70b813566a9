//! [`Conn`] on sqlx: a statement runs on the pool (reads) or inside the write's transaction.
//!
//! A transaction holds back the writes queued with [`Conn::queue_many`] and sends them as one
//! statement, each but the last a data-modifying `WITH` part: a create's row, attributes, event,
//! deliveries, search entry and attribute counters cost one round trip instead of six.

use sqlx::postgres::{PgArguments, PgRow};
use sqlx::query::Query;
use sqlx::{Arguments as _, PgPool, Postgres, Row as _, Transaction};

use crate::conn::{push_renumbered, row_count, Arg, Column, Conn, Dialect, FromRow, Many, Row};
use crate::StoreError;

/// A PostgreSQL connection: the pool, or one write transaction and the writes it holds back.
pub enum PgConn {
    /// Reads outside a transaction.
    Pool(PgPool),
    /// A write transaction.
    Tx(Transaction<'static, Postgres>, Queued),
}

/// Writes held back to be sent together: each statement's text, its placeholders renumbered to
/// follow those before it, and every argument, encoded as it was queued (so nothing borrowed is
/// kept).
#[derive(Default)]
pub struct Queued {
    parts: Vec<String>,
    args: PgArguments,
    /// A write's arguments failed to encode part way: the arguments no longer match the parts,
    /// so nothing queued may be sent (the write fails, and its transaction rolls back).
    broken: bool,
}

impl Queued {
    fn push(
        &mut self,
        sql: &str,
        add: impl FnOnce(&mut PgArguments) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let mut text = String::with_capacity(sql.len() + 8);
        push_renumbered(&mut text, sql, self.args.len());
        if let Err(e) = add(&mut self.args) {
            self.broken = true;
            return Err(e);
        }
        self.parts.push(text);
        Ok(())
    }

    /// The one statement that runs every part: `WITH q0 AS (first), q1 AS (second) last`.
    fn statement(parts: &[String]) -> String {
        let Some((last, first)) = parts.split_last() else {
            return String::new();
        };
        let mut sql = String::with_capacity(parts.iter().map(|p| p.len() + 16).sum());
        for (i, part) in first.iter().enumerate() {
            sql.push_str(if i == 0 { "WITH q" } else { ", q" });
            sql.push_str(itoa::Buffer::new().format(i));
            sql.push_str(" AS (");
            sql.push_str(part);
            sql.push(')');
        }
        sql.push(' ');
        sql.push_str(last);
        sql
    }
}

impl PgConn {
    /// A new write transaction on `pool`.
    pub async fn begin(pool: &PgPool) -> Result<Self, StoreError> {
        Ok(PgConn::Tx(pool.begin().await?, Queued::default()))
    }

    /// Sends the queued writes, then commits the write transaction (a no-op for the pool).
    pub async fn commit(mut self) -> Result<(), StoreError> {
        self.send_queued().await?;
        match self {
            PgConn::Pool(_) => Ok(()),
            PgConn::Tx(tx, _) => Ok(tx.commit().await?),
        }
    }

    // `rows`, `optional` and `run` are how every statement reaches the database, and each sends
    // the queue first: so does every statement.

    /// Every row `q` returns, read on the pool or inside the transaction.
    async fn rows(&mut self, q: Query<'_, Postgres, PgArguments>) -> Result<Vec<PgRow>, StoreError> {
        self.send_queued().await?;
        Ok(match self {
            PgConn::Pool(pool) => q.fetch_all(&*pool).await?,
            PgConn::Tx(tx, _) => q.fetch_all(&mut **tx).await?,
        })
    }

    /// The first row `q` returns, if any.
    async fn optional(&mut self, q: Query<'_, Postgres, PgArguments>) -> Result<Option<PgRow>, StoreError> {
        self.send_queued().await?;
        Ok(match self {
            PgConn::Pool(pool) => q.fetch_optional(&*pool).await?,
            PgConn::Tx(tx, _) => q.fetch_optional(&mut **tx).await?,
        })
    }

    /// The rows `q` changed.
    async fn run(&mut self, q: Query<'_, Postgres, PgArguments>) -> Result<u64, StoreError> {
        self.send_queued().await?;
        let done = match self {
            PgConn::Pool(pool) => q.execute(&*pool).await?,
            PgConn::Tx(tx, _) => q.execute(&mut **tx).await?,
        };
        Ok(done.rows_affected())
    }

    async fn send_queued(&mut self) -> Result<(), StoreError> {
        let PgConn::Tx(tx, queued) = self else {
            return Ok(());
        };
        if queued.broken {
            return Err(StoreError::internal("sending queued writes", "an earlier write's arguments failed to encode"));
        }
        if queued.parts.is_empty() {
            return Ok(());
        }
        let Queued { parts, args, .. } = std::mem::take(queued);
        let sql = Queued::statement(&parts);
        sqlx::query_with(&sql, args).execute(&mut **tx).await?;
        Ok(())
    }

    /// Holds back a write in a transaction; runs it at once on the pool.
    async fn queue(
        &mut self,
        sql: &str,
        add: impl FnOnce(&mut PgArguments) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        match self {
            PgConn::Tx(_, queued) => queued.push(sql, add),
            PgConn::Pool(_) => {
                let mut args = PgArguments::default();
                add(&mut args)?;
                self.run(sqlx::query_with(sql, args)).await.map(drop)
            }
        }
    }
}

fn encoding(e: sqlx::error::BoxDynError) -> StoreError {
    StoreError::internal("encoding an argument", e)
}

fn add_args(to: &mut PgArguments, args: &[Arg<'_>]) -> Result<(), StoreError> {
    args.iter().try_for_each(|a| add_arg(to, *a))
}

fn add_arg(to: &mut PgArguments, a: Arg<'_>) -> Result<(), StoreError> {
    match a {
        Arg::Text(s) => to.add(s),
        Arg::OptText(s) => to.add(s),
        Arg::Int(i) => to.add(i),
        Arg::OptInt(i) => to.add(i),
        Arg::Blob(b) => to.add(b),
    }
    .map_err(encoding)
}

/// Each varying column as one array, a [`Column::Same`] as one value.
fn add_columns(to: &mut PgArguments, columns: &[Column<'_>]) -> Result<(), StoreError> {
    columns.iter().try_for_each(|c| {
        match c {
            Column::Text(v) => to.add(v.as_slice()),
            Column::OptText(v) => to.add(v.as_slice()),
            Column::Int(v) => to.add(v.as_slice()),
            Column::OptInt(v) => to.add(v.as_slice()),
            Column::Same(a) => return add_arg(to, *a),
        }
        .map_err(encoding)
    })
}

fn bind<'q>(sql: &'q str, args: &[Arg<'_>]) -> Result<Query<'q, Postgres, PgArguments>, StoreError> {
    let mut to = PgArguments::default();
    add_args(&mut to, args)?;
    Ok(sqlx::query_with(sql, to))
}

fn bind_columns<'q>(sql: &'q str, columns: &[Column<'_>]) -> Result<Query<'q, Postgres, PgArguments>, StoreError> {
    let mut to = PgArguments::default();
    add_columns(&mut to, columns)?;
    Ok(sqlx::query_with(sql, to))
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
        self.run(bind(sql, args)?).await
    }

    async fn execute_many(&mut self, sql: &Many, columns: &[Column<'_>]) -> Result<u64, StoreError> {
        let text = sql.text(Dialect::Postgres);
        if row_count(columns)? == 0 || text.is_empty() {
            return Ok(0);
        }
        self.run(bind_columns(text, columns)?).await
    }

    async fn queue_many(&mut self, sql: &Many, columns: &[Column<'_>]) -> Result<(), StoreError> {
        let text = sql.text(Dialect::Postgres);
        if row_count(columns)? == 0 || text.is_empty() {
            return Ok(());
        }
        self.queue(text, |to| add_columns(to, columns)).await
    }

    async fn flush(&mut self) -> Result<(), StoreError> {
        self.send_queued().await
    }

    async fn fetch_many<T: FromRow>(&mut self, sql: &Many, columns: &[Column<'_>]) -> Result<Vec<T>, StoreError> {
        let text = sql.text(Dialect::Postgres);
        if row_count(columns)? == 0 || text.is_empty() {
            return Ok(Vec::new());
        }
        let rows = self.rows(bind_columns(text, columns)?).await?;
        rows.iter().map(T::from_row).collect()
    }

    async fn fetch_all_text<T: FromRow>(&mut self, sql: &str, args: &[Arg<'_>]) -> Result<Vec<T>, StoreError> {
        let rows = self.rows(bind(sql, args)?).await?;
        rows.iter().map(T::from_row).collect()
    }

    async fn for_each_text(
        &mut self,
        sql: &str,
        args: &[Arg<'_>],
        each: &mut (dyn FnMut(&dyn Row) -> Result<(), StoreError> + Send),
    ) -> Result<(), StoreError> {
        let rows = self.rows(bind(sql, args)?).await?;
        rows.iter().try_for_each(|r| each(r))
    }

    async fn fetch_optional_text<T: FromRow>(&mut self, sql: &str, args: &[Arg<'_>]) -> Result<Option<T>, StoreError> {
        let row = self.optional(bind(sql, args)?).await?;
        row.as_ref().map(T::from_row).transpose()
    }
}

#[cfg(test)]
mod tests {
    use sqlx::PgPool;
    use tollgate_testkit::TestDatabase;

    use super::{add_arg, PgConn};
    use crate::conn::{Arg, Column, Conn, Many, Sql};
    use crate::StoreError;

    /// Rows stamped with the start of the statement that wrote them: rows written by one
    /// statement share a stamp, rows of two statements do not.
    const PARENTS: Many =
        Many::each("", "INSERT INTO parent SELECT u, statement_timestamp() FROM unnest($1::text[]) AS u");
    const CHILDREN: Many =
        Many::each("", "INSERT INTO child SELECT u, statement_timestamp() FROM unnest($1::text[]) AS u");
    const CHILD: &str = "INSERT INTO child VALUES ($1, statement_timestamp())";
    const PARENT_COUNT: Sql = Sql::same("SELECT count(*) FROM parent");

    /// A fresh database with both tables, and a transaction begun on it.
    async fn begun() -> (TestDatabase, PgPool, PgConn) {
        let db = TestDatabase::create();
        let pool = PgPool::connect(&db.url).await.expect("connect");
        sqlx::raw_sql(
            "CREATE TABLE parent (id text PRIMARY KEY, at timestamptz NOT NULL);
             CREATE TABLE child (parent text NOT NULL REFERENCES parent (id), at timestamptz NOT NULL)",
        )
        .execute(&pool)
        .await
        .expect("tables");
        let tx = PgConn::begin(&pool).await.expect("begin");
        (db, pool, tx)
    }

    /// (rows, distinct statement stamps) of both tables.
    async fn written(pool: &PgPool) -> (i64, i64) {
        sqlx::query_as(
            "SELECT count(*), count(DISTINCT at) FROM (SELECT at FROM parent UNION ALL SELECT at FROM child) AS s",
        )
        .fetch_one(pool)
        .await
        .expect("count")
    }

    #[tokio::test]
    async fn queued_writes_go_as_one_statement_whose_keys_are_checked_at_its_end() {
        let (_db, pool, mut tx) = begun().await;
        tx.queue_many(&PARENTS, &[Column::Text(vec!["a", "b"])]).await.expect("queue");
        // Both children name parents written by the same statement.
        tx.queue_many(&CHILDREN, &[Column::Text(vec!["a"])]).await.expect("queue");
        tx.queue_many(&CHILDREN, &[Column::Text(vec!["b"])]).await.expect("queue");
        tx.queue_many(&CHILDREN, &[Column::Text(Vec::new())]).await.expect("no rows, nothing queued");
        tx.commit().await.expect("commit sends the queue");
        assert_eq!(written(&pool).await, (4, 1));
    }

    #[tokio::test]
    async fn a_read_sends_what_was_queued_before_it() {
        let (_db, pool, mut tx) = begun().await;
        tx.queue_many(&PARENTS, &[Column::Text(vec!["a"])]).await.expect("queue");
        let parents: i64 = tx.fetch_one(&PARENT_COUNT, &[]).await.expect("read");
        assert_eq!(parents, 1, "the read sees the queued write");
        tx.queue_many(&CHILDREN, &[Column::Text(vec!["a"])]).await.expect("queue");
        tx.flush().await.expect("flush");
        tx.commit().await.expect("commit");
        assert_eq!(written(&pool).await, (2, 2));
    }

    #[tokio::test]
    async fn a_failing_queued_write_fails_the_flush_and_nothing_of_its_statement_stays() {
        let (_db, pool, mut tx) = begun().await;
        tx.queue_many(&PARENTS, &[Column::Text(vec!["a"])]).await.expect("queue");
        tx.queue_many(&CHILDREN, &[Column::Text(vec!["no such parent"])]).await.expect("queue");
        assert!(tx.flush().await.is_err(), "the foreign key is checked when the statement ends");
        drop(tx);
        assert_eq!(written(&pool).await, (0, 0));
        // The pool runs a queued write at once.
        let mut pooled = PgConn::Pool(pool.clone());
        pooled.queue_many(&PARENTS, &[Column::Text(vec!["b"])]).await.expect("write");
        assert_eq!(written(&pool).await, (1, 1));
    }

    #[tokio::test]
    async fn after_a_write_whose_arguments_failed_to_encode_nothing_queued_is_sent() {
        let (_db, pool, mut tx) = begun().await;
        tx.queue_many(&PARENTS, &[Column::Text(vec!["a"])]).await.expect("queue");
        let half = tx
            .queue(CHILD, |to| {
                add_arg(to, Arg::Text("a"))?;
                Err(StoreError::internal("encoding an argument", "refused"))
            })
            .await;
        assert!(half.is_err());
        // Numbered after the stray argument, this write would bind and run if it were sent.
        tx.queue_many(&PARENTS, &[Column::Text(vec!["b"])]).await.expect("queue");
        assert!(tx.flush().await.is_err(), "the queue no longer matches its arguments");
        drop(tx);
        assert_eq!(written(&pool).await, (0, 0));
    }
}
