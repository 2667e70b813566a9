//! The embedded SQLite backend: WAL mode with `synchronous=FULL`, so an acknowledged write
//! survives `kill -9` and power loss; one writer thread with group commit (see [`writer`]); a
//! pool of read-only connections used inline. The data directory and every database file are
//! private to the server's user, since they hold the JWT signing keys and every tenant's data.

mod checkpoint;
mod conn;
mod files;
#[allow(unsafe_code)]
mod log_vfs;
mod writer;

use std::path::{Path, PathBuf};
use std::time::Duration as StdDuration;

use futures::future::BoxFuture;
use futures::FutureExt;
use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::{Connection, ErrorCode as SqliteCode};
use rusqlite_migration::{Migrations, M};

pub use self::checkpoint::{fold_log, Folded, PATIENCE};
pub use self::conn::SqliteConn;
pub use self::files::Permissions;
use crate::conn::Dialect;
use crate::db::{Backend, Db};
use crate::StoreError;
use writer::Writer;

/// The database file's name inside the data directory.
pub const DB_FILE: &str = "tollgate.db";
/// Reader connections beyond one per runtime worker (for the CLI's own reads and spare).
const SPARE_READERS: u32 = 4;
const BUSY_TIMEOUT: StdDuration = StdDuration::from_secs(5);
/// Enough for every statement the store runs, so none is parsed twice.
const STATEMENT_CACHE: usize = 128;
/// Log pages after which the writer's commit copies the log into the database file (SQLite's
/// automatic checkpoint; its default is 1,000). The commit that checkpoints waits for the copy
/// and for the database file's `fsync`, a few milliseconds whatever the log holds; eight times
/// fewer of them raised batches of 100 at one connection by 15% (`bench/RESULTS.md`). The log
/// then grows to about 32 MiB (8,000 pages of 4 KiB) before it starts over.
const CHECKPOINT_PAGES: i64 = 8_000;

/// Tollgate's data in one SQLite file.
pub type SqliteStore = Db<SqliteBackend>;

/// Every migration, oldest first, from `migrations/sqlite`. Never edit one that has shipped.
pub fn migrations() -> Migrations<'static> {
    Migrations::new(vec![
        M::up(include_str!("../../migrations/sqlite/0001_init.sql")),
        M::up(include_str!("../../migrations/sqlite/0002_idempotency.sql")),
        M::up(include_str!("../../migrations/sqlite/0003_events.sql")),
        M::up(include_str!("../../migrations/sqlite/0004_outbox_without_rowid.sql")),
        M::up(include_str!("../../migrations/sqlite/0005_event_log.sql")),
        M::up(include_str!("../../migrations/sqlite/0006_resource_types.sql")),
        M::up(include_str!("../../migrations/sqlite/0007_search.sql")),
        M::up(include_str!("../../migrations/sqlite/0008_sort_indexes.sql")),
        M::up(include_str!("../../migrations/sqlite/0009_credential_usage.sql")),
        M::up(include_str!("../../migrations/sqlite/0010_credential_changes.sql")),
        M::up(include_str!("../../migrations/sqlite/0011_attribute_counts.sql")),
        M::up(include_str!("../../migrations/sqlite/0012_events_by_seq.sql")),
        M::up(include_str!("../../migrations/sqlite/0013_search_contentless.sql")),
    ])
}

/// Reads run inline on the runtime's workers (see `read`), each holding a connection only while
/// it runs, so one connection per worker thread means a read never waits for the pool, and a
/// worker is never blocked by it. Tokio starts one worker per available core.
fn reader_pool_size() -> u32 {
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    u32::try_from(workers).unwrap_or(u32::MAX).saturating_add(SPARE_READERS)
}

/// The SQLite engine: the writer thread and the reader pool.
#[derive(Clone)]
pub struct SqliteBackend {
    writer: Writer,
    readers: r2d2::Pool<SqliteConnectionManager>,
    path: PathBuf,
}

