//! The PostgreSQL backend, for several stateless nodes sharing one database: a connection pool,
//! and writes in transactions that PostgreSQL's own commit makes durable. The statements and
//! rules are the shared ones; rows that change are locked with `FOR UPDATE`, due deliveries
//! are claimed with `SKIP LOCKED`, and first-start work takes an advisory lock.

mod conn;

use std::time::Duration as StdDuration;

use futures::future::BoxFuture;
use sqlx::postgres::{PgPool, PgPoolOptions};

pub use self::conn::PgConn;
use crate::db::{Backend, Db};
use crate::StoreError;

/// Every migration, oldest first, from `migrations/postgres`. Never edit one that has shipped.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// Tollgate's data in PostgreSQL.
pub type PgStore = Db<PgBackend>;

/// The PostgreSQL engine: a pool.
#[derive(Clone)]
pub struct PgBackend {
    pool: PgPool,
}

impl Db<PgBackend> {
    /// Connects to `url` and brings the schema up to date.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(StdDuration::from_secs(5))
            .connect(url)
            .await
            .map_err(|e| StoreError::unavailable("connecting to PostgreSQL", e))?;
        MIGRATOR.run(&pool).await.map_err(|e| StoreError::internal("migrating the PostgreSQL schema", e))?;
        Ok(Db::new(PgBackend { pool }))
    }
}

impl Backend for PgBackend {
    type Tx = PgConn;
    type Reader = PgConn;

    async fn write<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: for<'t> FnOnce(&'t mut Self::Tx) -> BoxFuture<'t, Result<R, StoreError>> + Send + 'static,
    {
        let mut tx = PgConn::Tx(self.pool.begin().await?);
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

    fn pool_state(&self) -> Option<(u32, u32)> {
        let size = self.pool.size();
        let idle = u32::try_from(self.pool.num_idle()).unwrap_or(u32::MAX);
        Some((idle, size.saturating_sub(idle)))
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
