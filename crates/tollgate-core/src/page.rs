//! Listing: offset pages (`page`, `per_page`, `has_next`) and keyset pages (`cursor` in,
//! `next_cursor` out), with filters. `ListQuery::parse` reads raw query pairs and refuses
//! anything it does not know, so a typo in a filter never silently lists everything.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use crate::ids::ResourceId;
use crate::resource::{is_attribute_key, is_identifier, ResourceStatus, MAX_TYPE_CHARS};
use crate::validation::ValidationErrors;

/// Items per page when the client does not say.
pub const DEFAULT_PER_PAGE: u32 = 20;
/// Most items per page.
pub const MAX_PER_PAGE: u32 = 100;
/// Highest page number accepted, so that `page * per_page` never overflows an offset.
pub const MAX_PAGE: u32 = 1_000_000;
/// Most `attributes[KEY]` filters in one listing: each is a join or a predicate in the query,
/// and an unbounded number made the database refuse the statement ("Expression tree is too
/// large") with a 500.
pub const MAX_ATTRIBUTE_FILTERS: usize = 20;
const CURSOR_VERSION: &str = "v1:";

/// Where a page starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageMode {
    /// 1-based page number; cost grows with the offset.
    Offset {
        /// The page, from 1.
        page: u32,
    },
    /// After this id (exclusive); `None` is the first page. Cost is the same for every page.
    Cursor {
        /// The last id of the previous page.
        after: Option<ResourceId>,
    },
}

/// A parsed list request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery {
    /// Items per page, 1-100.
    pub per_page: u32,
    /// Offset or keyset.
    pub mode: PageMode,
    /// Only this `type`.
    pub kind: Option<String>,
    /// Only this `status`.
    pub status: Option<ResourceStatus>,
    /// Only resources whose attributes hold every one of these pairs.
    pub attributes: Vec<(String, String)>,
}

/// One page of a listing, in id order (creation order).
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// The items.
    pub items: Vec<T>,
    /// Whether another page follows.
    pub has_next: bool,
    /// The cursor for the next page, when there is one.
    pub next_cursor: Option<String>,
}

impl ListQuery {
    /// Parses `page`, `per_page`, `cursor`, `type`, `status` and `attributes[KEY]`.
    pub fn parse(pairs: &[(String, String)]) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let mut seen = std::collections::HashSet::new();
        let mut q = ListQuery {
            per_page: DEFAULT_PER_PAGE,
            mode: PageMode::Offset { page: 1 },
            kind: None,
            status: None,
            attributes: Vec::new(),
        };
        let (mut page, mut cursor) = (None, None);
        for (key, value) in pairs {
            if !seen.insert(key.as_str()) {
                errors.add(key.clone(), "given more than once");
                continue;
            }
            match key.as_str() {
                "page" => page = parse_number(key, value, 1, MAX_PAGE, &mut errors),
                "per_page" => {
                    if let Some(n) = parse_number(key, value, 1, MAX_PER_PAGE, &mut errors) {
                        q.per_page = n;
                    }
                }
                "cursor" => match decode_cursor(value) {
                    Some(id) => cursor = Some(id),
                    None if value.is_empty() => cursor = None,
                    None => errors.add("cursor", "is not a cursor this server issued"),
                },
                "type" if is_identifier(value, MAX_TYPE_CHARS) => q.kind = Some(value.clone()),
                "type" => errors.add("type", "must be a lower-case identifier"),
                "status" => match ResourceStatus::parse(value) {
                    Some(s) => q.status = Some(s),
                    None => errors.add("status", "must be \"active\" or \"archived\""),
                },
                _ => match attribute_filter_key(key) {
                    Some(_) if q.attributes.len() == MAX_ATTRIBUTE_FILTERS => {
                        errors.add("attributes", format!("at most {MAX_ATTRIBUTE_FILTERS} filters"));
                        // One message is enough; the rest of the filters are not looked at.
                        break;
                    }
                    Some(attr) => q.attributes.push((attr.to_owned(), value.clone())),
                    None => errors.add(key.clone(), "unknown query parameter"),
                },
            }
        }
        let cursor_given = seen.contains("cursor");
        q.mode = match (page, cursor_given) {
            (Some(_), true) => {
                errors.add("cursor", "cannot be combined with page");
                q.mode
            }
            (_, true) => PageMode::Cursor { after: cursor },
            (page, false) => PageMode::Offset { page: page.unwrap_or(1) },
        };
        errors.into_result(q)
    }
}

