//! Tollgate's domain: identifiers, resources, credentials' metadata, scopes, pagination and
//! the one table of public error codes. Pure types and rules, no I/O, so every other crate
//! (storage, auth, HTTP, CLI) agrees on what a valid value is.

pub mod credential;
pub mod data;
pub mod duration;
pub mod error_code;
pub mod event_log;
pub mod ids;
pub mod json_out;
pub mod limit;
pub mod page;
pub mod patch;
pub mod precondition;
pub mod project;
pub mod query;
pub mod redact;
pub mod resource;
pub mod resource_type;
pub mod schema;
pub mod scope;
pub mod search;
pub mod text;
pub mod time_fmt;
pub mod validation;
pub mod view;
pub mod webhook;

pub use credential::{
    Credential, CredentialId, CredentialKind, CredentialLimits, CredentialState, LimitsPatch, NewCredential,
};
pub use data::Data;
pub use error_code::ErrorCode;
pub use ids::{ClientId, KeyId, ProjectId, RequestId, ResourceId};
pub use limit::{Limit, Quota, RouteClass};
pub use page::{ListQuery, Page, PageMode};
pub use precondition::Precondition;
pub use project::{Project, ProjectName};
pub use resource::{Attributes, NewResource, Resource, ResourceStatus};
pub use scope::{Scope, Scopes};
pub use validation::ValidationErrors;
