//! The event log as clients read it: an event with its place in commit order (`seq`), the
//! filters `GET /v1/events` and the live stream share, and the list request with its cursor.
//! Parsing refuses unknown parameters, like every other listing.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::ids::ProjectId;
use crate::validation::ValidationErrors;
use crate::webhook::{EVENT_TYPES, TEST_EVENT};

/// Events per page when the client does not say.
pub const DEFAULT_LIMIT: u32 = 50;
/// Most events per page.
pub const MAX_LIMIT: u32 = 100;
/// Most `type` values one filter names.
pub const MAX_TYPES: usize = 20;
const CURSOR_VERSION: &str = "e1:";

/// An event as the log keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct LoggedEvent {
    /// Its place in commit order: a later commit never has a smaller `seq` than one already read.
    pub seq: i64,
    /// `evt_` + ULID.
    pub id: String,
    /// The project it happened in.
    pub project_id: ProjectId,
    /// E.g. `resource.updated`.
    pub kind: String,
    /// The resource it is about, if any.
    pub resource_id: Option<String>,
    /// That resource's type, if any.
    pub resource_type: Option<String>,
    /// When it was recorded.
    pub created_at: OffsetDateTime,
    /// The webhook payload `{"type","timestamp","data"}`.
    pub payload: String,
}

impl LoggedEvent {
    /// The wire form: the webhook payload with the event's `id` first.
    pub fn to_json(&self) -> String {
        let rest = self.payload.trim_start().strip_prefix('{').unwrap_or("}");
        let sep = if rest.trim_start().starts_with('}') { "" } else { "," };
        format!("{{\"id\":\"{}\"{sep}{rest}", self.id)
    }

    /// The Server-Sent Events frame of the event: `id:`, `event:` and `data:` (the JSON, which is
    /// compact and so one line), then the blank line that ends it.
    pub fn sse_frame(&self) -> String {
        format!("id: {}\nevent: {}\ndata: {}\n\n", self.id, self.kind, self.to_json())
    }
}

/// Which events a listing or a stream wants.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventFilter {
    /// Only these types (any of them); empty for all.
    pub types: Vec<String>,
    /// Only events about this resource.
    pub resource_id: Option<String>,
    /// Only events about resources of this type.
    pub resource_type: Option<String>,
    /// Only events recorded at or after this time.
    pub after: Option<OffsetDateTime>,
    /// Only events recorded before this time.
    pub before: Option<OffsetDateTime>,
}

impl EventFilter {
    /// Whether `e` passes (its project is checked by the caller). A `webhook.test` event is
    /// for its one endpoint, not a change of the project's: no filter passes it.
    pub fn matches(&self, e: &LoggedEvent) -> bool {
        (if self.types.is_empty() { e.kind != TEST_EVENT } else { self.types.contains(&e.kind) })
            && self.resource_id.as_ref().is_none_or(|r| e.resource_id.as_ref() == Some(r))
            && self.resource_type.as_ref().is_none_or(|t| e.resource_type.as_ref() == Some(t))
            && self.after.is_none_or(|a| e.created_at >= a)
            && self.before.is_none_or(|b| e.created_at < b)
    }

    /// Reads one filter parameter; `false` when `key` is not a filter.
    fn take(&mut self, key: &str, value: &str, errors: &mut ValidationErrors) -> bool {
        match key {
            "type" => {
                let types: Vec<String> = value.split(',').map(|t| t.trim().to_owned()).collect();
                // A name no event carries is a typo that would match nothing, silently.
                if types.len() > MAX_TYPES || types.iter().any(|t| !EVENT_TYPES.contains(&t.as_str())) {
                    errors
                        .add("type", format!("must be event types among {}, comma-separated", EVENT_TYPES.join(", ")));
                } else {
                    self.types = types;
                }
            }
            "resource_id" if crate::ResourceId::is_valid(value) => self.resource_id = Some(value.to_owned()),
            // A malformed id would match nothing, silently.
            "resource_id" => errors.add("resource_id", "must be a resource id (res_ + ULID)"),
            "resource_type" if crate::resource::is_identifier(value, crate::resource::MAX_TYPE_CHARS) => {
                self.resource_type = Some(value.to_owned());
            }
            "resource_type" => errors.add("resource_type", "must be a lower-case identifier"),
            "after" | "before" => match OffsetDateTime::parse(value, &Rfc3339) {
                Ok(t) if key == "after" => self.after = Some(t),
                Ok(t) => self.before = Some(t),
                Err(_) => errors.add(key, "must be an RFC 3339 time like 2026-01-31T12:00:00Z"),
            },
            _ => return false,
        }
        true
    }
}

