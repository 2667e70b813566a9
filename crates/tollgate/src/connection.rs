//! One accepted connection, served by hyper as HTTP/1.1 or HTTP/2 (chosen by the client's first
//! bytes) under the same time limits for both protocols:
//!
//! - the first request's head must arrive within `header_read_timeout` (a client that connects
//!   and says nothing, or sends only the HTTP/2 preface, is closed then), and on HTTP/1.1 every
//!   later head too (hyper's own timer, which starts with the head's first byte);
//! - a connection with no request in flight for `idle_timeout` is closed: HTTP/1.1 at once,
//!   HTTP/2 with a GOAWAY (hyper's HTTP/2 has no timer of its own for either);
//! - on HTTP/2, a peer that does not answer a PING within `header_read_timeout` is dropped.
//!
//! A connection asked to close (idle, or the server stopping) that does not finish within its
//! grace period is dropped.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpStream;
use tokio::sync::{watch, Notify, OwnedSemaphorePermit};
use tokio::time::Instant;

/// The protocols' limits, as configured.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Time to send a request head; also the first request's deadline and the PING timeout.
    pub header_read_timeout: Duration,
    /// Time a connection may stay open with no request in flight.
    pub idle_timeout: Duration,
    /// How long a connection that was asked to close while the server stops may take.
    pub drain: Duration,
}

/// hyper's HTTP/2 limit on a request's header list; above the API's own header limit
/// (`tollgate_api::middleware::head_limits`), so that the API answers over-limit requests in
/// the envelope and hyper's bare 431 is reserved for heads beyond this.
const H2_MAX_HEADER_LIST_BYTES: u32 = 64 * 1024;

/// The hyper builder for both protocols with `limits` applied.
pub fn builder(limits: &Limits) -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder.http1().timer(TokioTimer::new()).header_read_timeout(limits.header_read_timeout).keep_alive(true);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(limits.header_read_timeout)
        .keep_alive_timeout(limits.header_read_timeout)
        .max_header_list_size(H2_MAX_HEADER_LIST_BYTES);
    builder
}

/// Serves `stream` until the client closes it, it idles out, or `stopping` turns true. The
/// `permit` (one of `max_connections`) is held until the connection is gone.
pub async fn serve(
    mut stream: TcpStream,
    peer: std::net::SocketAddr,
    app: axum::Router,
    builder: auto::Builder<TokioExecutor>,
    limits: Limits,
    mut stopping: watch::Receiver<bool>,
    _permit: OwnedSemaphorePermit,
) {
    if let crate::first_line::FirstLine::Close = crate::first_line::check(&mut stream, limits.header_read_timeout).await
    {
        return;
    }
    let activity = Arc::new(Activity {
        opened: Instant::now(),
        requests: AtomicU64::new(0),
        state: AtomicU64::new(0),
        first_request: Notify::new(),
    });
    let service = Tracked { inner: TowerToHyperService::new(app), activity: activity.clone(), peer };
    let conn = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
    tokio::pin!(conn);
    // Until the first request, its deadline; after it, the idle timer.
    let mut check_at = activity.opened + limits.header_read_timeout;
    let mut waiting_for_first = true;
    let grace = loop {
        tokio::select! {
            _ = conn.as_mut() => return,
            () = activity.first_request.notified(), if waiting_for_first => {
                waiting_for_first = false;
                check_at = Instant::now() + limits.idle_timeout;
            }
            () = tokio::time::sleep_until(check_at) => match activity.idle_until(&limits) {
                Some(later) => check_at = later,
                // Not one request in time: nothing to finish, nothing to say (as hyper's own
                // header timeout on HTTP/1.1).
                None if activity.requests.load(Ordering::Relaxed) == 0 => {
                    tracing::debug!(timeout_ms = limits.header_read_timeout.as_millis() as u64, "closed a connection that sent no request in time");
                    return;
                }
                None => {
                    tracing::debug!(idle_timeout_ms = limits.idle_timeout.as_millis() as u64, "closing an idle connection");
                    break limits.header_read_timeout;
                }
            },
            _ = stopping.wait_for(|stop| *stop) => break limits.drain,
        }
    };
    conn.as_mut().graceful_shutdown();
    // HTTP/2 waits for the client to acknowledge the GOAWAY; one that never reads is dropped.
    let _ = tokio::time::timeout(grace, conn).await;
}

