//! Projects: the boundary that keeps one integration's data and credentials from another's.

use time::OffsetDateTime;

use crate::ids::ProjectId;

/// The project every fresh installation starts with.
pub const DEFAULT_PROJECT: &str = "default";

/// A project.
#[derive(Debug, Clone, PartialEq)]
pub struct Project {
    /// `prj_` + ULID.
    pub id: ProjectId,
    /// A lower-case identifier, unique.
    pub name: String,
    /// When it was created.
    pub created_at: OffsetDateTime,
}
