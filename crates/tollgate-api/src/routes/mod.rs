//! Handlers, one file per verb, grouped by area. `router.rs` is the table of contents.

pub mod console;
pub mod credentials;
pub mod events;
pub mod fallback;
pub mod health;
pub mod history;
pub mod metrics;
pub mod oauth;
pub mod resources;
pub mod types;
pub mod usage;
pub mod webhooks;
