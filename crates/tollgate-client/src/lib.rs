//! The Rust client for Tollgate's resource API, with the same surface as the Python and Node.js
//! SDKs: built from an API key or an OAuth 2.0 client id and secret (the token is fetched and
//! renewed before it expires), typed errors, retries with exponential backoff and full jitter,
//! an `Idempotency-Key` on every create and update, a stream that pages through every resource
//! by cursor, full-text search ([`ListParams::q`]), resource types with a JSON Schema
//! ([`Client::create_type`]), atomic batches ([`Client::batch`]), the events API and its live stream ([`Client::events`]: a stream of [`Event`]s
//! that reconnects and resumes after `Last-Event-ID`), and [`Client::request`] for the
//! endpoints without a typed method.
//!
//! ```no_run
//! use tollgate_client::{Client, NewResource};
//!
//! # async fn run() -> Result<(), tollgate_client::Error> {
//! // TOLLGATE_ENDPOINT and TOLLGATE_API_KEY (or TOLLGATE_CLIENT_ID and TOLLGATE_CLIENT_SECRET).
//! let client = Client::from_env()?;
//! let created = client.create(&NewResource::new("Build server", "machine").attribute("region", "eu-west-1")).await?;
//! let fetched = client.get(&created.id).await?;
//! assert_eq!(fetched.version, 1);
//! # Ok(())
//! # }
//! ```

mod auth;
mod batch;
mod config;
mod error;
mod event_stream;
mod events;
mod pagination;
mod raw;
mod resource_types;
mod resources;
mod retry;
mod retry_after;
mod sse;
mod transport;
mod types;

pub use batch::{BatchItem, BatchOp, BatchResult, MAX_BATCH_OPERATIONS};
pub use config::{ClientBuilder, DEFAULT_ENDPOINT};
pub use error::{ApiError, Error, ErrorKind, FieldError};
pub use event_stream::StreamParams;
pub use events::{Event, EventOrder, EventPage, EventParams, Events};
pub use raw::RawRequest;
pub use reqwest::Method;
pub use resource_types::{AttributeRule, ResourceType, TypeDefinition};
pub use retry::RetryPolicy;
pub use types::{ListParams, NewResource, Resource, ResourcePage, ResourcePatch, Status};

/// The version sent in the `User-Agent` header (`tollgate-rust/VERSION`).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// A Tollgate client. Cheap to clone: clones share one connection pool and one OAuth token.
#[derive(Clone)]
pub struct Client {
    inner: std::sync::Arc<transport::Transport>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the credential.
        f.debug_struct("Client").field("endpoint", &self.inner.endpoint).finish_non_exhaustive()
    }
}

impl Client {
    /// A builder; see [`ClientBuilder`] for what falls back to the environment.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// A client configured entirely from the environment: `TOLLGATE_ENDPOINT` (default
    /// [`DEFAULT_ENDPOINT`]) and `TOLLGATE_API_KEY`, or `TOLLGATE_CLIENT_ID` and
    /// `TOLLGATE_CLIENT_SECRET`.
    pub fn from_env() -> Result<Self, Error> {
        Self::builder().build()
    }

    /// The endpoint requests go to.
    pub fn endpoint(&self) -> &str {
        &self.inner.endpoint
    }
}
