//! The live stream, `GET /v1/events/stream`, as a [`futures::Stream`] of [`Event`]s that
//! outlives connections: when one drops, ends, or goes quiet for longer than the server's
//! keep-alive allows, it reconnects with backoff and full jitter and sends the id of the last
//! event it yielded as `Last-Event-ID`, so the server replays what was missed: no gap and no
//! duplicate. A 429 is retried no sooner than its `Retry-After`; `410 GONE` (the id is older
//! than the retention) and every other refusal end the stream with that error. Dropping the
//! stream closes the connection.

use std::time::Duration;

use futures::stream::{self, BoxStream, StreamExt};
use reqwest::Method;

use crate::events::{filter_setters, Event, EventFilter};
use crate::retry::is_transient;
use crate::sse::{SseEvent, SseParser};
use crate::transport::Call;
use crate::{Client, Error};

/// The server sends a keep-alive comment every 15 s: three missed ones mean the connection is
/// dead even if no error says so (a NAT or proxy dropped it silently).
const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(45);

/// What to stream and how to recover.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamParams {
    pub(crate) filter: EventFilter,
    last_event_id: Option<String>,
    max_reconnects: Option<u32>,
    idle_timeout: Duration,
}

filter_setters!(StreamParams);

impl Default for StreamParams {
    fn default() -> Self {
        Self {
            filter: EventFilter::default(),
            last_event_id: None,
            max_reconnects: None,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
        }
    }
}

impl StreamParams {
    /// Every event from now on, reconnecting for as long as it takes.
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts after this event (one you saw before): the server replays the ones since.
    pub fn last_event_id(mut self, id: impl Into<String>) -> Self {
        self.last_event_id = Some(id.into());
        self
    }

    /// Gives up after this many failed reconnects in a row (none since the last event),
    /// yielding the last failure; unlimited by default.
    pub fn max_reconnects(mut self, reconnects: u32) -> Self {
        self.max_reconnects = Some(reconnects);
        self
    }

    /// Reconnects when nothing, not even a keep-alive, arrives for this long (default 45 s);
    /// also bounds the wait for the answer's headers.
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = timeout;
        self
    }
}

/// The stream over `client`.
pub(crate) fn open(client: Client, params: StreamParams) -> BoxStream<'static, Result<Event, Error>> {
    let last = params.last_event_id.clone();
    let state = State { client, params, last, body: None, parser: SseParser::default(), failures: 0, done: false };
    stream::unfold(state, |mut s| async move { s.next().await.map(|item| (item, s)) }).boxed()
}

struct State {
    client: Client,
    params: StreamParams,
    /// The id of the last event yielded: where a reconnect resumes.
    last: Option<String>,
    body: Option<reqwest::Response>,
    parser: SseParser,
    /// Reconnects since the last event: the backoff's exponent.
    failures: u32,
    done: bool,
}

impl State {
    async fn next(&mut self) -> Option<Result<Event, Error>> {
        while !self.done {
            if let Some(sse) = self.parser.next_event() {
                let event = decode(sse);
                match &event {
                    Ok(e) => (self.last, self.failures) = (Some(e.id.clone()), 0),
                    Err(_) => self.done = true,
                }
                return Some(event);
            }
            let Some(response) = &mut self.body else {
                match self.connect().await {
                    Ok(response) => self.body = Some(response),
                    Err(e) => match self.delay(&e) {
                        Some(wait) => tokio::time::sleep(wait).await,
                        None => {
                            self.done = true;
                            return Some(Err(e));
                        }
                    },
                }
                continue;
            };
            if let Ok(Ok(Some(bytes))) = tokio::time::timeout(self.params.idle_timeout, response.chunk()).await {
                self.parser.push(&bytes);
                continue;
            }
            // Ended by the server (a shutdown, or this client fell too far behind), broken, or
            // silent for too long: reconnect. Only a failing reconnect counts against
            // `max_reconnects`.
            self.body = None;
            self.parser.reset();
            let wait = self.client.inner.retry.backoff(self.failures);
            self.failures += 1;
            tokio::time::sleep(wait).await;
        }
        None
    }

    async fn connect(&self) -> Result<reqwest::Response, Error> {
        let mut call = Call::new(Method::GET, "/v1/events/stream");
        self.params.filter.query(&mut call.query);
        if let Some(id) = &self.last {
            call.header("last-event-id", id);
        }
        let response = self.client.inner.open_stream(&call, self.params.idle_timeout).await?;
        let content_type = response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default();
        if !content_type.starts_with("text/event-stream") {
            return Err(Error::Decode(format!("the event stream answered {content_type:?}, not text/event-stream")));
        }
        Ok(response)
    }

    /// How long to wait before reconnecting after `error`, or `None` to give up.
    fn delay(&mut self, error: &Error) -> Option<Duration> {
        if !is_transient(error) || self.params.max_reconnects.is_some_and(|m| self.failures >= m) {
            return None;
        }
        let wait = self.client.inner.retry.backoff(self.failures);
        self.failures += 1;
        Some(match error.retry_after() {
            Some(after) => wait.max(after),
            None => wait,
        })
    }
}

/// The event in an SSE event's `data:`; its id is the SSE `id:` when the JSON has none.
fn decode(sse: SseEvent) -> Result<Event, Error> {
    let mut value: serde_json::Value =
        serde_json::from_str(&sse.data).map_err(|e| Error::Decode(format!("event data is not JSON: {e}")))?;
    if let (Some(id), Some(object)) = (sse.id, value.as_object_mut()) {
        object.entry("id").or_insert(id.into());
    }
    if let (Some(kind), Some(object)) = (sse.event, value.as_object_mut()) {
        object.entry("type").or_insert(kind.into());
    }
    serde_json::from_value(value).map_err(|e| Error::Decode(format!("event: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sse_id_and_type_fill_in_for_the_json() {
        let sse = SseEvent {
            id: Some("evt_1".into()),
            event: Some("resource.created".into()),
            data: r#"{"timestamp":"t","data":{"id":"res_1"}}"#.into(),
        };
        let e = decode(sse).unwrap();
        assert_eq!((e.id.as_str(), e.r#type.as_str(), &e.data["id"]), ("evt_1", "resource.created", &"res_1".into()));
        assert!(decode(SseEvent { data: "not json".into(), ..SseEvent::default() }).is_err());
    }
}
