//! CLI commands other than `serve`. They work on the data directory directly, whether or not
//! a server is running (SQLite in WAL mode lets both write safely).

pub mod credentials;
pub mod projects;
pub mod prune;
pub mod signing_keys;
pub mod transfer;
pub mod types;
pub mod usage;
pub mod verify;
pub mod webhooks;
