//! The single writer: one thread owns the write connection and commits concurrent writes
//! together (group commit). Every job after the first of a transaction runs inside its own
//! savepoint, so one failing job rolls back alone; the batch then commits once, with one fsync,
//! and only after that commit does any caller hear that its write succeeded. That keeps
//! `synchronous=FULL` durability without paying one fsync per request.

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
        let (job, rx) = job(f);
        self.jobs.send(job).map_err(|_| StoreError::unavailable("writing to SQLite", "the writer has stopped"))?;
        rx.await.map_err(|e| StoreError::internal("writing to SQLite", e))?
    }
}

/// `f` as a job, and where its answer arrives once the job's transaction has ended.
fn job<R, F>(f: F) -> (Job, oneshot::Receiver<Result<R, StoreError>>)
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
    (job, rx)
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
    let mut jobs = batch.into_iter();
    // Only what ran before a job needs a savepoint to survive the job's failure: the first job of
    // a transaction (at 32 connections nearly every job, since creates coalesce into one) runs
    // without one, and on failure the whole transaction, its alone, rolls back and the next job
    // begins another. A savepoint copies every page its job changes.
    let mut refused = Vec::new();
    let first = loop {
        let Some(job) = jobs.next() else {
            return answer(refused, &Ok(()));
        };
        if let Err(e) = begin(tx) {
            answer(refused, &Ok(()));
            let never_ran = std::iter::once(job).chain(jobs).map(|job| job(None).1).collect();
            return answer(never_ran, &Err(e));
        }
        let (ok, finish) = job(Some(tx));
        if ok {
            break finish;
        }
        if let Err(e) = roll_back(tx) {
            tracing::error!(error = %e, "could not roll back a failed write");
        }
        refused.push(finish);
    };
    let mut finishes = vec![first];
    for job in jobs {
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
    let commit = tx.connection().execute_batch("COMMIT");
    if let Err(e) = &commit {
        tracing::error!(error = %e, "could not commit a write batch");
        let _ = roll_back(tx);
    }
    answer(finishes, &commit);
    answer(refused, &Ok(()));
}

/// Tells each job how its transaction ended; a job that failed keeps its own error.
fn answer(finishes: Vec<Finish>, end: &Result<(), rusqlite::Error>) {
    for finish in finishes {
        finish(end.as_ref().map(|_| ()).map_err(|e| clone_err(e).into()));
    }
}

/// Rolls back the open transaction, if there is one: after some errors SQLite has already
/// rolled it back itself.
fn roll_back(tx: &mut Tx) -> Result<(), rusqlite::Error> {
    let conn = tx.connection();
    if conn.is_autocommit() {
        return Ok(());
    }
    conn.execute_batch("ROLLBACK")
}

/// Begins a write transaction. One that a failure left open (its rollback failed too) is rolled
/// back first, so that one such failure cannot stop every later write: none of its jobs was told
/// that it succeeded.
fn begin(tx: &mut Tx) -> Result<(), rusqlite::Error> {
    roll_back(tx)
        .and_then(|()| tx.connection().execute_batch("BEGIN IMMEDIATE"))
        .inspect_err(|e| tracing::warn!(error = %e, "could not begin a write transaction"))
}

