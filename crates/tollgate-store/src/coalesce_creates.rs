//! Write coalescing: concurrent single creates written as one transaction.
//!
//! Every single create passes through the [`CreateCoalescer`] of its [`Db`]. One that finds
//! fewer than `limit` create writes in flight takes a slot and runs alone, exactly as it would
//! without coalescing. One that finds every slot busy queues, and the slot that frees up next
//! takes everything queued (at most [`MOST`]) and writes it with the rules of a batch of creates
//! (`resources::create_all`): one change set per project, one statement per table, one commit.
//! No request ever waits on a timer: at low load every create runs alone, and under load the
//! creates that arrive while a write is in flight fold into the next one, so transactions, round
//! trips and commits fall as concurrency rises.
//!
//! Each caller gets the answer it would have had alone. A create refused by its own rules (its
//! type) gets its own error while the others commit. A failure of the group's transaction as a
//! whole (a database error, an idempotency key someone else recorded first) rolls all of it back
//! and sends every member back to run alone, so that one member's failure is never another's
//! answer. Nobody hears success before the commit that holds its create is durable: the
//! answers go out after [`Db`]'s write returns, which is after its commit.

use std::borrow::Cow;
use std::sync::Mutex;
use std::time::Instant;

use tokio::sync::oneshot;
use tollgate_core::{NewResource, ProjectId, Resource};

use crate::db::{Backend, Db};
use crate::resources::{create, create_all};
use crate::{IdempotencyClaim, StoreError};

/// Most creates folded into one transaction: enough to amortise the round trips and the commit,
/// few enough that PostgreSQL's arrays and one SQLite writer job stay small.
pub(crate) const MOST: usize = 128;

/// One caller's create, as it asked for it.
pub(crate) struct Create {
    pub(crate) project: ProjectId,
    pub(crate) new: NewResource,
    pub(crate) claim: Option<IdempotencyClaim>,
}

impl Clone for Create {
    fn clone(&self) -> Self {
        Self { project: self.project, new: self.new.clone(), claim: self.claim.clone() }
    }
}

/// A queued create and where its answer goes.
struct Waiting {
    create: Create,
    reply: oneshot::Sender<Reply>,
}

/// What a queued caller hears.
enum Reply {
    /// The group committed (or the create was refused by its rules): the answer.
    Done(Result<Resource, StoreError>),
    /// The group failed as a whole: run alone, for an answer of one's own.
    Alone(Create),
}

/// The queue of waiting creates and the count of create writes in flight.
pub(crate) struct CreateCoalescer {
    limit: usize,
    state: Mutex<State>,
}

/// Invariant: a non-empty queue means every slot is taken, so a free slot never leaves a
/// create waiting.
#[derive(Default)]
struct State {
    running: usize,
    queue: Vec<Waiting>,
}

impl CreateCoalescer {
    /// Allows `limit` create writes in flight (at least one).
    pub(crate) fn new(limit: usize) -> Self {
        Self { limit: limit.max(1), state: Mutex::default() }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes a slot (`Ok`: run alone), or queues `create` for the next group.
    fn enter(&self, create: Create) -> Result<Create, oneshot::Receiver<Reply>> {
        let mut state = self.state();
        if state.running < self.limit {
            state.running += 1;
            return Ok(create);
        }
        let (reply, answer) = oneshot::channel();
        state.queue.push(Waiting { create, reply });
        Err(answer)
    }

    /// The next group for a slot's holder, or `None` (and the slot given back) when none waits.
    fn next(&self) -> Option<Vec<Waiting>> {
        let mut state = self.state();
        if state.queue.is_empty() {
            state.running -= 1;
            return None;
        }
        // The oldest first, in the order they came: their events are written in that order.
        if state.queue.len() <= MOST {
            return Some(std::mem::take(&mut state.queue));
        }
        Some(state.queue.drain(..MOST).collect())
    }

    /// Whether creates wait for the slot being given up (it then stays taken, for a drainer).
    fn hand_off(&self) -> bool {
        let mut state = self.state();
        if state.queue.is_empty() {
            state.running -= 1;
            false
        } else {
            true
        }
    }
}

/// A taken slot. Given up on drop, even by a cancelled or panicking holder; if creates wait,
/// a task is started to write them, so that a caller's answer never waits for other callers'
/// groups, and a caller that goes away strands nobody.
struct Slot<'a, B: Backend> {
    db: Cow<'a, Db<B>>,
    held: bool,
}

impl<B: Backend> Slot<'_, B> {
    fn next(&mut self) -> Option<Vec<Waiting>> {
        let group = self.db.creates.next();
        self.held = group.is_some();
        group
    }
}

