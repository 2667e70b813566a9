//! Getting events out: the webhook dispatcher (Standard Webhooks signatures, retries with
//! backoff for more than 24 hours, one attempt per delivery across nodes) and the NATS
//! JetStream sink. Both read the outbox that resource writes fill in their own transactions,
//! so an acknowledged change is never without its event, and delivery is at least once.

pub mod dispatcher;
pub mod hub;
pub mod nats;
pub mod pruner;
pub mod ranges;
pub mod schedule;
pub mod signing;
pub mod target;

pub use dispatcher::{Dispatcher, DispatcherSettings};
pub use hub::{EventHub, HubSettings};
