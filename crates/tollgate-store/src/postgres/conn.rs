//! [`Conn`] on sqlx: a statement runs on the pool (reads) or on the connection of a write.
//!
//! A write holds back the writes queued with [`Conn::queue_many`] and sends them as one
//! statement, each but the last a data-modifying `WITH` part: a create's row, attributes, event,
//! deliveries, search entry and attribute counters cost one round trip instead of six.
//!
//! A write begins its transaction only when it must: before a statement that locks or writes,
//! or before a second statement of writes. Until then the plain reads it makes
//! ([`Conn::fetch_optional_plain`]) run on its connection alone, and if all it then writes is one
//! statement, that statement commits by itself. So a create group of a type that is not
//! registered is its type's rule and its writes: two round trips, not four (no `BEGIN`, no
//! `COMMIT`). A registered type's row is then locked inside the transaction (`types::rule`),
//! which begins it: five.

use std::mem;

use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgArguments, PgRow};
use sqlx::query::Query;
use sqlx::{Arguments as _, PgConnection, PgPool, Postgres, Row as _, Transaction};

use crate::conn::{push_renumbered, row_count, Arg, Column, Conn, Dialect, FromRow, Many, Row, Sql};
use crate::StoreError;

/// A PostgreSQL connection: the pool, or one write.
pub enum PgConn {
    /// Reads outside a transaction.
    Pool(PgPool),
    /// A write: its connection and the writes it holds back.
    Write(Write),
}

/// A write's connection, its transaction once begun, and the writes it holds back.
pub struct Write {
    session: Session,
    queued: Queued,
}