impl Db<SqliteBackend> {
    /// Opens (creating if needed) the database in `data_dir`, private to this user, and brings
    /// its schema up to date. Refuses a directory or file that other users can read.
    pub fn open(data_dir: &Path) -> Result<Self, StoreError> {
        Self::open_with(data_dir, Permissions::Private)
    }

    /// [`Db::open`], with the permission check as given.
    pub fn open_with(data_dir: &Path, permissions: Permissions) -> Result<Self, StoreError> {
        let path = files::prepare(data_dir, permissions)?;
        // The writer's log writes are gathered per commit (see `log_vfs`); readers never write it.
        let opened = if log_vfs::register() {
            Connection::open_with_flags_and_vfs(&path, rusqlite::OpenFlags::default(), log_vfs::NAME)
        } else {
            Connection::open(&path)
        };
        let mut conn = opened.map_err(|e| StoreError::unavailable("opening the database", e))?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        // Write jobs after a transaction's first run in savepoints (see `writer`), and a savepoint
        // journals each page it changes again; in memory that costs a copy, in a file a pwrite.
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA temp_store = MEMORY;",
        )?;
        conn.pragma_update(None, "wal_autocheckpoint", CHECKPOINT_PAGES)?;
        migrations().to_latest(&mut conn).map_err(|e| StoreError::internal("migrating the SQLite schema", e))?;
        files::restrict_all(data_dir)?;
        let manager = SqliteConnectionManager::file(&path)
            .with_flags(rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX)
            .with_init(|c| {
                c.busy_timeout(BUSY_TIMEOUT)?;
                c.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
                Ok(())
            });
        let readers = r2d2::Pool::builder()
            .max_size(reader_pool_size())
            .build(manager)
            .map_err(|e| StoreError::unavailable("opening the reader pool", e))?;
        Ok(Db::new(SqliteBackend { writer: Writer::start(SqliteConn::new(conn)), readers, path }))
    }

    /// Where the database file is.
    pub fn path(&self) -> &Path {
        &self.backend().path
    }
}

/// Polls a statement's future once: SQLite's never waits, so it is always ready.
pub(crate) fn run_now<R>(fut: BoxFuture<'_, Result<R, StoreError>>) -> Result<R, StoreError> {
    fut.now_or_never().unwrap_or_else(|| Err(StoreError::internal("running SQLite", "a SQLite statement waited")))
}

impl Backend for SqliteBackend {
    const DIALECT: Dialect = Dialect::Sqlite;
    type Tx = SqliteConn<Connection>;
    type Reader = SqliteConn<r2d2::PooledConnection<SqliteConnectionManager>>;

    async fn write<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: for<'t> FnOnce(&'t mut Self::Tx) -> BoxFuture<'t, Result<R, StoreError>> + Send + 'static,
    {
        self.writer.write(move |tx| run_now(f(tx))).await
    }

    /// Runs inline on a pooled connection: SQLite point reads take microseconds, less than
    /// handing them to a blocking thread and back, and WAL readers never wait for writers. Reads
    /// are bounded (a page is at most 100 rows), so the runtime thread is not held long.
    async fn read<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: for<'t> FnOnce(&'t mut Self::Reader) -> BoxFuture<'t, Result<R, StoreError>> + Send + 'static,
    {
        let conn = self.readers.get().map_err(|e| StoreError::unavailable("taking a reader", e))?;
        run_now(f(&mut SqliteConn::new(conn)))
    }

    fn pool_state(&self) -> Option<(u32, u32)> {
        let state = self.readers.state();
        Some((state.idle_connections, state.connections - state.idle_connections))
    }
}

/// Maps SQLite's errors to ones a caller can act on: busy and locked are retryable.
impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        match e.sqlite_error_code() {
            Some(SqliteCode::DatabaseBusy | SqliteCode::DatabaseLocked) => {
                StoreError::unavailable("writing to SQLite", e)
            }
            _ => StoreError::internal("running a SQLite statement", e),
        }
    }
}
