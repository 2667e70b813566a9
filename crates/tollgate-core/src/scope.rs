//! Scopes: what a credential may do. Independent of each other: `admin` manages credentials
//! and does not imply `resource:read` or `resource:write`.

use std::collections::BTreeSet;
use std::fmt;

/// One permission.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    /// Read resources.
    ResourceRead,
    /// Create, change and delete resources.
    ResourceWrite,
    /// Manage the project's credentials.
    Admin,
}

impl Scope {
    /// Every scope.
    pub const ALL: [Scope; 3] = [Scope::ResourceRead, Scope::ResourceWrite, Scope::Admin];

    /// The wire form, e.g. `resource:read`.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::ResourceRead => "resource:read",
            Scope::ResourceWrite => "resource:write",
            Scope::Admin => "admin",
        }
    }

    /// Parses the wire form.
    pub fn parse(s: &str) -> Option<Self> {
        Scope::ALL.into_iter().find(|sc| sc.as_str() == s)
    }
}

impl serde::Serialize for Scope {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// An enum of [`Scope::ALL`]'s wire forms.
impl utoipa::PartialSchema for Scope {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        crate::schema::string_enum(Scope::ALL.iter().map(|s| s.as_str()), "What a credential may do.")
    }
}

impl utoipa::ToSchema for Scope {}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A non-empty set of scopes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Scopes(BTreeSet<Scope>);

impl Scopes {
    /// Every scope: what the first admin key gets.
    pub fn all() -> Self {
        Self(Scope::ALL.into_iter().collect())
    }

    /// Parses scopes separated by commas and/or spaces; refuses unknown and empty sets.
    pub fn parse(s: &str) -> Result<Self, String> {
        let mut set = BTreeSet::new();
        for part in s.split([',', ' ']).filter(|p| !p.is_empty()) {
            let scope = Scope::parse(part)
                .ok_or_else(|| format!("unknown scope `{part}` (expected resource:read, resource:write or admin)"))?;
            set.insert(scope);
        }
        if set.is_empty() {
            return Err("at least one scope is required".into());
        }
        Ok(Self(set))
    }

    /// Whether `scope` is granted.
    pub fn contains(&self, scope: Scope) -> bool {
        self.0.contains(&scope)
    }

    /// The scopes in a stable order.
    pub fn iter(&self) -> impl Iterator<Item = Scope> + '_ {
        self.0.iter().copied()
    }

    /// Space-separated, as OAuth writes scopes.
    pub fn to_space_separated(&self) -> String {
        self.iter().map(Scope::as_str).collect::<Vec<_>>().join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lists() {
        let s = Scopes::parse("resource:read, admin").unwrap();
        assert!(s.contains(Scope::Admin) && s.contains(Scope::ResourceRead));
        assert!(!s.contains(Scope::ResourceWrite));
        assert_eq!(s.to_space_separated(), "resource:read admin");
        assert!(Scopes::parse("").is_err());
        assert!(Scopes::parse("root").is_err());
    }
}
