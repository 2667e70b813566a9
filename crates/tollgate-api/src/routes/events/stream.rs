//! `GET /v1/events/stream`: the project's events live, as Server-Sent Events (`id:` the event
//! id, `event:` its type, `data:` the event JSON), with a comment every 15 s so idle proxies keep
//! the connection.
//!
//! Resuming with `Last-Event-ID` (or `last_event_id=`): the stream subscribes to the node's hub
//! first, which says up to which `seq` it has published; it replays the project's events after
//! the client's from the store up to there, then continues with the live events after it. The
//! two meet at one `seq`, so nothing is missed or sent twice. An id older than the event
//! retention answers `410 GONE`.
//!
//! Frames go out as the hub rendered them, once per event for every stream: the events a stream
//! takes in one wake-up that follow each other in the hub's buffer go out as one slice of it, one
//! body chunk (the queue holds shared slices, so a full queue costs a stream almost nothing);
//! replayed events are rendered by their stream.
//!
//! Each credential holds at most `max_streams_per_credential` streams on a node (then 429); every
//! stream authenticates its request again every few seconds and ends once that fails (revoked,
//! expired); all end when the server shuts down; a stream that falls too far behind ends too,
//! and the client resumes.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use tokio::sync::{broadcast, mpsc};
use tollgate_core::event_log::{event_id_time, is_event_id, parse_stream_query, EventFilter, LoggedEvent};
use tollgate_core::time_fmt::now;
use tollgate_core::{ErrorCode, ProjectId, ValidationErrors};
use tollgate_events::hub::{EventHub, Frames, Published, StreamPermit, Subscription, BUFFER};
use tollgate_telemetry::metrics::OpenStream;

use super::filter_params::EventFilterParams;
use crate::error::{ApiError, ErrorEnvelope};
use crate::extract::{Auth, QueryPairs, Read};
use crate::state::AppState;

/// The keep-alive comment's period.
const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// How often a stream's credential is checked again.
const RECHECK: Duration = Duration::from_secs(5);
/// Events read from the store per replay query.
const REPLAY_PAGE: u32 = 256;
/// Events waiting for a slow client, per stream.
const QUEUE: usize = 32;
/// How often a stream whose client does not read checks whether it fell too far behind.
const LAG_CHECK: Duration = Duration::from_millis(500);

/// Opens the live stream of the caller's project's events.
#[utoipa::path(get, path = "/v1/events/stream", tag = "events",
    params(EventFilterParams,
           ("last_event_id" = Option<String>, Query, pattern = "^evt_[0-7][0-9A-HJKMNP-TV-Z]{25}$", description = "Resume after this event, for clients that cannot send `Last-Event-ID`"),
           ("Last-Event-ID" = Option<String>, Header, nullable = false, pattern = "^[ \t]*(evt_[0-7][0-9A-HJKMNP-TV-Z]{25})?[ \t]*$",
            description = "Resume after this event: the ones since are replayed, then live ones follow (empty: as if absent)")),
    responses((status = 200, content_type = "text/event-stream", body = String,
               description = "Server-Sent Events, open until the client leaves: per change `id:` the event id, `event:` its type, `data:` the event JSON (the `Event` schema); a `:` comment every 15 s"),
              (status = 400, body = ErrorEnvelope), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
              (status = 404, description = "No event with this Last-Event-ID in this project", body = ErrorEnvelope),
              (status = 410, description = "`GONE`: the Last-Event-ID is older than the event retention", body = ErrorEnvelope),
              (status = 429, description = "Rate limit, or this credential already holds its open streams (`Retry-After`)", body = ErrorEnvelope),
              (status = 503, description = "This node has no event hub", body = ErrorEnvelope)))]
pub async fn stream_events(
    auth: Auth<Read>,
    State(state): State<AppState>,
    QueryPairs(pairs): QueryPairs,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let hub = state.event_hub.clone().ok_or_else(|| ApiError::new(ErrorCode::ServiceUnavailable))?;
    let (filter, from_query) = parse_stream_query(&pairs)?;
    let last = resume_after(&headers, from_query)?;
    let max = hub.settings().max_streams_per_credential;
    let permit = hub.try_open(&auth.principal.credential.to_string()).ok_or_else(|| {
        ApiError::new(ErrorCode::RateLimitExceeded)
            .message(format!("This credential already holds {max} open event streams"))
            .detail("max_streams", max)
            .header(header::RETRY_AFTER, "5")
    })?;
    let project = auth.principal.project_id;
    let subscription = hub.subscribe().await?;
    let (start, past) = match &last {
        Some(id) => (resume_point(&hub, project, id).await?, Vec::new()),
        None => present(&hub, &subscription).await?,
    };
    let (tx, rx) = mpsc::channel(QUEUE);
    // Counted before the answer goes out: a client that sees the stream open sees it counted.
    let open = state.metrics.event_stream_opened();
    let stream = Stream { hub, project, filter, past, _permit: permit, _open: open, state, headers, tx };
    tokio::spawn(stream.run(start, subscription));
    let body =
        futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|b| (Ok::<_, Infallible>(b), rx)) });
    let mut response = Body::from_stream(body).into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    // nginx passes the events on as they come, whatever its buffering setting.
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    Ok(response)
}

