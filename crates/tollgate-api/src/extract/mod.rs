//! Extractors that run before a handler's body: the authenticated principal with the scope the
//! route needs, then path, query and JSON body. Every rejection becomes the error envelope, so
//! a malformed request stops here, before any write.

pub mod auth;
pub mod failed_auth;
pub mod json;
pub mod path;
pub mod query;
pub mod rate_limit;
pub mod single_header;
pub mod unique_members;

pub use auth::{Admin, Any, Auth, Principal, Read, Write, WriteMany};
pub use json::{AppJson, HashedJson, MaybeJson};
pub use path::{CredentialPath, DeliveryPath, PathText, ResourcePath, WebhookPath};
pub use query::{NoQuery, QueryPairs};
