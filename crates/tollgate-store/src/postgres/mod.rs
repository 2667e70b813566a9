//! The PostgreSQL backend, for several stateless nodes sharing one database: a connection pool,
//! and writes in transactions that PostgreSQL's own commit makes durable. The statements and
//! rules are the shared ones; rows that change are locked with `FOR UPDATE`, due deliveries
//! are claimed with `SKIP LOCKED`, and first-start work takes an advisory lock.

mod conn;

use std::str::FromStr;
use std::time::Duration as StdDuration;

use futures::future::BoxFuture;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions};
use sqlx::Connection;

pub use self::conn::PgConn;
use crate::coalesce::MAX_IN_FLIGHT;
use crate::conn::Dialect;
use crate::db::{Backend, Db};
use crate::StoreError;

/// Every migration, oldest first, from `migrations/postgres`. Never edit one that has shipped.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// Tollgate's data in PostgreSQL.
pub type PgStore = Db<PgBackend>;

/// The PostgreSQL engine: a pool, and a few connections for reads by id.
#[derive(Clone)]
pub struct PgBackend {
    pool: PgPool,
    /// Connections that plan each statement once (`plan_cache_mode = force_generic_plan`), for
    /// [`Backend::read_by_id`]: one per coalesced read in flight. On the pool's connections
    /// PostgreSQL planned the read of a batch of ids again on every execution (a custom plan
    /// always looks cheaper for an array of known length), which was about a quarter of what
    /// a GET cost it; the plan is the same primary-key lookup whatever the ids.
    by_id: PgPool,
}

impl Db<PgBackend> {
    /// Connects to `url` and brings the schema up to date.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, StoreError> {
        Self::connect_with(url, max_connections, None).await
    }

    /// [`Db::connect`], with every statement cancelled by the server after `statement_timeout`:
    /// a request that timed out drops its future, but PostgreSQL would go on running its query
    /// and holding a connection, so a slow listing repeated by impatient clients piles up.
    pub async fn connect_with(
        url: &str,
        max_connections: u32,
        statement_timeout: Option<StdDuration>,
    ) -> Result<Self, StoreError> {
        let options =
            PgConnectOptions::from_str(url).map_err(|e| StoreError::unavailable("reading the PostgreSQL URL", e))?;
        // Migrations may build an index over a large table: they run on a connection of their
        // own, without the limit.
        let mut migrating = PgConnection::connect_with(&options)
            .await
            .map_err(|e| StoreError::unavailable("connecting to PostgreSQL", e))?;
        MIGRATOR.run(&mut migrating).await.map_err(|e| StoreError::internal("migrating the PostgreSQL schema", e))?;
        let _ = migrating.close().await;
        let options = match statement_timeout {
            Some(limit) => options.options([("statement_timeout", format!("{}ms", limit.as_millis().max(1)))]),
            None => options,
        };
        let by_id = PgPoolOptions::new()
            .max_connections(u32::try_from(MAX_IN_FLIGHT).unwrap_or(u32::MAX))
            .acquire_timeout(StdDuration::from_secs(5))
            .connect_lazy_with(options.clone().options([("plan_cache_mode", "force_generic_plan")]));
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(StdDuration::from_secs(5))
            .connect_with(options)
            .await
            .map_err(|e| StoreError::unavailable("connecting to PostgreSQL", e))?;
        Ok(Db::new(PgBackend { pool, by_id }))
    }
}

impl PgBackend {
    /// The pool, for operators' and tests' own statements.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// The connections of [`Backend::read_by_id`], for tests.
    pub fn by_id_pool(&self) -> &PgPool {
        &self.by_id
    }
}

impl Backend for PgBackend {
    const DIALECT: Dialect = Dialect::Postgres;
    type Tx = PgConn;
    type Reader = PgConn;

    async fn write<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: for<'t> FnOnce(&'t mut Self::Tx) -> BoxFuture<'t, Result<R, StoreError>> + Send + 'static,
    {
        let mut tx = PgConn::begin(&self.pool).await?;
        // An error drops the transaction, which rolls it back.
        let out = f(&mut tx).await?;
        tx.commit().await?;
        Ok(out)
    }

    async fn read<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: for<'t> FnOnce(&'t mut Self::Reader) -> BoxFuture<'t, Result<R, StoreError>> + Send + 'static,
    {
        f(&mut PgConn::Pool(self.pool.clone())).await
    }

    async fn read_by_id<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: for<'t> FnOnce(&'t mut Self::Reader) -> BoxFuture<'t, Result<R, StoreError>> + Send + 'static,
    {
        f(&mut PgConn::Pool(self.by_id.clone())).await
    }

    fn pool_state(&self) -> Option<(u32, u32)> {
        let size = self.pool.size();
        let idle = u32::try_from(self.pool.num_idle()).unwrap_or(u32::MAX);
        Some((idle, size.saturating_sub(idle)))
    }

    fn listen(&self, channel: &'static str) -> Option<tokio::sync::watch::Receiver<u64>> {
        let (tx, rx) = tokio::sync::watch::channel(0);
        tokio::spawn(listen(self.pool.clone(), channel, tx));
        Some(rx)
    }
}

/// Bumps `signal` on every notification on `channel` until every receiver is gone; a lost
/// connection is opened again (and the signal bumped, since notifications may have been missed).
async fn listen(pool: PgPool, channel: &'static str, signal: tokio::sync::watch::Sender<u64>) {
    let bump = |s: &tokio::sync::watch::Sender<u64>| s.send_modify(|n| *n = n.wrapping_add(1));
    while !signal.is_closed() {
        let mut listener = match sqlx::postgres::PgListener::connect_with(&pool).await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for events from other nodes; retrying");
                tokio::time::sleep(StdDuration::from_secs(1)).await;
                continue;
            }
        };
        if let Err(e) = listener.listen(channel).await {
            tracing::warn!(error = %e, "cannot listen for events from other nodes; retrying");
            tokio::time::sleep(StdDuration::from_secs(1)).await;
            continue;
        }
        loop {
            tokio::select! {
                got = listener.try_recv() => match got {
                    Ok(Some(_)) => bump(&signal),
                    // The connection was lost and is opened again on the next call.
                    Ok(None) => bump(&signal),
                    Err(e) => {
                        tracing::warn!(error = %e, "listening for events from other nodes failed; retrying");
                        bump(&signal);
                        break;
                    }
                },
                () = signal.closed() => return,
            }
        }
    }
}

/// Maps driver errors: connection trouble and serialisation failures are retryable.
impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        let retryable = match &e {
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => true,
            sqlx::Error::Database(db) => db.code().is_some_and(|c| c.starts_with("40") || c.starts_with("08")),
            _ => false,
        };
        if retryable {
            StoreError::unavailable("talking to PostgreSQL", e)
        } else {
            StoreError::internal("running a PostgreSQL statement", e)
        }
    }
}