impl<B: Backend> Drop for Slot<'_, B> {
    fn drop(&mut self) {
        if self.held && self.db.creates.hand_off() {
            match tokio::runtime::Handle::try_current() {
                Ok(runtime) => drop(runtime.spawn(drain(self.db.clone().into_owned()))),
                // The runtime is going away, and the waiting callers with it.
                Err(_) => self.db.creates.state().running -= 1,
            }
        }
    }
}

/// Writes groups while creates wait, holding the slot handed to it.
async fn drain<B: Backend>(db: Db<B>) {
    let mut slot = Slot { db: Cow::Owned(db), held: true };
    while let Some(group) = slot.next() {
        write_group(&slot.db, group).await;
    }
}

/// One transaction for `group`; every member answered (see the module).
async fn write_group<B: Backend>(db: &Db<B>, group: Vec<Waiting>) {
    // The group's write consumes its creates; the originals stay for running alone.
    let creates: Vec<Create> = group.iter().map(|w| w.create.clone()).collect();
    let ctx = db.ctx.clone();
    let written = db.write_unobserved(move |tx| Box::pin(async move { create_all(tx, creates, &ctx).await })).await;
    match written {
        Ok(answers) => {
            for (w, answer) in group.into_iter().zip(answers) {
                let _ = w.reply.send(Reply::Done(answer));
            }
        }
        Err(e) => {
            tracing::debug!(error = %e, group.size = group.len(), "a coalesced create failed as a whole; each runs alone");
            for w in group {
                let _ = w.reply.send(Reply::Alone(w.create));
            }
        }
    }
}

impl<B: Backend> Db<B> {
    /// Creates a resource: alone when a slot is free, else in the next group (see the module).
    /// Observed once, as `create_resource`, from its arrival to its answer.
    pub(crate) async fn create_coalesced(&self, create: Create) -> Result<Resource, StoreError> {
        let started = Instant::now();
        let answer = match self.creates.enter(create) {
            Ok(create) => {
                let _slot = Slot { db: Cow::Borrowed(self), held: true };
                self.create_alone(create).await
            }
            Err(waiting) => match waiting.await {
                Ok(Reply::Done(answer)) => answer,
                Ok(Reply::Alone(create)) => self.create_alone(create).await,
                Err(e) => Err(StoreError::internal("waiting for a coalesced create", e)),
            },
        };
        self.observe("create_resource", started);
        answer
    }

    /// Today's single create: its own transaction.
    async fn create_alone(&self, Create { project, new, claim }: Create) -> Result<Resource, StoreError> {
        let ctx = self.ctx.clone();
        self.write_unobserved(move |tx| Box::pin(async move { create(tx, project, new, claim, &ctx).await })).await
    }
}

#[cfg(test)]
mod tests {
    use tollgate_core::ResourceStatus;

    use super::*;

    fn create(name: &str) -> Create {
        let new = NewResource {
            name: name.into(),
            kind: "machine".into(),
            status: ResourceStatus::Active,
            attributes: Default::default(),
            data: Default::default(),
        };
        Create { project: ProjectId::generate(), new, claim: None }
    }

    fn queued(c: &CreateCoalescer, name: &str) -> oneshot::Receiver<Reply> {
        match c.enter(create(name)) {
            Ok(_) => panic!("{name} found a free slot"),
            Err(answer) => answer,
        }
    }

    fn names(group: &[Waiting]) -> Vec<&str> {
        group.iter().map(|w| w.create.new.name.as_str()).collect()
    }

    #[test]
    fn a_free_slot_runs_alone_and_a_busy_one_queues_in_order() {
        let c = CreateCoalescer::new(1);
        assert!(c.enter(create("alone")).is_ok());
        let mut answers = Vec::new();
        for i in 0..MOST + 2 {
            answers.push(queued(&c, &i.to_string()));
        }
        // The oldest go first, at most MOST at a time; the slot stays taken while any wait.
        let first = c.next().unwrap();
        assert_eq!(first.len(), MOST);
        assert_eq!(names(&first)[..3], ["0", "1", "2"]);
        assert_eq!(names(&c.next().unwrap()), [MOST.to_string(), (MOST + 1).to_string()]);
        assert!(c.next().is_none(), "nothing waits: the slot is given back");
        assert!(c.enter(create("alone again")).is_ok());
        assert!(!c.hand_off(), "nothing waits: the slot is given back");
        assert_eq!(c.state().running, 0);
    }

    #[test]
    fn a_slot_given_up_while_creates_wait_stays_taken_for_them() {
        let c = CreateCoalescer::new(2);
        assert!(c.enter(create("a")).is_ok());
        assert!(c.enter(create("b")).is_ok());
        let _waiting = queued(&c, "c");
        assert!(c.hand_off(), "a create waits");
        assert_eq!(c.state().running, 2);
        assert_eq!(names(&c.next().unwrap()), ["c"]);
        assert!(c.next().is_none());
        assert!(!c.hand_off());
        assert_eq!(c.state().running, 0);
    }
}
