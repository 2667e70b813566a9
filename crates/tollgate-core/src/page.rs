//! Listing: offset pages (`page`, `per_page`, `has_next`) and keyset pages (`cursor` in,
//! `next_cursor` out), with filters. `ListQuery::parse` reads raw query pairs and refuses
//! anything it does not know, so a typo in a filter never silently lists everything.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use time::OffsetDateTime;

use crate::ids::ResourceId;
use crate::query::{decode_cursor as decode_sorted, parse_fields, parse_sort, Cursor, FieldPath, SortKey};
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
    /// After this item of the order (exclusive); `None` is the first page. Cost is the same
    /// for every page.
    Cursor {
        /// The last item of the previous page.
        after: Option<Cursor>,
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
    /// The order; empty is id order. The id is always the final tie-break.
    pub sort: Vec<SortKey>,
    /// Only resources created after this instant (exclusive).
    pub created_after: Option<OffsetDateTime>,
    /// Only resources created before this instant (exclusive).
    pub created_before: Option<OffsetDateTime>,
    /// Only resources last changed after this instant (exclusive).
    pub updated_after: Option<OffsetDateTime>,
    /// Only resources last changed before this instant (exclusive).
    pub updated_before: Option<OffsetDateTime>,
    /// Only these fields of each resource (`id` always).
    pub fields: Option<Vec<FieldPath>>,
    /// Count every matching resource (a scan), only when asked.
    pub include_total: bool,
    /// Full-text search (`q`): only resources holding every word and phrase, by relevance
    /// unless `sort` says otherwise.
    pub search: Option<crate::search::SearchQuery>,
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
    /// How many items match, when it was asked for.
    pub total: Option<u64>,
}

impl ListQuery {
    /// The first page in id order, `per_page` items.
    pub fn first(per_page: u32) -> Self {
        ListQuery {
            per_page,
            mode: PageMode::Cursor { after: None },
            kind: None,
            status: None,
            attributes: Vec::new(),
            sort: Vec::new(),
            created_after: None,
            created_before: None,
            updated_after: None,
            updated_before: None,
            fields: None,
            include_total: false,
            search: None,
        }
    }

    /// Parses `page`, `per_page`, `cursor`, `type`, `status`, `attributes[KEY]`, `sort`, the
    /// `created_`/`updated_` `after`/`before` ranges, `fields` and `include_total`.
    pub fn parse(pairs: &[(String, String)]) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let mut seen = std::collections::HashSet::new();
        let mut q = ListQuery { mode: PageMode::Offset { page: 1 }, ..ListQuery::first(DEFAULT_PER_PAGE) };
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
                "cursor" => cursor = Some(value.clone()).filter(|v| !v.is_empty()),
                "sort" => match parse_sort(value) {
                    Ok(keys) => q.sort = keys,
                    Err(e) => errors.add("sort", e),
                },
                "fields" => match parse_fields(value) {
                    Ok(fields) => q.fields = Some(fields),
                    Err(e) => errors.add("fields", e),
                },
                "q" => match crate::search::SearchQuery::parse(value) {
                    Ok(search) => q.search = Some(search),
                    Err(e) => errors.add("q", e),
                },
                "include_total" => match value.as_str() {
                    "true" => q.include_total = true,
                    "false" => q.include_total = false,
                    _ => errors.add("include_total", "must be true or false"),
                },
                "created_after" | "created_before" | "updated_after" | "updated_before" => {
                    match OffsetDateTime::parse(value, &time::format_description::well_known::Rfc3339) {
                        Ok(t) => *q.range_mut(key) = Some(t),
                        Err(_) => errors.add(key.clone(), "must be an RFC 3339 time, like 2026-01-31T12:00:00Z"),
                    }
                }
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
                    // No stored value holds a NUL (writes refuse it), and PostgreSQL cannot
                    // even compare one: refused, as a `type` or `status` nothing can match is.
                    Some(_) if value.contains('\0') => errors.add(key.clone(), "must not contain NUL characters"),
                    Some(attr) => q.attributes.push((attr.to_owned(), value.clone())),
                    None => errors.add(key.clone(), "unknown query parameter"),
                },
            }
        }
        let cursor_given = seen.contains("cursor");
        if cursor_given && q.search.is_some() && q.sort.is_empty() {
            errors.add("cursor", "results by relevance page by `page`; give a `sort` to page by cursor");
        }
        q.mode = match (page, cursor_given) {
            (Some(_), true) => {
                errors.add("cursor", "cannot be combined with page");
                q.mode
            }
            (_, true) => match cursor.map(|c| decode_sorted(&c, &q.sort)).transpose() {
                Ok(after) => PageMode::Cursor { after },
                Err(e) => {
                    errors.add("cursor", e);
                    q.mode
                }
            },
            (page, false) => PageMode::Offset { page: page.unwrap_or(1) },
        };
        errors.into_result(q)
    }
}

impl ListQuery {
    fn range_mut(&mut self, key: &str) -> &mut Option<OffsetDateTime> {
        match key {
            "created_after" => &mut self.created_after,
            "created_before" => &mut self.created_before,
            "updated_after" => &mut self.updated_after,
            _ => &mut self.updated_before,
        }
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
        let e = q(&[("attributes[k]", "a\0b")]).unwrap_err();
        assert_eq!(e.fields()["attributes[k]"], "must not contain NUL characters");
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
        assert_eq!(l.mode, PageMode::Cursor { after: Some(Cursor { values: Vec::new(), id }) });
        assert_eq!(q(&[("cursor", "")]).unwrap().mode, PageMode::Cursor { after: None });
        assert!(q(&[("cursor", "garbage!")]).is_err());
        assert!(q(&[("cursor", ""), ("page", "2")]).is_err());
    }
}
