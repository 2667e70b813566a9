//! Reads of one resource by id folded together while the database is busy, so that a node on
//! PostgreSQL pays one round trip for many concurrent `GET /v1/resource/{id}`.
//!
//! On PostgreSQL each query costs the node and the database a round trip, two process wake-ups
//! and the driver's per-statement work, which under load is most of what a GET by id costs. A
//! caller queues its id. With no query running it starts one that takes everything queued (up
//! to [`MAX_IDS`]); behind a query that has run for less than [`PATIENCE`] it waits for the next
//! one, which the running query's task starts as soon as it is answered; behind a slower one it
//! starts another, up to [`MAX_IN_FLIGHT`], so that a query waiting on the disk does not hold up
//! every read. Nothing waits on a timer: alone, a read runs at once as before; under load, the
//! ids that arrive during one query go together in the next.
//!
//! Every answer is still read after its request arrived (a query takes only ids queued before it
//! began), so a write acknowledged before the GET is always seen. A row of another project is
//! `NotFound`, exactly like a missing one. A query of several ids that fails for one of its rows
//! (a corrupt row, [`StoreError::is_corrupt_row`]) is split in halves and each half run again, in
//! the same task, so one bad row fails only the reads of it, found in a few queries and never
//! beyond [`MAX_IN_FLIGHT`] at once. Any other failure (the database unavailable, a statement
//! timeout, too many connections, a shutdown) answers every read of the query at once: another
//! query would only fail or wait again, and up to `2 * MAX_IDS - 1` of them in one of the few
//! slots would stall every read by id behind them.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use tokio::sync::oneshot;
use tollgate_core::{ProjectId, ResourceId};

use crate::rows::RawResource;
use crate::StoreError;

/// Queries of one batch of ids running at once. Each query costs the database a wake-up and a
/// statement however many ids it takes, so fewer queries with more ids each cost less: with the
/// database on the node's machine, two in flight served 1.28x the GETs of four, and one 1.17x
/// the GETs of two (bench/RESULTS.md, twenty-third session). Hence [`PATIENCE`]: a second query
/// starts only behind a slow one.
pub const MAX_IN_FLIGHT: usize = 2;
/// How long the newest query may run before a read starts another beside it rather than wait
/// for its turn. A query of a few ids on a database that has them in memory answers in well
/// under this, so a busy node runs one query at a time; one that reads from the disk, or a
/// database across a slow network, is not waited for.
pub const PATIENCE: Duration = Duration::from_millis(1);
/// Most ids in one query.
pub const MAX_IDS: usize = 128;

/// Reads the rows of these ids, of any project, in any order; missing ids are simply absent.
pub type Fetch = Arc<dyn Fn(Vec<String>) -> BoxFuture<'static, Result<Vec<RawResource>, StoreError>> + Send + Sync>;

type Answer = Result<RawResource, StoreError>;

struct Waiting {
    id: String,
    project: String,
    reply: oneshot::Sender<Answer>,
}

#[derive(Default)]
struct State {
    queue: Vec<Waiting>,
    /// Queries running (each a task that goes on while ids are queued).
    running: usize,
    /// When the newest query took its ids.
    newest: Option<Instant>,
}

/// See the module.
pub struct ReadCoalescer {
    state: Mutex<State>,
    fetch: Fetch,
    patience: Duration,
    reads: AtomicU64,
    queries: AtomicU64,
}

/// How much folding happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CoalescerStats {
    /// Reads asked for.
    pub reads: u64,
    /// Queries run for them (a failed query's retries, one per id, included).
    pub queries: u64,
}

impl ReadCoalescer {
    /// Folds reads into calls of `fetch`.
    pub fn new(fetch: Fetch) -> Arc<Self> {
        Self::with_patience(fetch, PATIENCE)
    }

    /// [`ReadCoalescer::new`] with a [`PATIENCE`] of `patience` (tests wait less or longer).
    fn with_patience(fetch: Fetch, patience: Duration) -> Arc<Self> {
        let (reads, queries) = (AtomicU64::new(0), AtomicU64::new(0));
        Arc::new(Self { state: Mutex::default(), fetch, patience, reads, queries })
    }

