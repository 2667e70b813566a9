//! [`Db`], the one implementation of every storage trait, over a [`Backend`] that supplies only
//! connections: a reader, and a write transaction that commits durably before it answers.
//! Every operation passes through [`Db::read`] or [`Db::write`], which is also where its
//! duration is observed, so timing is one decorator rather than a line in every method.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::BoxFuture;

use crate::auth_cache::{self, AuthCache};
use crate::coalesce::ReadCoalescer;
use crate::coalesce_creates::CreateCoalescer;
use crate::conn::{Conn, Dialect, Sql};
use crate::StoreError;

/// The counter every credential change bumps (see [`AuthCache`]).
const CHANGES: Sql = Sql::same("SELECT version FROM credential_changes WHERE id = 1");

/// Create transactions in flight at once; creates arriving while they run are folded into the next
/// (see `coalesce_creates`). One on both backends: SQLite has one writer anyway, and on PostgreSQL
/// more only made groups smaller: at 32 connections a create cost 217,000 instructions with one,
/// 224,000 with two and 253,000 with eight (`bench/callgrind_writes.sh`), for no more creates.
const CREATE_SLOTS: usize = 1;

/// Called with each operation's name and duration (for metrics).
pub type Observer = Arc<dyn Fn(&'static str, Duration) + Send + Sync>;

/// A database engine as the store needs it; a clone shares the engine (a pool, a writer).
pub trait Backend: Clone + Send + Sync + 'static {
    /// The SQL dialect its connections speak.
    const DIALECT: Dialect;
    /// The connection of a write transaction.
    type Tx: Conn;
    /// A connection for reads outside a transaction.
    type Reader: Conn;

    /// Runs `f` in one transaction and answers only once it is durably committed; an error
    /// from `f` rolls back everything it did.
    fn write<R, F>(&self, f: F) -> impl Future<Output = Result<R, StoreError>> + Send
    where
        R: Send + 'static,
        F: for<'t> FnOnce(&'t mut Self::Tx) -> BoxFuture<'t, Result<R, StoreError>> + Send + 'static;

    /// Runs `f` on a reader.
    fn read<R, F>(&self, f: F) -> impl Future<Output = Result<R, StoreError>> + Send
    where
        R: Send + 'static,
        F: for<'t> FnOnce(&'t mut Self::Reader) -> BoxFuture<'t, Result<R, StoreError>> + Send + 'static;

    /// [`Backend::read`] for statements whose best plan is the same whatever their arguments
    /// (reads by id, see `coalesce`). PostgreSQL plans a statement over an array again on every
    /// execution, since each array's length changes its estimate; there these run on
    /// connections that plan each statement once.
    fn read_by_id<R, F>(&self, f: F) -> impl Future<Output = Result<R, StoreError>> + Send
    where
        R: Send + 'static,
        F: for<'t> FnOnce(&'t mut Self::Reader) -> BoxFuture<'t, Result<R, StoreError>> + Send + 'static,
    {
        self.read(f)
    }

    /// Idle and busy connections of the reader pool.
    fn pool_state(&self) -> Option<(u32, u32)>;

    /// A signal that changes whenever another process sends a notification on `channel`;
    /// `None` when no other process writes this database.
    fn listen(&self, channel: &'static str) -> Option<tokio::sync::watch::Receiver<u64>> {
        let _ = channel;
        None
    }
}

/// Tollgate's data on one backend.
pub struct Db<B> {
    pub(crate) backend: B,
    observer: Option<Observer>,
    pub(crate) ctx: WriteCtx,
    /// Bumped after every committed write, so the event stream looks for new events at once.
    pub(crate) committed: Arc<tokio::sync::watch::Sender<u64>>,
    /// Credentials and token checks in memory, when the server asked for them.
    pub(crate) auth_cache: Option<Arc<AuthCache>>,
    /// Reads by id folded together, when the server asked for it (`Db::with_read_coalescing`).
    pub(crate) reads: Option<Arc<ReadCoalescer>>,
    /// Concurrent single creates, folded into shared transactions (see `coalesce_creates`).
    pub(crate) creates: Arc<CreateCoalescer>,
}

/// What the rules of a resource write need beyond the transaction.
#[derive(Clone, Default)]
pub struct WriteCtx {
    /// Keep events for the message queue (else they are born published).
    pub publish: bool,
    /// Compiled resource types.
    pub types: Arc<crate::types::TypeCache>,
}