fn parse_number(key: &str, value: &str, min: u32, max: u32, errors: &mut ValidationErrors) -> Option<u32> {
    match value.parse::<u32>() {
        Ok(n) if (min..=max).contains(&n) => Some(n),
        _ => {
            errors.add(key, format!("must be a whole number from {min} to {max}"));
            None
        }
    }
}

fn attribute_filter_key(key: &str) -> Option<&str> {
    let inner = key.strip_prefix("attributes[")?.strip_suffix(']')?;
    is_attribute_key(inner).then_some(inner)
}

/// The opaque cursor that points after `id`.
pub fn encode_cursor(id: &ResourceId) -> String {
    URL_SAFE_NO_PAD.encode(format!("{CURSOR_VERSION}{id}"))
}

/// Reads a cursor made by [`encode_cursor`].
pub fn decode_cursor(s: &str) -> Option<ResourceId> {
    let bytes = URL_SAFE_NO_PAD.decode(s).ok()?;
    let text = std::str::from_utf8(&bytes).ok()?;
    ResourceId::parse(text.strip_prefix(CURSOR_VERSION)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(pairs: &[(&str, &str)]) -> Result<ListQuery, ValidationErrors> {
        let v: Vec<(String, String)> = pairs.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
        ListQuery::parse(&v)
    }

    #[test]
    fn per_page_bounds() {
        for bad in ["0", "101", "-1", "abc", "1e9", ""] {
            assert!(q(&[("per_page", bad)]).is_err(), "{bad}");
        }
        assert_eq!(q(&[("per_page", "100")]).unwrap().per_page, 100);
        assert_eq!(q(&[]).unwrap().per_page, DEFAULT_PER_PAGE);
    }

    #[test]
    fn filters_and_unknowns() {
        let l = q(&[("type", "widget"), ("attributes[colour]", "red"), ("status", "active")]).unwrap();
        assert_eq!(l.attributes, vec![("colour".into(), "red".into())]);
        assert!(q(&[("colour", "red")]).is_err());
        assert!(q(&[("attributes[bad key]", "x")]).is_err());
        assert!(q(&[("page", "1"), ("page", "2")]).is_err());
    }

    #[test]
    fn attribute_filters_are_capped() {
        let keys: Vec<String> = (0..=MAX_ATTRIBUTE_FILTERS).map(|i| format!("attributes[k{i}]")).collect();
        let pairs: Vec<(&str, &str)> = keys.iter().map(|k| (k.as_str(), "v")).collect();
        assert_eq!(q(&pairs[..MAX_ATTRIBUTE_FILTERS]).unwrap().attributes.len(), MAX_ATTRIBUTE_FILTERS);
        let err = q(&pairs).unwrap_err();
        assert_eq!(err.fields().get("attributes").map(String::as_str), Some("at most 20 filters"));
    }

    #[test]
    fn cursors() {
        let id = ResourceId::generate();
        let l = q(&[("cursor", &encode_cursor(&id))]).unwrap();
        assert_eq!(l.mode, PageMode::Cursor { after: Some(id) });
        assert_eq!(q(&[("cursor", "")]).unwrap().mode, PageMode::Cursor { after: None });
        assert!(q(&[("cursor", "garbage!")]).is_err());
        assert!(q(&[("cursor", ""), ("page", "2")]).is_err());
    }
}