    /// Reads and queries so far.
    pub fn stats(&self) -> CoalescerStats {
        CoalescerStats { reads: self.reads.load(Ordering::Relaxed), queries: self.queries.load(Ordering::Relaxed) }
    }

    fn query(&self, ids: Vec<String>) -> BoxFuture<'static, Result<Vec<RawResource>, StoreError>> {
        self.queries.fetch_add(1, Ordering::Relaxed);
        (self.fetch)(ids)
    }

    /// The resource `id` of `project`.
    pub async fn get(self: &Arc<Self>, project: ProjectId, id: ResourceId) -> Answer {
        let (reply, answer) = oneshot::channel();
        let start = {
            let mut s = self.lock();
            s.queue.push(Waiting { id: id.to_string(), project: project.to_string(), reply });
            // Counted once queued, so that a test that sees every read counted knows its batch.
            self.reads.fetch_add(1, Ordering::Relaxed);
            let start =
                s.running == 0 || (s.running < MAX_IN_FLIGHT && s.newest.is_none_or(|t| t.elapsed() >= self.patience));
            if start {
                s.running += 1;
                s.newest = Some(Instant::now());
            }
            start
        };
        if start {
            tokio::spawn(Arc::clone(self).run());
        }
        answer.await.map_err(|_| StoreError::internal("reading a resource", "the read was dropped"))?
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Takes queued ids and reads them, until none are left.
    async fn run(self: Arc<Self>) {
        let mut slot = Slot { coalescer: Arc::clone(&self), held: true };
        loop {
            let batch: Vec<Waiting> = {
                let mut s = self.lock();
                if s.queue.is_empty() {
                    s.running -= 1;
                    slot.held = false;
                    return;
                }
                let n = s.queue.len().min(MAX_IDS);
                s.newest = Some(Instant::now());
                s.queue.drain(..n).collect()
            };
            self.read(batch).await;
        }
    }

    /// Answers every read of `batch`. A query of several ids failed by a corrupt row is split in
    /// halves, each read in turn by this task (which holds one slot of [`MAX_IN_FLIGHT`]): a bad
    /// row costs about two queries per halving, and the reads of good rows beside it are
    /// answered. Any other failure answers every read of the part with it, in no more queries.
    async fn read(&self, batch: Vec<Waiting>) {
        let mut parts = vec![batch];
        while let Some(mut part) = parts.pop() {
            let ids: Vec<String> = part.iter().map(|w| w.id.clone()).collect();
            match self.query(ids).await {
                Ok(rows) => answer(part, rows),
                Err(e) if part.len() > 1 && e.is_corrupt_row() => {
                    let back = part.split_off(part.len() / 2);
                    parts.extend([back, part]);
                }
                Err(e) => fail_all(part, e),
            }
        }
    }
}

/// A running query's place among the [`MAX_IN_FLIGHT`], held by a task until it finds the queue
/// empty. A task that ends otherwise (a panic) hands its place to a new task when reads are
/// queued: they came while the running queries' tasks counted as busy, so none started a query
/// for them (the panicked query's own reads were dropped with it, an error for each). Without a
/// runtime to start one, it gives the place up; if no query is then left running, the queued
/// reads are dropped, which answers them with an error, not silence.
struct Slot {
    coalescer: Arc<ReadCoalescer>,
    held: bool,
}

impl Drop for Slot {
    fn drop(&mut self) {
        if !self.held {
            return;
        }
        let mut s = self.coalescer.lock();
        if !s.queue.is_empty() {
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                drop(s);
                runtime.spawn(Arc::clone(&self.coalescer).run());
                return;
            }
        }
        s.running -= 1;
        if s.running == 0 {
            s.queue.clear();
        }
    }
}

