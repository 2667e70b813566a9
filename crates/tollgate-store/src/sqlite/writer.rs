//! The single writer: one thread owns the write connection and commits concurrent writes
//! together (group commit). Each job runs inside its own savepoint, so one failing job rolls
//! back alone; the batch then commits once, with one fsync, and only after that commit does
//! any caller hear that its write succeeded. That keeps `synchronous=FULL` durability without
//! paying one fsync per request.

use std::sync::mpsc;

use rusqlite::Connection;
use tokio::sync::oneshot;

use super::SqliteConn;
use crate::StoreError;

/// The writer's connection.
type Tx = SqliteConn<Connection>;

/// Most jobs folded into one commit.
const MAX_BATCH: usize = 256;

type Finish = Box<dyn FnOnce(Result<(), StoreError>) + Send>;
/// A job runs on the connection, or (given `None`) reports that it could not run.
type Job = Box<dyn FnOnce(Option<&mut Tx>) -> (bool, Finish) + Send>;

/// A handle to the writer thread; cloning shares the thread.
#[derive(Clone)]
pub struct Writer {
    jobs: mpsc::Sender<Job>,
}

impl Writer {
    /// Starts the writer thread on `conn`. It stops once every handle is dropped and the
    /// queued jobs are done.
    pub fn start(conn: Tx) -> Self {
        let (jobs, rx) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("tollgate-sqlite-writer".into())
            .spawn(move || run(conn, rx))
            .expect("spawn the SQLite writer thread");
        Self { jobs }
    }

    /// Runs `f` in a write transaction and answers once it is durably committed.
    pub async fn write<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&mut Tx) -> Result<R, StoreError> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move |conn: Option<&mut Tx>| {
            let result = match conn {
                Some(conn) => f(conn),
                None => Err(StoreError::internal("writing to SQLite", "the write transaction could not start")),
            };
            let ok = result.is_ok();
            let finish: Finish = Box::new(move |commit| {
                let _ = tx.send(commit.and(result));
            });
            (ok, finish)
        });
        self.jobs.send(job).map_err(|_| StoreError::unavailable("writing to SQLite", "the writer has stopped"))?;
        rx.await.map_err(|e| StoreError::internal("writing to SQLite", e))?
    }
}

fn run(mut conn: Tx, rx: mpsc::Receiver<Job>) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        commit_batch(&mut conn, batch);
    }
}

fn commit_batch(tx: &mut Tx, batch: Vec<Job>) {
    if let Err(e) = tx.connection().execute_batch("BEGIN IMMEDIATE") {
        tracing::warn!(error = %e, "could not begin a write transaction");
        for job in batch {
            let (_, finish) = job(None);
            finish(Err(clone_err(&e).into()));
        }
        return;
    }
    let mut finishes = Vec::with_capacity(batch.len());
    for job in batch {
        if let Err(e) = tx.connection().execute_batch("SAVEPOINT job") {
            tracing::error!(error = %e, "could not open a savepoint");
            finishes.push(job(None).1);
            continue;
        }
        let (ok, finish) = job(Some(tx));
        let conn = tx.connection();
        let end =
            if ok { conn.execute_batch("RELEASE job") } else { conn.execute_batch("ROLLBACK TO job; RELEASE job") };
        if let Err(e) = end {
            tracing::error!(error = %e, "could not close a savepoint");
        }
        finishes.push(finish);
    }
    let conn = tx.connection();
    let commit = conn.execute_batch("COMMIT");
    if let Err(e) = &commit {
        tracing::error!(error = %e, "could not commit a write batch");
        let _ = conn.execute_batch("ROLLBACK");
    }
    for finish in finishes {
        finish(commit.as_ref().map(|_| ()).map_err(|e| clone_err(e).into()));
    }
}

/// `rusqlite::Error` is not `Clone`; keep what classification needs.
fn clone_err(e: &rusqlite::Error) -> rusqlite::Error {
    match e {
        rusqlite::Error::SqliteFailure(code, msg) => rusqlite::Error::SqliteFailure(*code, msg.clone()),
        other => rusqlite::Error::InvalidParameterName(other.to_string()),
    }
}