/// Where a stream resumes: after the `Last-Event-ID` header's event, else after the
/// `last_event_id` parameter's. The header wins: a browser's `EventSource` reconnects to the
/// same URL (the parameter still names where the first connection resumed) and sends the last
/// event it saw in the header. Two headers are refused: which one counted would depend on who
/// reads first.
fn resume_after(headers: &HeaderMap, from_query: Option<String>) -> Result<Option<String>, ApiError> {
    let mut values = headers.get_all("last-event-id").iter();
    let first = values.next();
    if values.next().is_some() {
        return Err(ValidationErrors::single("Last-Event-ID", "is given more than once").into());
    }
    match first.map(|v| v.to_str().map(str::trim)) {
        Some(Ok(id)) if is_event_id(id) => Ok(Some(id.to_owned())),
        Some(Ok("")) | None => Ok(from_query),
        Some(_) => Err(ValidationErrors::single("Last-Event-ID", "must be an event id (evt_...)").into()),
    }
}

/// Most committed events beyond the settled position a new stream notes as past; beyond that it
/// starts after the newest of them (the log has run this far ahead of its oldest open
/// transaction only under a transaction held open for a long time).
const PAST_MAX: u32 = 10_000;

/// Where a stream without `Last-Event-ID` starts: at the store's present, not the tail's (the
/// tail may not have passed over events committed before this request yet: it reads after a
/// short coalescing wait, or at the next poll when a notice from another node was lost). That
/// is the settled position, and the events beyond it that have already committed, which the
/// stream skips when they are published.
async fn present(hub: &EventHub, sub: &Subscription) -> Result<(i64, Vec<i64>), ApiError> {
    let settled = hub.store().settled_position().await?.max(sub.position);
    let past = hub.store().committed_after(settled, PAST_MAX).await?;
    Ok(starting_point(settled, past))
}

/// The start and the past events of [`present`], given the settled position and up to
/// [`PAST_MAX`] committed events beyond it.
fn starting_point(settled: i64, past: Vec<i64>) -> (i64, Vec<i64>) {
    match past.last() {
        Some(&newest) if past.len() >= PAST_MAX as usize => (newest, Vec::new()),
        _ => (settled, past),
    }
}

/// Where a stream resumed after `id` starts: that event's `seq`, or `410 GONE` when it is no
/// longer kept.
async fn resume_point(hub: &EventHub, project: ProjectId, id: &str) -> Result<i64, ApiError> {
    if let Some(seq) = hub.store().event_seq(project, id.to_owned()).await? {
        return Ok(seq);
    }
    let retention = hub.settings().event_retention;
    match event_id_time(id) {
        Some(minted) if minted < now() - retention => Err(ApiError::new(ErrorCode::Gone)
            .message("Events after this Last-Event-ID are no longer kept; list or stream from now")
            .detail("last_event_id", id)
            .detail("retention_seconds", retention.whole_seconds())),
        _ => Err(ApiError::not_found().message("No event with this Last-Event-ID in this project")),
    }
}

/// One open stream, fed by its own task.
struct Stream {
    hub: EventHub,
    project: ProjectId,
    filter: EventFilter,
    /// Events after the start that had committed before the stream opened, in `seq` order:
    /// not this stream's (see [`present`]).
    past: Vec<i64>,
    /// Counts against the credential's streams until the stream ends.
    _permit: StreamPermit,
    /// Counts in `tollgate_event_streams` until the stream ends.
    _open: OpenStream,
    state: AppState,
    headers: HeaderMap,
    tx: mpsc::Sender<Bytes>,
}

/// The keep-alive comment.
const COMMENT: &[u8] = b":\n\n";
impl Stream {
    async fn run(mut self, start: i64, mut sub: Subscription) {
        let until = sub.position;
        if !self.replay(start, until, &mut sub).await {
            return;
        }
        let mut last = start.max(until);
        let mut recheck = tokio::time::interval_at(tokio::time::Instant::now() + RECHECK, RECHECK);
        let mut keep_alive = tokio::time::interval_at(tokio::time::Instant::now() + KEEP_ALIVE, KEEP_ALIVE);
        loop {
            let event = tokio::select! {
                got = sub.events.recv() => match got {
                    Ok(e) => e,
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        tracing::info!(missed = n, "closing an event stream that fell behind; the client can resume");
                        return;
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                },
                _ = recheck.tick() => {
                    if !self.still_authorized().await {
                        return;
                    }
                    continue;
                }
                _ = keep_alive.tick() => {
                    // A full queue is a client that is not reading: it needs no keep-alive.
                    let _ = self.tx.try_send(Bytes::from_static(COMMENT));
                    continue;
                }
                _ = sub.closing.changed() => return,
                () = self.tx.closed() => return,
            };
            if !self.send_burst(event, &mut last, &mut sub).await {
                return;
            }
        }
    }