/// Gives each waiting read its row; an id asked for twice gets a copy.
fn answer(batch: Vec<Waiting>, rows: Vec<RawResource>) {
    let mut asked: HashMap<&str, usize> = HashMap::with_capacity(batch.len());
    for w in &batch {
        *asked.entry(w.id.as_str()).or_default() += 1;
    }
    let mut found: HashMap<String, (RawResource, usize)> = HashMap::with_capacity(rows.len());
    for row in rows {
        let n = asked.get(row.id()).copied().unwrap_or(0);
        found.insert(row.id().to_owned(), (row, n));
    }
    drop(asked);
    for w in batch {
        let row = match found.get_mut(&w.id) {
            Some((_, left)) if *left > 1 => {
                *left -= 1;
                found.get(&w.id).map(|(row, _)| row.clone())
            }
            Some(_) => found.remove(&w.id).map(|(row, _)| row),
            None => None,
        };
        answer_one(w, Ok(row));
    }
}

/// Every read of `batch` answered with the query's error `e`: the first with it whole, the others
/// with a copy of the same kind and message (a driver's error cannot be copied).
fn fail_all(batch: Vec<Waiting>, e: StoreError) {
    let copy = |e: &StoreError| match e {
        StoreError::Unavailable { context, source } => StoreError::unavailable(context, source.to_string()),
        StoreError::Internal { context, source } => StoreError::internal(context, source.to_string()),
        other => StoreError::internal("reading a resource", other.to_string()),
    };
    let mut batch = batch.into_iter();
    let Some(first) = batch.next() else { return };
    for w in batch {
        let _ = w.reply.send(Err(copy(&e)));
    }
    let _ = first.reply.send(Err(e));
}