/// Reads the filter parameters and the others `other` takes (`false`: not one of them), each
/// at most once; a time range must not be empty. Shared by the list and the live stream, so that
/// both refuse the same things.
fn parse_with(
    pairs: &[(String, String)],
    mut other: impl FnMut(&str, &str, &mut ValidationErrors) -> bool,
) -> Result<EventFilter, ValidationErrors> {
    let mut errors = ValidationErrors::new();
    let mut seen = std::collections::HashSet::new();
    let mut filter = EventFilter::default();
    for (key, value) in pairs {
        if !seen.insert(key.as_str()) {
            errors.add(key.clone(), "given more than once");
        } else if !filter.take(key, value, &mut errors) && !other(key, value, &mut errors) {
            errors.add(key.clone(), "unknown query parameter");
        }
    }
    if let (Some(after), Some(before)) = (filter.after, filter.before) {
        if after >= before {
            errors.add("before", "must be later than `after`");
        }
    }
    errors.into_result(filter)
}

/// The order of a listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EventOrder {
    /// Most recent first (the default).
    #[default]
    NewestFirst,
    /// In commit order.
    OldestFirst,
}

/// A parsed `GET /v1/events`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventQuery {
    /// The filters.
    pub filter: EventFilter,
    /// The order.
    pub order: EventOrder,
    /// Events per page, 1-100.
    pub limit: u32,
    /// Continue after this `seq` (exclusive), in `order`.
    pub after_seq: Option<i64>,
}

impl EventQuery {
    /// Parses `limit`, `order` (`newest` or `oldest`), `cursor` and the filters.
    pub fn parse(pairs: &[(String, String)]) -> Result<Self, ValidationErrors> {
        let (mut order, mut limit, mut after_seq) = (EventOrder::default(), DEFAULT_LIMIT, None);
        let filter = parse_with(pairs, |key, value, errors| {
            match key {
                "limit" => match value.parse::<u32>() {
                    Ok(n) if (1..=MAX_LIMIT).contains(&n) => limit = n,
                    _ => errors.add("limit", format!("must be a whole number from 1 to {MAX_LIMIT}")),
                },
                "order" => match value {
                    "newest" => order = EventOrder::NewestFirst,
                    "oldest" => order = EventOrder::OldestFirst,
                    _ => errors.add("order", "must be \"newest\" or \"oldest\""),
                },
                "cursor" if value.is_empty() => {}
                "cursor" => match decode_cursor(value) {
                    Some(seq) => after_seq = Some(seq),
                    None => errors.add("cursor", "is not a cursor this server issued"),
                },
                _ => return false,
            }
            true
        })?;
        Ok(EventQuery { filter, order, limit, after_seq })
    }
}

/// A parsed `GET /v1/events/stream`: the filters and the `last_event_id` query parameter.
pub fn parse_stream_query(pairs: &[(String, String)]) -> Result<(EventFilter, Option<String>), ValidationErrors> {
    let mut last = None;
    let filter = parse_with(pairs, |key, value, errors| {
        match key {
            "last_event_id" if is_event_id(value) => last = Some(value.to_owned()),
            "last_event_id" => errors.add("last_event_id", "must be an event id (evt_...)"),
            _ => return false,
        }
        true
    })?;
    Ok((filter, last))
}

/// Whether `s` is an event id: `evt_` + a ULID in its canonical upper-case spelling (as the
/// server mints them), so that one event has one id, as a resource does.
pub fn is_event_id(s: &str) -> bool {
    crate::ids::is_prefixed_ulid(s, "evt_")
}

/// When the event `id` was minted (its ULID's time), if it is an event id.
pub fn event_id_time(id: &str) -> Option<OffsetDateTime> {
    let ulid = ulid::Ulid::from_string(id.strip_prefix("evt_")?).ok()?;
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ulid.timestamp_ms()) * 1_000_000).ok()
}

/// The opaque cursor after `seq`.
pub fn encode_cursor(seq: i64) -> String {
    URL_SAFE_NO_PAD.encode(format!("{CURSOR_VERSION}{seq}"))
}