    /// Sends `first` and whatever else is already published, taken in the same wake-up: under
    /// load the hub publishes in bursts, and a stream then wakes once per burst and sends each
    /// run of wanted events that follow each other as one chunk. False once the stream ends.
    async fn send_burst(&mut self, first: Arc<Published>, last: &mut i64, sub: &mut Subscription) -> bool {
        let mut run: Option<Frames> = None;
        let mut next = Some(first);
        while let Some(p) = next.take() {
            // Events at or below `last` came in the replay already, and `past` ones before the
            // stream opened. A wanted event right after the run joins it; any other wanted event
            // starts a new one.
            let wanted = p.event.seq > *last && self.past.binary_search(&p.event.seq).is_err() && self.wants(&p.event);
            if wanted && !run.as_mut().is_some_and(|r| p.extends(r)) {
                if let Some(done) = run.replace(p.frames()) {
                    if !self.queue(done.bytes(), sub).await {
                        return false;
                    }
                }
            }
            *last = (*last).max(p.event.seq);
            match sub.events.try_recv() {
                Ok(p) => next = Some(p),
                Err(broadcast::error::TryRecvError::Empty) => break,
                Err(broadcast::error::TryRecvError::Lagged(n)) => {
                    tracing::info!(missed = n, "closing an event stream that fell behind; the client can resume");
                    return false;
                }
                Err(broadcast::error::TryRecvError::Closed) => return false,
            }
        }
        match run {
            Some(frames) => self.queue(frames.bytes(), sub).await,
            None => true,
        }
    }

    /// Sends the project's events in `(after, until]` from the store; false once the stream ends.
    async fn replay(&mut self, mut after: i64, until: i64, sub: &mut Subscription) -> bool {
        while after < until {
            let page = match self.hub.store().project_events(self.project, after, until, REPLAY_PAGE).await {
                Ok(page) => page,
                Err(e) => {
                    tracing::warn!(error = %e, "could not replay events; the client can resume");
                    return false;
                }
            };
            let Some(end) = page.last().map(|e| e.seq) else {
                break;
            };
            for e in &page {
                if self.wants(e) && !self.queue(Bytes::from(e.sse_frame()), sub).await {
                    return false;
                }
            }
            after = end;
        }
        true
    }

    /// Whether `e` belongs on this stream.
    fn wants(&self, e: &LoggedEvent) -> bool {
        e.project_id == self.project && self.filter.matches(e)
    }

    /// Queues `bytes` for the client; false once the client is gone or the server stops.
    async fn queue(&mut self, bytes: Bytes, sub: &mut Subscription) -> bool {
        // The usual case, a client that keeps up: room at once, and no timer for it.
        let bytes = match self.tx.try_send(bytes) {
            Ok(()) => return true,
            Err(mpsc::error::TrySendError::Closed(_)) => return false,
            Err(mpsc::error::TrySendError::Full(bytes)) => bytes,
        };
        // While the client does not read, its queue stays full and this waits; it must not wait
        // past the point where the shared buffer laps it, or the stream would hold its permit
        // (and its connection) forever without ever noticing it fell behind.
        let mut behind = tokio::time::interval(LAG_CHECK);
        loop {
            tokio::select! {
                room = self.tx.reserve() => return match room {
                    Ok(room) => { room.send(bytes); true }
                    Err(_) => false,
                },
                _ = sub.closing.changed() => return false,
                _ = behind.tick() => if sub.events.len() >= BUFFER {
                    tracing::info!("closing an event stream whose client stopped reading; it can resume");
                    return false;
                },
            }
        }
    }

    /// Authenticates the stream's request again: false once its credential is refused. A store
    /// that does not answer keeps the stream (closing every stream would only make every client
    /// reconnect into the same outage).
    async fn still_authorized(&self) -> bool {
        match crate::extract::auth::authenticate(&self.headers, &self.state).await {
            Ok(p) => p.project_id == self.project,
            Err(e) => e.code() != ErrorCode::AuthenticationFailed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_stream_starts_at_the_settled_position_and_skips_what_had_committed_beyond_it() {
        assert_eq!(starting_point(7, Vec::new()), (7, Vec::new()));
        assert_eq!(starting_point(7, vec![9, 12]), (7, vec![9, 12]));
        // At the bound the list may be cut short: the stream starts after the newest listed.
        let full: Vec<i64> = (8..8 + i64::from(PAST_MAX)).collect();
        let newest = *full.last().unwrap();
        assert_eq!(starting_point(7, full.clone()), (newest, Vec::new()));
        assert_eq!(starting_point(7, full[1..].to_vec()), (7, full[1..].to_vec()), "one short of the bound");
    }
}
