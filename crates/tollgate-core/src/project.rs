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

/// Most characters in a project name.
pub const MAX_PROJECT_NAME_CHARS: usize = 64;

/// A valid project name: a lower-case identifier (`[a-z][a-z0-9_]*`, at most 64 characters).
/// Names become a token of NATS subjects (`tollgate.<project>.<type>`), where `.` separates
/// tokens and `*` and `>` are wildcards, so none of those, nor whitespace, can ever be in one.
/// Every path that creates a project (the CLI, bootstrap, import) goes through [`ProjectName::parse`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ProjectName(String);

impl ProjectName {
    /// Checks `name`.
    pub fn parse(name: &str) -> Result<Self, String> {
        if crate::resource::is_identifier(name, MAX_PROJECT_NAME_CHARS) {
            Ok(Self(name.to_owned()))
        } else {
            Err(format!(
                "project name {name:?} is not a lower-case identifier ([a-z][a-z0-9_]*, at most \
                 {MAX_PROJECT_NAME_CHARS} characters)"
            ))
        }
    }

    /// The project every installation starts with.
    pub fn default_project() -> Self {
        Self(DEFAULT_PROJECT.to_owned())
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for ProjectName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_would_change_a_nats_subject_are_refused() {
        for bad in ["a.b", "x>", "*", "a b", "a\tb", " a", "A", "", "1a", "a-b", &"a".repeat(65)] {
            assert!(ProjectName::parse(bad).is_err(), "{bad:?}");
        }
        for good in ["a", "default", "team_2", &"a".repeat(64)] {
            assert_eq!(ProjectName::parse(good).unwrap().as_str(), good);
        }
        assert_eq!(ProjectName::parse(DEFAULT_PROJECT), Ok(ProjectName::default_project()));
    }
}