/// What the idle timer needs to know about a connection's requests.
struct Activity {
    opened: Instant,
    /// Requests started so far.
    requests: AtomicU64,
    /// Woken by the first request, which ends the wait for it.
    first_request: Notify,
    /// Requests in flight (low 16 bits) and, above them, when the last one ended in
    /// milliseconds since `opened`: one word, so that a request's start and end are one atomic
    /// operation each and the timer never reads one without the other.
    state: AtomicU64,
}

const IN_FLIGHT_BITS: u32 = 16;
const IN_FLIGHT_MASK: u64 = (1 << IN_FLIGHT_BITS) - 1;

impl Activity {
    fn started(&self) {
        if self.requests.fetch_add(1, Ordering::Relaxed) == 0 {
            self.first_request.notify_one();
        }
        self.state.fetch_add(1, Ordering::AcqRel);
    }

    fn ended(&self) {
        let now = self.opened.elapsed().as_millis() as u64;
        let _ = self.state.fetch_update(Ordering::AcqRel, Ordering::Acquire, |s| {
            Some((now << IN_FLIGHT_BITS) | ((s & IN_FLIGHT_MASK).saturating_sub(1)))
        });
    }

    /// `None` when the connection should close now, else when to look again.
    fn idle_until(&self, limits: &Limits) -> Option<Instant> {
        let now = Instant::now();
        let state = self.state.load(Ordering::Acquire);
        if state & IN_FLIGHT_MASK > 0 {
            return Some(now + limits.idle_timeout);
        }
        if self.requests.load(Ordering::Relaxed) == 0 {
            // No request yet, and the first one's deadline has passed.
            return None;
        }
        let idle_from = self.opened + Duration::from_millis(state >> IN_FLIGHT_BITS);
        let until = idle_from + limits.idle_timeout;
        (until > now).then_some(until)
    }
}

/// The app as a hyper service that keeps [`Activity`] up to date.
#[derive(Clone)]
struct Tracked<S> {
    inner: S,
    activity: Arc<Activity>,
    /// The peer's address, for the failed-authentication limit per address.
    peer: std::net::SocketAddr,
}

impl<S, B, RB> hyper::service::Service<hyper::Request<B>> for Tracked<S>
where
    S: hyper::service::Service<hyper::Request<B>, Response = hyper::Response<RB>>,
{
    type Response = hyper::Response<TrackedBody<RB>>;
    type Error = S::Error;
    type Future = InFlight<S::Future>;

    fn call(&self, mut req: hyper::Request<B>) -> Self::Future {
        self.activity.started();
        req.extensions_mut().insert(axum::extract::ConnectInfo(self.peer));
        InFlight { inner: self.inner.call(req), ends: Some(Ends(self.activity.clone())) }
    }
}

pin_project_lite::pin_project! {
    /// A request's future; the request ends when its response body is done (a long response,
    /// such as an event stream, is in flight while it is sent), or when either is dropped.
    struct InFlight<F> {
        #[pin]
        inner: F,
        ends: Option<Ends>,
    }
}

impl<F, RB, E> Future for InFlight<F>
where
    F: Future<Output = Result<hyper::Response<RB>, E>>,
{
    type Output = Result<hyper::Response<TrackedBody<RB>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        match this.inner.poll(cx) {
            Poll::Ready(Ok(response)) => {
                let ends = this.ends.take();
                Poll::Ready(Ok(response.map(|inner| TrackedBody { inner, _ends: ends })))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }
}

pin_project_lite::pin_project! {
    /// A response body that keeps its request in flight until it is finished or dropped.
    struct TrackedBody<B> {
        #[pin]
        inner: B,
        _ends: Option<Ends>,
    }
}

impl<B: http_body::Body> http_body::Body for TrackedBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        self.project().inner.poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// Marks the request ended when dropped.
struct Ends(Arc<Activity>);

impl Drop for Ends {
    fn drop(&mut self) {
        self.0.ended();
    }
}
