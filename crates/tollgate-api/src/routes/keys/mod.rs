//! `/v1/keys`: API keys of the caller's project, for `admin` credentials.

pub mod body;
pub mod create;
pub mod get;
pub mod list;
pub mod revoke;
pub mod rotate;
pub mod view;