fn decode_cursor(s: &str) -> Option<i64> {
    let bytes = URL_SAFE_NO_PAD.decode(s).ok()?;
    std::str::from_utf8(&bytes).ok()?.strip_prefix(CURSOR_VERSION)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(pairs: &[(&str, &str)]) -> Result<EventQuery, ValidationErrors> {
        let v: Vec<(String, String)> = pairs.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
        EventQuery::parse(&v)
    }

    #[test]
    fn parses_filters_order_and_cursor() {
        let c = encode_cursor(42);
        let parsed = q(&[("type", "resource.created,resource.deleted"), ("order", "oldest"), ("cursor", &c)]).unwrap();
        assert_eq!(parsed.filter.types, ["resource.created", "resource.deleted"]);
        assert_eq!(parsed.order, EventOrder::OldestFirst);
        assert_eq!(parsed.after_seq, Some(42));
        assert!(q(&[("after", "2026-01-01T00:00:00Z")]).unwrap().filter.after.is_some());
        for bad in
            [("limit", "0"), ("limit", "101"), ("order", "up"), ("cursor", "x"), ("after", "yesterday"), ("typo", "1")]
        {
            assert!(q(&[bad]).is_err(), "{bad:?}");
        }
    }

    /// The list and the live stream refuse the same filters: unknown types, an empty time range,
    /// a parameter given twice; each also refuses the other's own parameters.
    #[test]
    fn the_list_and_the_stream_refuse_the_same_filters() {
        let stream = |pairs: &[(&str, &str)]| {
            let v: Vec<(String, String)> = pairs.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
            parse_stream_query(&v)
        };
        let bad: [&[(&str, &str)]; 5] = [
            &[("type", "resource.creatd")],
            &[("type", "resource.created,webhook.test")],
            &[("after", "2026-12-02T00:00:00Z"), ("before", "2026-12-01T00:00:00Z")],
            &[("after", "2026-12-01T00:00:00Z"), ("before", "2026-12-01T00:00:00Z")],
            &[("type", "resource.created"), ("type", "resource.deleted")],
        ];
        for pairs in bad {
            let (list, live) = (q(pairs).unwrap_err(), stream(pairs).unwrap_err());
            assert_eq!(list.fields(), live.fields(), "{pairs:?}");
        }
        let good =
            [("type", "resource.updated"), ("after", "2026-12-01T00:00:00Z"), ("before", "2026-12-02T00:00:00Z")];
        assert_eq!(q(&good).unwrap().filter, stream(&good).unwrap().0);
        assert!(stream(&[("limit", "5")]).is_err() && q(&[("last_event_id", "evt_x")]).is_err());
        let id = "evt_01M96FS1BZTT77YH7CC6CP6WZN";
        assert_eq!(stream(&[("last_event_id", id)]).unwrap().1.as_deref(), Some(id));
    }

    #[test]
    fn wire_form_puts_the_id_first() {
        let e = LoggedEvent {
            seq: 1,
            id: "evt_1".into(),
            project_id: ProjectId::generate(),
            kind: "resource.created".into(),
            resource_id: None,
            resource_type: None,
            created_at: OffsetDateTime::UNIX_EPOCH,
            payload: r#"{"type":"resource.created","data":{}}"#.into(),
        };
        let v: serde_json::Value = serde_json::from_str(&e.to_json()).unwrap();
        assert_eq!(v["id"], "evt_1");
        assert_eq!(v["type"], "resource.created");
        // The stream passes changes, never a webhook's test event, whatever its filter.
        let test = LoggedEvent { kind: TEST_EVENT.into(), ..e.clone() };
        let (all, created) = (EventFilter::default(), q(&[("type", "resource.created")]).unwrap().filter);
        assert!(all.matches(&e) && created.matches(&e));
        assert!(!all.matches(&test) && !created.matches(&test));
    }

    #[test]
    fn event_ids_carry_their_time() {
        let id = format!("evt_{}", ulid::Ulid::new());
        assert!(is_event_id(&id));
        assert!(!is_event_id("evt_nope"));
        // One spelling: lower case, and a first digit past 7 (beyond 128 bits), are not ids.
        assert!(!is_event_id(&id.to_lowercase()));
        assert!(!is_event_id(&format!("evt_8{}", &id[5..])));
        let t = event_id_time(&id).unwrap();
        assert!((OffsetDateTime::now_utc() - t).whole_seconds().abs() < 5);
    }
}