impl<B: Clone> Clone for Db<B> {
    fn clone(&self) -> Self {
        Self {
            backend: self.backend.clone(),
            observer: self.observer.clone(),
            ctx: self.ctx.clone(),
            committed: self.committed.clone(),
            auth_cache: self.auth_cache.clone(),
            reads: self.reads.clone(),
            creates: self.creates.clone(),
        }
    }
}

impl<B: Backend> Db<B> {
    /// The store over `backend`.
    pub fn new(backend: B) -> Self {
        Self {
            backend,
            observer: None,
            ctx: WriteCtx::default(),
            committed: Arc::new(tokio::sync::watch::Sender::new(0)),
            auth_cache: None,
            reads: None,
            creates: Arc::new(CreateCoalescer::new(CREATE_SLOTS)),
        }
    }

    /// The backend underneath.
    pub fn backend(&self) -> &B {
        &self.backend
    }

    /// Reports every operation's duration to `observer`.
    pub fn with_observer(mut self, observer: Observer) -> Self {
        self.observer = Some(observer);
        self
    }

    /// Keeps events in the outbox until a message-queue sink marks them published.
    pub fn with_event_publishing(mut self, publish: bool) -> Self {
        self.ctx.publish = publish;
        self
    }

    /// Keeps credentials and token checks in memory (see [`AuthCache`]); they are trusted only
    /// while [`Db::spawn_credential_watch`] keeps confirming that nothing changed.
    pub fn with_auth_cache(mut self) -> Self {
        self.auth_cache = Some(Arc::new(AuthCache::default()));
        self
    }

    /// Starts the task that reads the credential change counter every [`auth_cache::POLL`] and
    /// at once on a notification, emptying the cache when it moved; `None` without a cache.
    pub fn spawn_credential_watch(&self) -> Option<tokio::task::JoinHandle<()>> {
        let cache = self.auth_cache.clone()?;
        let backend = self.backend.clone();
        Some(tokio::spawn(async move {
            let mut notified = backend.listen(auth_cache::CHANNEL);
            let mut tick = tokio::time::interval(auth_cache::POLL);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                let feed_ended = match notified.as_mut() {
                    Some(n) => tokio::select! {
                        _ = tick.tick() => false,
                        changed = n.changed() => changed.is_err(),
                    },
                    None => {
                        tick.tick().await;
                        false
                    }
                };
                if feed_ended {
                    notified = None;
                }
                let started = Instant::now();
                let read = backend.read(|c| Box::pin(async move { c.fetch_one::<i64>(&CHANGES, &[]).await })).await;
                match read {
                    Ok(version) => cache.confirm(version, started),
                    Err(e) => {
                        if cache.stats().fresh {
                            tracing::warn!(error = %e, "cannot read credential changes; reading credentials through");
                        }
                        cache.lapse();
                    }
                }
            }
        }))
    }

    /// Forgets the credentials kept in memory: a change to them went through this node.
    pub(crate) fn credentials_changed(&self) {
        if let Some(cache) = &self.auth_cache {
            cache.empty();
        }
    }

    /// Runs the write `op` in one transaction.
    pub(crate) async fn write<R, F>(&self, op: &'static str, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: for<'t> FnOnce(&'t mut B::Tx) -> BoxFuture<'t, Result<R, StoreError>> + Send + 'static,
    {
        self.timed(op, self.write_unobserved(f)).await
    }

    /// [`Db::write`] without an observation, for a caller that observes its own (a coalesced
    /// create counts once per caller, not once per transaction).
    pub(crate) async fn write_unobserved<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: for<'t> FnOnce(&'t mut B::Tx) -> BoxFuture<'t, Result<R, StoreError>> + Send + 'static,
    {
        let out = self.backend.write(f).await;
        if out.is_ok() {
            self.committed.send_modify(|n| *n = n.wrapping_add(1));
        }
        out
    }

    /// Runs the read `op`.
    pub(crate) async fn read<R, F>(&self, op: &'static str, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: for<'t> FnOnce(&'t mut B::Reader) -> BoxFuture<'t, Result<R, StoreError>> + Send + 'static,
    {
        self.timed(op, self.backend.read(f)).await
    }

    /// The one decorator: every operation's duration goes to the observer under its name.
    pub(crate) async fn timed<R>(&self, op: &'static str, work: impl Future<Output = R>) -> R {
        let started = Instant::now();
        let out = work.await;
        self.observe(op, started);
        out
    }

    /// Reports `op`, begun at `started`, to the observer.
    pub(crate) fn observe(&self, op: &'static str, started: Instant) {
        if let Some(observe) = &self.observer {
            observe(op, started.elapsed());
        }
    }
}
