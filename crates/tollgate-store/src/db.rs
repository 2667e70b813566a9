//! [`Db`], the one implementation of every storage trait, over a [`Backend`] that supplies only
//! connections: a reader, and a write transaction that commits durably before it answers.
//! Every operation passes through [`Db::read`] or [`Db::write`], which is also where its
//! duration is observed, so timing is one decorator rather than a line in every method.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::BoxFuture;

use crate::conn::{Conn, Dialect};
use crate::StoreError;

/// Called with each operation's name and duration (for metrics).
pub type Observer = Arc<dyn Fn(&'static str, Duration) + Send + Sync>;

/// A database engine as the store needs it.
pub trait Backend: Send + Sync + 'static {
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

    /// Runs the write `op` in one transaction.
    pub(crate) async fn write<R, F>(&self, op: &'static str, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: for<'t> FnOnce(&'t mut B::Tx) -> BoxFuture<'t, Result<R, StoreError>> + Send + 'static,
    {
        let out = self.timed(op, self.backend.write(f)).await;
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
    async fn timed<R>(&self, op: &'static str, work: impl Future<Output = R>) -> R {
        let started = Instant::now();
        let out = work.await;
        if let Some(observe) = &self.observer {
            observe(op, started.elapsed());
        }
        out
    }
}