fn answer_one(w: Waiting, row: Result<Option<RawResource>, StoreError>) {
    let answer = match row {
        Ok(Some(row)) if row.project_id() == w.project => Ok(row),
        Ok(_) => Err(StoreError::NotFound),
        Err(e) => Err(e),
    };
    let _ = w.reply.send(answer);
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, AtomicUsize};

    use futures::future::join_all;

    use crate::rows::ResourceFields;

    use super::*;

    fn row(id: &ResourceId, project: &ProjectId) -> RawResource {
        RawResource::from(ResourceFields {
            id: id.to_string(),
            project_id: project.to_string(),
            name: "n".into(),
            kind: "machine".into(),
            status: "active".into(),
            attributes: "{}".into(),
            data: "{}".into(),
            created_at: 0,
            updated_at: 0,
            version: 1,
        })
    }

    /// A table of rows, read after a pause (so that reads pile up behind a running query); a
    /// query that includes `poison` fails as a corrupt row fails it.
    fn table(rows: Vec<RawResource>, poison: Option<String>) -> Fetch {
        let rows = Arc::new(rows);
        Arc::new(move |ids: Vec<String>| {
            let (rows, poison) = (rows.clone(), poison.clone());
            Box::pin(async move {
                assert!(ids.len() <= MAX_IDS, "a query of {} ids", ids.len());
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                if let Some(p) = poison.filter(|p| ids.contains(p)) {
                    return Err(StoreError::corrupt("resources", &p, "data"));
                }
                Ok(rows.iter().filter(|r| ids.iter().any(|id| id == r.id())).cloned().collect())
            })
        })
    }

    /// `inner`, counting its queries in flight and the most at once.
    fn counted(inner: Fetch) -> (Fetch, Arc<AtomicUsize>, Arc<AtomicUsize>) {
        let (running, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let (now, peak) = (running.clone(), most.clone());
        let fetch: Fetch = Arc::new(move |ids: Vec<String>| {
            let (query, now, peak) = (inner(ids), now.clone(), peak.clone());
            Box::pin(async move {
                peak.fetch_max(now.fetch_add(1, Ordering::SeqCst) + 1, Ordering::SeqCst);
                let rows = query.await;
                now.fetch_sub(1, Ordering::SeqCst);
                rows
            })
        });
        (fetch, running, most)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_reads_fold_and_each_gets_its_own_answer() {
        let (mine, theirs) = (ProjectId::generate(), ProjectId::generate());
        let ids: Vec<ResourceId> = (0..20).map(|_| ResourceId::generate()).collect();
        let other = ResourceId::generate();
        let mut rows: Vec<RawResource> = ids.iter().map(|id| row(id, &mine)).collect();
        rows.push(row(&other, &theirs));
        let (fetch, running, most) = counted(table(rows, None));
        let c = ReadCoalescer::new(fetch);
        let reads = (0..300).map(|i| {
            let c = c.clone();
            let id = match i % 10 {
                8 => other,                  // another project's row
                9 => ResourceId::generate(), // nobody's
                _ => ids[i % ids.len()],
            };
            tokio::spawn(async move { (id, c.get(mine, id).await) })
        });
        for done in join_all(reads).await {
            let (id, got) = done.unwrap();
            match got {
                Ok(r) => assert_eq!((r.id(), r.project_id()), (id.to_string().as_str(), mine.to_string().as_str())),
                Err(StoreError::NotFound) => assert!(!ids.contains(&id), "{id} is there"),
                Err(e) => panic!("{e}"),
            }
        }
        let stats = c.stats();
        assert_eq!(stats.reads, 300);
        assert!(stats.queries < 30, "folded: {stats:?}");
        assert!(most.load(Ordering::SeqCst) <= MAX_IN_FLIGHT, "{} queries at once", most.load(Ordering::SeqCst));
        assert_eq!(running.load(Ordering::SeqCst), 0);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failed_query_answers_only_the_read_it_concerns() {
        let p = ProjectId::generate();
        let (good, bad) = (ResourceId::generate(), ResourceId::generate());
        let c = ReadCoalescer::new(table(vec![row(&good, &p), row(&bad, &p)], Some(bad.to_string())));
        let reads = (0..40).map(|i| {
            let c = c.clone();
            let id = if i % 4 == 0 { bad } else { good };
            tokio::spawn(async move { (id, c.get(p, id).await) })
        });
        for done in join_all(reads).await {
            match done.unwrap() {
                (id, Ok(r)) => assert_eq!((id, r.id()), (good, good.to_string().as_str())),
                (id, Err(StoreError::Internal { .. })) => assert_eq!(id, bad),
                (_, Err(e)) => panic!("{e}"),
            }
        }
    }

    /// `inner`, its first query held until `release` is notified.
    fn gated(inner: Fetch, release: Arc<tokio::sync::Notify>) -> Fetch {
        let first = Arc::new(AtomicBool::new(true));
        Arc::new(move |ids: Vec<String>| {
            let (query, release, first) = (inner(ids), release.clone(), first.clone());
            Box::pin(async move {
                if first.swap(false, Ordering::SeqCst) {
                    release.notified().await;
                }
                query.await
            })
        })
    }

    /// A patient coalescer (one query at a time) of `fetch`, whose first query waits.
    fn held(fetch: Fetch) -> (Arc<ReadCoalescer>, Arc<tokio::sync::Notify>) {
        let release = Arc::new(tokio::sync::Notify::new());
        (ReadCoalescer::with_patience(gated(fetch, release.clone()), std::time::Duration::from_secs(60)), release)
    }

    /// The reads, on `c` from [`held`]: the first alone in the held query, then the others,
    /// released once every one is queued, so that they go in one batch (up to [`MAX_IDS`]) and
    /// the count of queries does not depend on timing.
    async fn piled_up(
        c: &Arc<ReadCoalescer>,
        release: &tokio::sync::Notify,
        reads: Vec<(ProjectId, ResourceId)>,
    ) -> Vec<(ResourceId, Answer)> {
        let read = |(p, id): (ProjectId, ResourceId)| {
            let c = c.clone();
            tokio::spawn(async move { (id, c.get(p, id).await) })
        };
        let mut reads = reads.into_iter();
        let mut handles = vec![read(reads.next().expect("a read"))];
        while c.stats().queries == 0 {
            tokio::task::yield_now().await;
        }
        handles.extend(reads.map(read));
        while c.stats().reads < handles.len() as u64 {
            tokio::task::yield_now().await;
        }
        release.notify_one();
        join_all(handles).await.into_iter().map(Result::unwrap).collect()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_bad_row_among_many_is_found_in_few_queries_within_the_bound() {
        let p = ProjectId::generate();
        let ids: Vec<ResourceId> = (0..MAX_IDS).map(|_| ResourceId::generate()).collect();
        let bad = ids[77];
        let (fetch, _, most) = counted(table(ids.iter().map(|id| row(id, &p)).collect(), Some(bad.to_string())));
        let (c, release) = held(fetch);
        // The first read (of ids[0]) alone, then all of them together.
        let reads = std::iter::once(ids[0]).chain(ids.iter().copied()).map(|id| (p, id)).collect();
        for (id, got) in piled_up(&c, &release, reads).await {
            match got {
                Ok(r) => assert_eq!(r.id(), id.to_string()),
                Err(e) => assert!(id == bad && e.is_corrupt_row(), "{id}: {e:?}"),
            }
        }
        // The first read's query, the batch of all, then two halves for each of the seven
        // halvings down to the bad row; reading each id alone took 130.
        assert_eq!(c.stats().queries, 16, "queries for one bad row among {MAX_IDS}");
        assert!(most.load(Ordering::SeqCst) <= MAX_IN_FLIGHT, "{} queries at once", most.load(Ordering::SeqCst));
    }

    /// A table whose every query fails with `error`, after a pause.
    fn failing(error: fn() -> StoreError) -> Fetch {
        Arc::new(move |_ids: Vec<String>| {
            Box::pin(async move {
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                Err(error())
            })
        })
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_unavailable_database_answers_every_read_without_more_queries() {
        let p = ProjectId::generate();
        let (c, release) = held(failing(|| StoreError::unavailable("reading", "connection refused")));
        let reads = (0..40).map(|_| (p, ResourceId::generate())).collect();
        for (_, got) in piled_up(&c, &release, reads).await {
            match got {
                Err(StoreError::Unavailable { source, .. }) => assert_eq!(source.to_string(), "connection refused"),
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(c.stats().queries, 2, "one query per batch");
    }

    /// A failure that is no row's fault (on PostgreSQL a statement timeout, too many
    /// connections, an administrator's shutdown are all `Internal`): another query of fewer ids
    /// would only fail again, slowly, holding a slot.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failure_of_no_row_answers_every_read_without_more_queries() {
        let p = ProjectId::generate();
        let timeout =
            || StoreError::internal("running a PostgreSQL statement", "canceling statement due to statement timeout");
        let (c, release) = held(failing(timeout));
        let reads = (0..40).map(|_| (p, ResourceId::generate())).collect();
        for (_, got) in piled_up(&c, &release, reads).await {
            match got {
                Err(e @ StoreError::Internal { .. }) => {
                    assert!(!e.is_corrupt_row());
                    assert_eq!(
                        crate::error::chain(&e),
                        "storage failure while running a PostgreSQL statement: canceling statement due to statement timeout"
                    );
                }
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(c.stats().queries, 2, "one query per batch");
    }

    /// A table whose first query waits until `release` is notified; later queries answer at
    /// once.
    fn stalled(rows: Vec<RawResource>, release: Arc<tokio::sync::Notify>) -> Fetch {
        let (rows, first) = (Arc::new(rows), Arc::new(AtomicBool::new(true)));
        Arc::new(move |ids: Vec<String>| {
            let (rows, release, first) = (rows.clone(), release.clone(), first.clone());
            Box::pin(async move {
                if first.swap(false, Ordering::SeqCst) {
                    release.notified().await;
                }
                Ok(rows.iter().filter(|r| ids.iter().any(|id| id == r.id())).cloned().collect())
            })
        })
    }

    /// A coalescer of a table of `a` and `b` whose first query waits for `release`, with that
    /// query started (reading `a`); and `b`'s read sent after `wait`.
    async fn first_stalled_then(
        patience: std::time::Duration,
        wait: std::time::Duration,
    ) -> (Arc<ReadCoalescer>, Arc<tokio::sync::Notify>, [tokio::task::JoinHandle<Answer>; 2], [ResourceId; 2]) {
        let p = ProjectId::generate();
        let (a, b) = (ResourceId::generate(), ResourceId::generate());
        let release = Arc::new(tokio::sync::Notify::new());
        let c = ReadCoalescer::with_patience(stalled(vec![row(&a, &p), row(&b, &p)], release.clone()), patience);
        let read = |id| {
            let c = c.clone();
            tokio::spawn(async move { c.get(p, id).await })
        };
        let first = read(a);
        while c.stats().queries == 0 {
            tokio::task::yield_now().await;
        }
        tokio::time::sleep(wait).await;
        let second = read(b);
        (c, release, [first, second], [a, b])
    }

    /// The read's answer if it comes within 200 ms.
    async fn answered_soon(read: &mut tokio::task::JoinHandle<Answer>) -> Option<Answer> {
        tokio::time::timeout(std::time::Duration::from_millis(200), read).await.ok().map(Result::unwrap)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_read_waits_for_the_next_query_behind_a_fresh_one() {
        let (patience, wait) = (std::time::Duration::from_secs(60), std::time::Duration::ZERO);
        let (c, release, [first, mut second], [a, b]) = first_stalled_then(patience, wait).await;
        assert!(answered_soon(&mut second).await.is_none(), "queued behind the running query");
        assert_eq!(c.stats().queries, 1);
        release.notify_one();
        assert_eq!(first.await.unwrap().unwrap().id(), a.to_string());
        assert_eq!(second.await.unwrap().unwrap().id(), b.to_string());
        assert_eq!(c.stats().queries, 2, "the running query's task read it next");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_read_behind_a_slow_query_starts_another() {
        let patience = std::time::Duration::from_millis(20);
        let (c, release, [mut first, mut second], [a, b]) = first_stalled_then(patience, patience * 2).await;
        let beside = answered_soon(&mut second).await.expect("a second query read it beside the slow one");
        assert_eq!(beside.unwrap().id(), b.to_string());
        assert!(answered_soon(&mut first).await.is_none(), "the first query is still waiting");
        release.notify_one();
        assert_eq!(first.await.unwrap().unwrap().id(), a.to_string());
        assert_eq!(c.stats().queries, 2);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_query_that_panics_does_not_stop_later_reads() {
        let p = ProjectId::generate();
        let id = ResourceId::generate();
        let panicked = Arc::new(AtomicBool::new(false));
        let (seen, rows) = (panicked.clone(), Arc::new(vec![row(&id, &p)]));
        let c = ReadCoalescer::new(Arc::new(move |_ids: Vec<String>| {
            let (seen, rows) = (seen.clone(), rows.clone());
            Box::pin(async move {
                assert!(seen.swap(true, Ordering::SeqCst), "the first query panics");
                Ok(rows.to_vec())
            })
        }));
        assert!(c.get(p, id).await.is_err(), "the panicked query's read is answered with an error");
        for _ in 0..MAX_IN_FLIGHT * 2 {
            assert_eq!(c.get(p, id).await.unwrap().id(), id.to_string());
        }
    }

    /// A read queued behind a query that then panics (no other query started for it: the
    /// panicking one still counted as running) is read by a task that takes the panicked one's
    /// place, not dropped with it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_read_queued_behind_a_query_that_panics_is_still_read() {
        let p = ProjectId::generate();
        let (a, b) = (ResourceId::generate(), ResourceId::generate());
        let rows = Arc::new(vec![row(&a, &p), row(&b, &p)]);
        let panics: Fetch = Arc::new(move |ids: Vec<String>| {
            let rows = rows.clone();
            Box::pin(async move {
                assert!(!ids.contains(&a.to_string()), "the query of `a` panics");
                Ok(rows.iter().filter(|r| ids.iter().any(|id| id == r.id())).cloned().collect())
            })
        });
        let (c, release) = held(panics);
        let mut got = piled_up(&c, &release, vec![(p, a), (p, b)]).await.into_iter();
        assert!(got.next().expect("a").1.is_err(), "the panicked query's read is answered with an error");
        assert_eq!(got.next().expect("b").1.expect("b read after the panic").id(), b.to_string());
        for _ in 0..MAX_IN_FLIGHT * 2 {
            assert_eq!(c.get(p, b).await.unwrap().id(), b.to_string());
        }
        // Given back once the last task finds the queue empty, just after its answer.
        let idle = async {
            while c.lock().running != 0 {
                tokio::task::yield_now().await;
            }
        };
        tokio::time::timeout(std::time::Duration::from_secs(5), idle).await.expect("every place given back");
    }
}
