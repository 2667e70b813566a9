//! Early refusals keep the connection usable. A request refused before its body is read (401,
//! 403, 429, 404...) leaves the body on the wire; hyper then stops reading the connection and
//! closes it after the answer, so a client that writes the body after the head (Python's
//! `http.client`, most clients) gets a broken pipe or a reset instead of the answer and its
//! `Retry-After`. Here a body left untouched, of up to 1 MiB and arriving within a few seconds,
//! is read and discarded before the answer goes out, and the connection stays open; a larger or
//! slower one, one the client holds back for `Expect: 100-continue`, or one the handler stopped
//! reading part way (a 413, a 408 for a slow sender) is not waited for, and the answer says
//! `Connection: close` so the client knows not to reuse the connection.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Version};
use axum::middleware::Next;
use axum::response::Response;
use http_body::{Frame, SizeHint};
use http_body_util::BodyExt;

use crate::extract::json::MAX_BODY_BYTES;
use crate::middleware::{guard, head_limits};

/// How long an unread body is waited for before the connection is given up on.
const DRAIN_WAIT: Duration = Duration::from_secs(5);

/// A body dropped before its end.
enum Unread {
    /// Never polled: an early refusal, worth draining.
    Untouched(Body),
    /// Read part way: whoever stopped had a reason (too large, too slow).
    PartlyRead,
}

/// Where a body dropped before its end is handed back.
type Slot = Arc<Mutex<Option<Unread>>>;

/// Runs the request (within the deadline `limit`, see [`guard`]); if the inner layers dropped
/// the body unread, drains it or closes.
pub async fn drain_unread_body(State(limit): State<Duration>, req: Request, next: Next) -> Response {
    // No body (every GET), or HTTP/2, where an unread body resets one stream, not the
    // connection: nothing to do, and nothing allocated.
    if req.version() > Version::HTTP_11 || req.body().is_end_stream() {
        return match head_limits::refuse(&req) {
            Some(refused) => refused,
            None => guard::run(limit, req, next).await,
        };
    }
    let waits_for_continue = req.headers().contains_key(header::EXPECT);
    let slot = Slot::default();
    let (parts, body) = req.into_parts();
    let body = Body::new(ReturnUnread { body: Some(body), touched: false, slot: slot.clone() });
    let req = Request::from_parts(parts, body);
    let mut response = match head_limits::refuse(&req) {
        Some(refused) => {
            // Dropping the request hands its untouched body back, to be drained below.
            drop(req);
            refused
        }
        None => guard::run(limit, req, next).await,
    };
    let unread = slot.lock().unwrap_or_else(|p| p.into_inner()).take();
    let keep = match unread {
        None => true,
        Some(Unread::Untouched(body)) => !waits_for_continue && drain(body).await,
        Some(Unread::PartlyRead) => false,
    };
    if !keep {
        response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

/// Reads and discards `body`; true if it ended within the bounds.
async fn drain(mut body: Body) -> bool {
    if body.size_hint().lower() > MAX_BODY_BYTES as u64 {
        return false;
    }
    let read = async {
        let mut seen = 0usize;
        while let Some(frame) = body.frame().await {
            let Ok(frame) = frame else { return false };
            seen += frame.data_ref().map_or(0, Bytes::len);
            if seen > MAX_BODY_BYTES {
                return false;
            }
        }
        true
    };
    tokio::time::timeout(DRAIN_WAIT, read).await.unwrap_or(false)
}

/// The request body, handed back to [`drain_unread_body`] if it is dropped before its end.
struct ReturnUnread {
    body: Option<Body>,
    touched: bool,
    slot: Slot,
}

impl HttpBody for ReturnUnread {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        self.touched = true;
        match self.body.as_mut() {
            Some(body) => Pin::new(body).poll_frame(cx),
            None => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.body.as_ref().is_none_or(Body::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        self.body.as_ref().map_or_else(|| SizeHint::with_exact(0), Body::size_hint)
    }
}

impl Drop for ReturnUnread {
    fn drop(&mut self) {
        if let Some(body) = self.body.take().filter(|b| !b.is_end_stream()) {
            let unread = if self.touched { Unread::PartlyRead } else { Unread::Untouched(body) };
            *self.slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(unread);
        }
    }
}
