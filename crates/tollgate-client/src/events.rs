//! The events API: `GET /v1/events` (a page, and a stream of every page by cursor) and
//! `GET /v1/events/{id}`. The live stream is in `event_stream.rs`.

use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};
use reqwest::Method;
use serde::Deserialize;
use serde_json::Value;

use crate::event_stream::StreamParams;
use crate::transport::Call;
use crate::{Client, Error};

/// One change: the payload webhooks carry, with its id.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Event {
    /// `evt_` + a ULID; what `Last-Event-ID` resumes after.
    pub id: String,
    /// E.g. `resource.created`, `resource.updated`, `resource.deleted`.
    pub r#type: String,
    /// When the change was committed (RFC 3339, UTC).
    pub timestamp: String,
    /// The resource (for `resource.deleted`, its id).
    pub data: Value,
}

/// A page of events.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct EventPage {
    /// The events, in the order asked for.
    pub items: Vec<Event>,
    /// Whether another page follows.
    pub has_next: bool,
    /// Pass to [`EventParams::cursor`] for the next page; `None` on the last page.
    pub next_cursor: Option<String>,
}

/// The order of a listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EventOrder {
    /// Newest first (the server's default).
    #[default]
    Newest,
    /// Oldest first: commit order.
    Oldest,
}

/// Which events, shared by the listing and the stream: each setter narrows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EventFilter {
    pub(crate) types: Vec<String>,
    pub(crate) resource_id: Option<String>,
    pub(crate) resource_type: Option<String>,
    pub(crate) after: Option<String>,
    pub(crate) before: Option<String>,
}

impl EventFilter {
    pub(crate) fn query(&self, q: &mut Vec<(String, String)>) {
        let mut add = |k: &str, v: &str| q.push((k.to_owned(), v.to_owned()));
        if !self.types.is_empty() {
            add("type", &self.types.join(","));
        }
        for (k, v) in [
            ("resource_id", &self.resource_id),
            ("resource_type", &self.resource_type),
            ("after", &self.after),
            ("before", &self.before),
        ] {
            if let Some(v) = v {
                add(k, v);
            }
        }
    }
}

/// The filter setters, on [`EventParams`] and [`StreamParams`] alike.
macro_rules! filter_setters {
    ($t:ty) => {
        impl $t {
            /// Only events of this type (e.g. `resource.updated`); call again for several.
            pub fn r#type(mut self, event_type: impl Into<String>) -> Self {
                self.filter.types.push(event_type.into());
                self
            }
            /// Only events about this resource.
            pub fn resource_id(mut self, id: impl Into<String>) -> Self {
                self.filter.resource_id = Some(id.into());
                self
            }
            /// Only events about resources of this type.
            pub fn resource_type(mut self, resource_type: impl Into<String>) -> Self {
                self.filter.resource_type = Some(resource_type.into());
                self
            }
            /// Only events after this time (RFC 3339).
            pub fn after(mut self, time: impl Into<String>) -> Self {
                self.filter.after = Some(time.into());
                self
            }
            /// Only events before this time (RFC 3339).
            pub fn before(mut self, time: impl Into<String>) -> Self {
                self.filter.before = Some(time.into());
                self
            }
        }
    };
}
pub(crate) use filter_setters;

/// The query of `GET /v1/events`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EventParams {
    pub(crate) filter: EventFilter,
    order: EventOrder,
    limit: Option<u32>,
    cursor: Option<String>,
}

filter_setters!(EventParams);

impl EventParams {
    /// Every event, newest first, 50 a page.
    pub fn new() -> Self {
        Self::default()
    }

    /// The order.
    pub fn order(mut self, order: EventOrder) -> Self {
        self.order = order;
        self
    }

    /// Events per page, 1-100 (the server's default is 50).
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = Some(limit);
        self
    }

    /// The previous page's `next_cursor`.
    pub fn cursor(mut self, cursor: impl Into<String>) -> Self {
        self.cursor = Some(cursor.into());
        self
    }

    fn query(&self) -> Vec<(String, String)> {
        let mut q = Vec::new();
        self.filter.query(&mut q);
        if self.order == EventOrder::Oldest {
            q.push(("order".into(), "oldest".into()));
        }
        if let Some(limit) = self.limit {
            q.push(("limit".into(), limit.to_string()));
        }
        if let Some(cursor) = &self.cursor {
            q.push(("cursor".into(), cursor.clone()));
        }
        q
    }
}

/// The events of the client's project: `client.events()`.
#[derive(Debug, Clone, Copy)]
pub struct Events<'a> {
    pub(crate) client: &'a Client,
}

impl Client {
    /// The events API and the live stream.
    pub fn events(&self) -> Events<'_> {
        Events { client: self }
    }
}

impl Events<'_> {
    /// `GET /v1/events`: one page.
    pub async fn list(&self, params: &EventParams) -> Result<EventPage, Error> {
        let mut call = Call::new(Method::GET, "/v1/events");
        call.query = params.query();
        self.client.call(call).await
    }

    /// `GET /v1/events/{id}`.
    pub async fn get(&self, id: &str) -> Result<Event, Error> {
        if id.is_empty() {
            return Err(Error::Config("an event id must not be empty".into()));
        }
        let escaped: String = url::form_urlencoded::byte_serialize(id.as_bytes()).collect();
        self.client.call(Call::new(Method::GET, format!("/v1/events/{escaped}"))).await
    }

    /// Every event matching `params` from its `cursor` on (100 a page unless `limit` says
    /// otherwise), following `next_cursor` as the stream is polled.
    pub fn list_all(&self, params: EventParams) -> BoxStream<'static, Result<Event, Error>> {
        let client = self.client.clone();
        let first = EventParams { limit: Some(params.limit.unwrap_or(100)), ..params };
        stream::try_unfold(Some(first), move |next| {
            let client = client.clone();
            async move {
                let Some(params) = next else { return Ok(None) };
                let page = client.events().list(&params).await?;
                let following = match page.next_cursor {
                    Some(cursor) if page.has_next => Some(EventParams { cursor: Some(cursor), ..params }),
                    _ => None,
                };
                Ok(Some((stream::iter(page.items.into_iter().map(Ok)), following)))
            }
        })
        .try_flatten()
        .boxed()
    }

    /// `GET /v1/events/stream`: the live events as they are committed, reconnecting after
    /// `Last-Event-ID`; see [`StreamParams`].
    pub fn stream(&self, params: StreamParams) -> BoxStream<'static, Result<Event, Error>> {
        crate::event_stream::open(self.client.clone(), params)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_query_names_every_filter_once() {
        let p = EventParams::new()
            .r#type("resource.created")
            .r#type("resource.deleted")
            .resource_type("machine")
            .after("2026-01-01T00:00:00Z")
            .order(EventOrder::Oldest)
            .limit(10)
            .cursor("c1");
        let q = p.query();
        let q: Vec<(&str, &str)> = q.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(
            q,
            [
                ("type", "resource.created,resource.deleted"),
                ("resource_type", "machine"),
                ("after", "2026-01-01T00:00:00Z"),
                ("order", "oldest"),
                ("limit", "10"),
                ("cursor", "c1")
            ]
        );
    }
}
