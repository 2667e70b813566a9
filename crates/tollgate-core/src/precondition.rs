//! `If-Match` preconditions on a resource's version (its ETag is the quoted version).

/// What an `If-Match` header asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Precondition {
    /// `If-Match: *`: the resource must exist.
    Exists,
    /// The current version must be one of these.
    Versions(Vec<i64>),
}

impl Precondition {
    /// Parses an `If-Match` value: `*` or a list of strong ETags like `"3"`. Weak tags never match
    /// (RFC 9110 uses strong comparison for `If-Match`), so they are kept as impossible versions.
    /// An ETag is opaque: it matches only when its text is exactly one [`etag`] gives, so `"01"`
    /// and `"+1"` name no version (an impossible one too), though they read as the number 1.
    pub fn parse_if_match(value: &str) -> Option<Self> {
        let value = value.trim();
        if value == "*" {
            return Some(Precondition::Exists);
        }
        let mut versions = Vec::new();
        for tag in value.split(',').map(str::trim) {
            if tag.starts_with("W/") {
                versions.push(-1);
                continue;
            }
            let inner = tag.strip_prefix('"')?.strip_suffix('"')?;
            versions.push(inner.parse::<i64>().ok().filter(|v| etag(*v) == tag).unwrap_or(-1));
        }
        (!versions.is_empty()).then_some(Precondition::Versions(versions))
    }

    /// Whether a resource at `version` satisfies it.
    pub fn holds(&self, version: i64) -> bool {
        match self {
            Precondition::Exists => true,
            Precondition::Versions(v) => v.contains(&version),
        }
    }
}

/// The ETag of a resource version.
pub fn etag(version: i64) -> String {
    format!("\"{version}\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses() {
        assert_eq!(Precondition::parse_if_match("*"), Some(Precondition::Exists));
        let p = Precondition::parse_if_match("\"2\", \"3\"").unwrap();
        assert!(p.holds(3) && !p.holds(4));
        assert!(!Precondition::parse_if_match("W/\"3\"").unwrap().holds(3));
        assert_eq!(Precondition::parse_if_match("3"), None);
    }

    /// The comparison is of the tags' text: no other spelling of the number matches.
    #[test]
    fn only_the_exact_tag_matches() {
        for other in ["\"01\"", "\"+1\"", "\"1.0\"", "\" 1\"", "\"1 \"", "\"0x1\""] {
            let p = Precondition::parse_if_match(other).unwrap();
            assert!(!p.holds(1), "{other}");
        }
        assert!(Precondition::parse_if_match("\"1\"").unwrap().holds(1));
        assert!(!Precondition::parse_if_match("\"-0\"").unwrap().holds(0));
    }
}
