//! Handlers, one file per verb, grouped by area. `router.rs` is the table of contents.

pub mod fallback;
pub mod health;
pub mod keys;
pub mod resources;