enum Session {
    /// Nothing has needed the transaction yet.
    Waiting(PoolConnection<Postgres>),
    /// The transaction is open.
    Begun(Transaction<'static, Postgres>),
    /// `BEGIN` failed: the write fails.
    Lost,
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
    /// Flushed before the transaction began: complete, and sent before anything queued after
    /// it (its events' `seq` must not share a statement with another write's).
    sealed: bool,
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

    /// Whether nothing is held back (and nothing went wrong).
    fn is_empty(&self) -> bool {
        self.parts.is_empty() && !self.broken
    }

    /// Sends what is held back on `conn`, as one statement.
    async fn send(&mut self, conn: &mut PgConnection) -> Result<(), StoreError> {
        if self.broken {
            return Err(StoreError::internal("sending queued writes", "an earlier write's arguments failed to encode"));
        }
        if self.parts.is_empty() {
            return Ok(());
        }
        let Queued { parts, args, .. } = mem::take(self);
        let sql = Queued::statement(&parts);
        sqlx::query_with(&sql, args).execute(conn).await?;
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

/// What a statement needs of the write it runs in.
#[derive(Clone, Copy, PartialEq)]
enum Needs {
    /// The transaction, with everything queued before it sent.
    Transaction,
    /// Neither, while nothing is queued: a plain read (see [`Conn::fetch_optional_plain`]).
    Nothing,
}

impl Write {
    /// The connection to run a statement on, ready for what it `needs`: the transaction begun
    /// and the queue sent, unless it needs nothing and there is nothing to send.
    async fn ready(&mut self, needs: Needs) -> Result<&mut PgConnection, StoreError> {
        let alone = needs == Needs::Nothing && self.queued.is_empty();
        if !(alone && matches!(self.session, Session::Waiting(_))) {
            self.begin().await?;
        }
        match &mut self.session {
            Session::Waiting(conn) => Ok(&mut **conn),
            Session::Begun(tx) => {
                self.queued.send(tx).await?;
                Ok(&mut **tx)
            }
            Session::Lost => Err(lost()),
        }
    }

    async fn begin(&mut self) -> Result<(), StoreError> {
        if let Session::Waiting(_) = self.session {
            let Session::Waiting(conn) = mem::replace(&mut self.session, Session::Lost) else {
                unreachable!("matched above");
            };
            self.session = Session::Begun(Transaction::begin(conn, None).await?);
        }
        Ok(())
    }
}

fn lost() -> StoreError {
    StoreError::internal("a write's transaction", "it failed to begin")
}

impl PgConn {
    /// A new write on a connection of `pool` (its transaction begins when it must; see the
    /// module).
    pub async fn begin(pool: &PgPool) -> Result<Self, StoreError> {
        Ok(PgConn::Write(Write { session: Session::Waiting(pool.acquire().await?), queued: Queued::default() }))
    }

    /// Sends the queued writes, then commits the write (a no-op for the pool). A write whose
    /// transaction never began sends its one statement of writes alone: it commits by itself.
    pub async fn commit(self) -> Result<(), StoreError> {
        let PgConn::Write(Write { session, mut queued }) = self else {
            return Ok(());
        };
        match session {
            Session::Waiting(mut conn) => queued.send(&mut conn).await,
            Session::Begun(mut tx) => {
                queued.send(&mut tx).await?;
                Ok(tx.commit().await?)
            }
            Session::Lost => Err(lost()),
        }
    }

    // `rows`, `optional` and `run` are how every statement reaches the database, and each makes
    // its write ready first (the transaction begun, the queue sent): so does every statement.

    /// Every row `q` returns, read on the pool or in the write.
    async fn rows(&mut self, q: Query<'_, Postgres, PgArguments>) -> Result<Vec<PgRow>, StoreError> {
        Ok(match self {
            PgConn::Pool(pool) => q.fetch_all(&*pool).await?,
            PgConn::Write(w) => q.fetch_all(w.ready(Needs::Transaction).await?).await?,
        })
    }

    /// The first row `q` returns, if any.
    async fn optional(
        &mut self,
        q: Query<'_, Postgres, PgArguments>,
        needs: Needs,
    ) -> Result<Option<PgRow>, StoreError> {
        Ok(match self {
            PgConn::Pool(pool) => q.fetch_optional(&*pool).await?,
            PgConn::Write(w) => q.fetch_optional(w.ready(needs).await?).await?,
        })
    }

    /// The rows `q` changed.
    async fn run(&mut self, q: Query<'_, Postgres, PgArguments>) -> Result<u64, StoreError> {
        let done = match self {
            PgConn::Pool(pool) => q.execute(&*pool).await?,
            PgConn::Write(w) => q.execute(w.ready(Needs::Transaction).await?).await?,
        };
        Ok(done.rows_affected())
    }

    /// Holds back a write in a write; runs it at once on the pool.
    async fn queue(
        &mut self,
        sql: &str,
        add: impl FnOnce(&mut PgArguments) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        match self {
            PgConn::Write(w) => {
                if w.queued.sealed {
                    // A second statement of writes: they need the transaction.
                    w.ready(Needs::Transaction).await?;
                }
                w.queued.push(sql, add)
            }
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
        let PgConn::Write(w) = self else {
            return Ok(());
        };
        match w.session {
            // Its errors come out at the commit, or before the next statement: if nothing
            // follows, it commits alone (see the module).
            Session::Waiting(_) => {
                w.queued.sealed = !w.queued.parts.is_empty();
                Ok(())
            }
            _ => w.ready(Needs::Transaction).await.map(drop),
        }
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
        let row = self.optional(bind(sql, args)?, Needs::Transaction).await?;
        row.as_ref().map(T::from_row).transpose()
    }

    async fn fetch_optional_plain<T: FromRow>(&mut self, sql: &Sql, args: &[Arg<'_>]) -> Result<Option<T>, StoreError> {
        let row = self.optional(bind(sql.text(Dialect::Postgres), args)?, Needs::Nothing).await?;
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
    const PID: Sql = Sql::same("SELECT pg_backend_pid()::bigint");
    const PARENT_COUNT: Sql = Sql::same("SELECT count(*) FROM parent");

    /// A fresh database with both tables, and a write on it (its transaction not yet begun).
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

    /// Whether the backend `pid` is inside a transaction block, as PostgreSQL reports it.
    async fn in_transaction(pool: &PgPool, pid: i64) -> bool {
        let (state,): (String,) = sqlx::query_as("SELECT state FROM pg_stat_activity WHERE pid = $1::int")
            .bind(pid)
            .fetch_one(pool)
            .await
            .expect("state");
        assert!(state.starts_with("idle"), "{state}");
        state != "idle"
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
    async fn a_write_of_plain_reads_and_one_statement_commits_it_alone() {
        let (_db, pool, mut tx) = begun().await;
        let pid: i64 = tx.fetch_optional_plain(&PID, &[]).await.expect("plain read").expect("a row");
        tx.queue_many(&PARENTS, &[Column::Text(vec!["a", "b"])]).await.expect("queue");
        tx.queue_many(&CHILDREN, &[Column::Text(vec!["a"])]).await.expect("queue");
        tx.flush().await.expect("flush");
        assert!(!in_transaction(&pool, pid).await, "no BEGIN was sent");
        tx.commit().await.expect("commit");
        assert_eq!(written(&pool).await, (3, 1), "committed, as one statement");
    }

    #[tokio::test]
    async fn a_read_that_is_not_plain_or_a_second_statement_begins_the_transaction() {
        let (_db, pool, mut tx) = begun().await;
        let pid: i64 = tx.fetch_one(&PID, &[]).await.expect("read");
        assert!(in_transaction(&pool, pid).await);
        tx.queue_many(&PARENTS, &[Column::Text(vec!["a"])]).await.expect("queue");
        tx.commit().await.expect("commit");
        assert_eq!(written(&pool).await, (1, 1));

        let (_db, pool, mut tx) = begun().await;
        let pid: i64 = tx.fetch_optional_plain(&PID, &[]).await.expect("plain read").expect("a row");
        tx.queue_many(&PARENTS, &[Column::Text(vec!["a"])]).await.expect("queue");
        tx.flush().await.expect("flush");
        assert!(!in_transaction(&pool, pid).await);
        tx.queue_many(&CHILDREN, &[Column::Text(vec!["a"])]).await.expect("queue");
        assert!(in_transaction(&pool, pid).await, "the first statement went inside the transaction");
        tx.commit().await.expect("commit");
        assert_eq!(written(&pool).await, (2, 2));
    }

    #[tokio::test]
    async fn a_plain_read_after_a_queued_write_sees_it() {
        let (_db, pool, mut tx) = begun().await;
        tx.queue_many(&PARENTS, &[Column::Text(vec!["a"])]).await.expect("queue");
        let parents: Option<i64> = tx.fetch_optional_plain(&PARENT_COUNT, &[]).await.expect("plain read");
        assert_eq!(parents, Some(1));
        drop(tx);
        assert_eq!(written(&pool).await, (0, 0), "inside the transaction, rolled back");
    }

    #[tokio::test]
    async fn a_failing_queued_write_fails_the_commit_and_nothing_of_its_statement_stays() {
        let (_db, pool, mut tx) = begun().await;
        tx.queue_many(&PARENTS, &[Column::Text(vec!["a"])]).await.expect("queue");
        tx.queue_many(&CHILDREN, &[Column::Text(vec!["no such parent"])]).await.expect("queue");
        tx.flush().await.expect("before the transaction begins, a flush only closes the statement");
        assert!(tx.commit().await.is_err(), "the foreign key is checked when the statement ends");
        assert_eq!(written(&pool).await, (0, 0));
        // Once the transaction has begun, the flush sends, and fails.
        let mut tx = PgConn::begin(&pool).await.expect("begin");
        let _: i64 = tx.fetch_one(&PID, &[]).await.expect("read");
        tx.queue_many(&PARENTS, &[Column::Text(vec!["a"])]).await.expect("queue");
        tx.queue_many(&CHILDREN, &[Column::Text(vec!["no such parent"])]).await.expect("queue");
        assert!(tx.flush().await.is_err());
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
        tx.flush().await.expect("the statement is closed, not sent");
        assert!(tx.commit().await.is_err(), "the queue no longer matches its arguments");
        assert_eq!(written(&pool).await, (0, 0));
    }
}
