//! Folding the write-ahead log into the database file when a process is done with it. Every
//! acknowledged write is durable in the `-wal` file already; but a process that exits without
//! closing its connections in order (the writer last) never runs SQLite's own checkpoint on
//! close, so a stopped server left its data in `tollgate.db-wal` beside a `tollgate.db` that
//! could be nearly empty: a copy of the database file alone missed it, and every later opening
//! re-read and checksummed the whole log before its first query.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use super::DB_FILE;
use crate::StoreError;

/// How long to wait for other connections' transactions. Not zero: a command's own writer
/// thread may be closing its connection at that moment, which takes the log's locks briefly.
pub const PATIENCE: Duration = Duration::from_millis(200);

/// What [`fold_log`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Folded {
    /// The log is in the database file and the `-wal` file is empty.
    Emptied,
    /// Another connection was reading or writing: the log was left for a later checkpoint
    /// (SQLite's automatic one, or the next process that ends).
    Busy,
    /// There is no database in the directory: nothing to do, and none was created.
    NoDatabase,
}

/// Copies every page of the log into the database file, syncs it and truncates the log, unless
/// another connection (in this process or another) stays inside a transaction for longer than
/// [`PATIENCE`]: a command that ends while a server is busy ends at most that much later.
pub fn fold_log(data_dir: &Path) -> Result<Folded, StoreError> {
    let path = data_dir.join(DB_FILE);
    if !path.exists() {
        return Ok(Folded::NoDatabase);
    }
    let conn = Connection::open_with_flags(&path, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .map_err(|e| StoreError::unavailable("opening the database to checkpoint it", e))?;
    conn.busy_timeout(PATIENCE)?;
    // (busy, frames in the log, frames copied); `busy` is 1 when a reader or writer stopped it.
    let busy: i64 = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |row| row.get(0))?;
    Ok(if busy == 0 { Folded::Emptied } else { Folded::Busy })
}