/// `rusqlite::Error` is not `Clone`; keep what classification needs.
fn clone_err(e: &rusqlite::Error) -> rusqlite::Error {
    match e {
        rusqlite::Error::SqliteFailure(code, msg) => rusqlite::Error::SqliteFailure(*code, msg.clone()),
        other => rusqlite::Error::InvalidParameterName(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A job that inserts `x`, then fails if asked to: its insert must not survive.
    fn insert(x: i64, fail: bool) -> (Job, oneshot::Receiver<Result<i64, StoreError>>) {
        job(move |tx: &mut Tx| {
            tx.connection().execute("INSERT INTO t (x) VALUES (?1)", [x])?;
            if fail {
                return Err(StoreError::Conflict(format!("job {x} refused")));
            }
            Ok(x)
        })
    }

    fn table(conn: Connection) -> Tx {
        conn.execute_batch("CREATE TABLE t (x INTEGER NOT NULL)").unwrap();
        SqliteConn::new(conn)
    }

    /// Runs `jobs` as one batch on `tx`: each job's answer, then the table's rows.
    fn run_on(tx: &mut Tx, jobs: &[(i64, bool)]) -> (Vec<Result<i64, StoreError>>, Vec<i64>) {
        let (batch, answers): (Vec<_>, Vec<_>) = jobs.iter().map(|&(x, fail)| insert(x, fail)).unzip();
        commit_batch(tx, batch);
        let answers = answers.into_iter().map(|mut rx| rx.try_recv().expect("answered")).collect();
        let mut stmt = tx.connection().prepare("SELECT x FROM t ORDER BY x").unwrap();
        let rows = stmt.query_map([], |r| r.get(0)).unwrap().collect::<Result<_, _>>().unwrap();
        (answers, rows)
    }

    fn run_batch(jobs: &[(i64, bool)]) -> (Vec<Result<i64, StoreError>>, Vec<i64>) {
        run_on(&mut table(Connection::open_in_memory().unwrap()), jobs)
    }

    #[test]
    fn a_failed_job_leaves_nothing_and_the_others_commit() {
        // The first job runs without a savepoint, so the first jobs' failures and a later one's
        // (inside its savepoint) are both covered.
        let (answers, rows) = run_batch(&[(1, true), (2, true), (3, false), (4, true), (5, false)]);
        let oks: Vec<_> = answers.iter().map(|a| a.as_ref().ok().copied()).collect();
        assert_eq!(oks, [None, None, Some(3), None, Some(5)]);
        assert!(matches!(&answers[0], Err(StoreError::Conflict(m)) if m == "job 1 refused"));
        assert_eq!(rows, [3, 5]);
    }

    #[test]
    fn a_batch_of_failures_commits_nothing() {
        let (answers, rows) = run_batch(&[(1, true), (2, true)]);
        assert!(answers.iter().all(Result::is_err));
        assert!(rows.is_empty());
        let (answers, rows) = run_batch(&[(7, false)]);
        assert_eq!(answers.into_iter().map(Result::unwrap).collect::<Vec<_>>(), [7]);
        assert_eq!(rows, [7]);
    }

    #[test]
    fn a_transaction_left_open_is_rolled_back_before_the_next() {
        let mut tx = table(Connection::open_in_memory().unwrap());
        tx.connection().execute_batch("BEGIN; INSERT INTO t (x) VALUES (99)").unwrap();
        let (answers, rows) = run_on(&mut tx, &[(1, false)]);
        assert_eq!(answers.into_iter().map(Result::unwrap).collect::<Vec<_>>(), [1]);
        assert_eq!(rows, [1]);
    }

    #[test]
    fn when_no_transaction_can_begin_every_job_hears_why_and_refused_ones_keep_their_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.db");
        let conn = Connection::open(&path).unwrap();
        conn.busy_timeout(std::time::Duration::ZERO).unwrap();
        let mut tx = table(conn);
        let other = Connection::open(&path).unwrap();
        // Job 1 fails first, in a transaction of its own. The next job ends its transaction and
        // fails, and meanwhile another connection takes the write lock: no transaction can begin
        // for jobs 2 and 3.
        let (refused, first_answer) = insert(1, true);
        let other_takes_the_lock: Job = Box::new(move |tx: Option<&mut Tx>| {
            tx.unwrap().connection().execute_batch("ROLLBACK").unwrap();
            other.execute_batch("BEGIN IMMEDIATE").unwrap();
            std::mem::forget(other);
            (false, Box::new(|_| {}))
        });
        let (second, second_answer) = insert(2, false);
        let (third, third_answer) = insert(3, false);
        commit_batch(&mut tx, vec![refused, other_takes_the_lock, second, third]);
        let message = |rx: oneshot::Receiver<Result<i64, StoreError>>| match rx.blocking_recv().unwrap() {
            Err(e) => e.to_string(),
            Ok(x) => panic!("job {x} cannot have succeeded"),
        };
        assert!(message(first_answer).contains("job 1 refused"));
        for rx in [second_answer, third_answer] {
            let m = message(rx);
            assert!(m.contains("unavailable"), "busy, which a client may retry: {m}");
        }
    }
}
