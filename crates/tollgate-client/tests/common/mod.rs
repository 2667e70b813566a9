//! Shared set-up: a real `tollgate serve`, and clients and credentials made against it.
#![allow(dead_code)]

use serde_json::{json, Value};
use tollgate_client::Client;
use tollgate_testkit::{tollgate_bin, TestServer};

/// A fresh server.
pub async fn server() -> TestServer {
    TestServer::builder(tollgate_bin()).start().await
}

/// A fresh server with extra environment.
pub async fn server_with(env: &[(&str, &str)]) -> TestServer {
    let mut b = TestServer::builder(tollgate_bin());
    for (k, v) in env {
        b = b.env(k, v);
    }
    b.start().await
}

/// A client with the server's admin key.
pub fn admin(s: &TestServer) -> Client {
    Client::builder().endpoint(&s.base_url).api_key(&s.admin_key).build().unwrap()
}

/// A new API key with `scopes` (and `limits`, e.g. `write=2/1m`), through the admin HTTP API.
pub async fn key(s: &TestServer, scopes: &[&str], limits: Option<&str>) -> String {
    let mut body = json!({"name": "sdk-test", "scopes": scopes});
    if let Some(l) = limits {
        body["limits"] = parse_limits(l);
    }
    let r = s.call(reqwest::Method::POST, "/v1/keys", Some(&s.admin_key), Some(&body)).await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.body["secret"].as_str().expect("secret").to_owned()
}

/// A new OAuth client: (client_id, client_secret).
pub async fn oauth_client(s: &TestServer, scopes: &[&str]) -> (String, String) {
    let body = json!({"name": "sdk-test", "scopes": scopes});
    let r = s.call(reqwest::Method::POST, "/v1/clients", Some(&s.admin_key), Some(&body)).await;
    assert_eq!(r.status, 201, "{}", r.body);
    (r.body["client_id"].as_str().unwrap().to_owned(), r.body["client_secret"].as_str().unwrap().to_owned())
}

fn parse_limits(spec: &str) -> Value {
    let mut limits = serde_json::Map::new();
    for part in spec.split(',') {
        let (class, limit) = part.split_once('=').unwrap();
        limits.insert(class.to_owned(), Value::String(limit.to_owned()));
    }
    Value::Object(limits)
}

/// Collects what the client logs through `tracing` (at debug and above) while `f` runs, and
/// nothing from the tests running beside it, so captures need not run alone.
///
/// One subscriber, installed once for the whole test binary, formats every event emitted on a
/// thread that has a capture open and appends it to that capture's buffer. A subscriber per
/// capture (`set_default`) would leave `tracing`'s per-call-site interest cache to the race it
/// has with other threads: a call site first reached by a test without a subscriber could stay
/// cached as wanted by none, and the capture then missed its lines.
///
/// A capture belongs to a thread, not a task or a span, because `#[tokio::test]` runs each test
/// on its own thread with a current-thread runtime: the future `f`, and any task it spawns (the
/// connections reqwest drives, a local fault server), are polled there and nowhere else, so this
/// thread's events are exactly this test's. A task-local or a span would miss the spawned
/// tasks. A multi-thread runtime would break that, so it is refused.
pub async fn capture_logs<F: std::future::Future>(f: F) -> (F::Output, String) {
    use tokio::runtime::{Handle, RuntimeFlavor};
    assert!(
        Handle::current().runtime_flavor() == RuntimeFlavor::CurrentThread,
        "capture_logs collects this thread's events: run the test on a current-thread runtime"
    );
    capture::install();
    let capture = capture::Open::new();
    let out = f.await;
    (out, capture.close())
}

/// The one subscriber behind [`capture_logs`] and the thread's open capture it writes to.
mod capture {
    use std::cell::RefCell;
    use std::sync::Once;
    use tracing::level_filters::LevelFilter;
    use tracing::subscriber::Interest;
    use tracing::Metadata;
    use tracing_subscriber::layer::{Context, Filter, SubscriberExt};
    use tracing_subscriber::Layer;

    thread_local! {
        /// What the open capture on this thread has collected; `None` when none is open.
        static BUFFER: RefCell<Option<Vec<u8>>> = const { RefCell::new(None) };
    }

    /// Installs the subscriber the first time; every time, recomputes each call site's interest.
    pub fn install() {
        static ONCE: Once = Once::new();
        ONCE.call_once(|| {
            let layer = tracing_subscriber::fmt::layer()
                .with_ansi(false)
                .with_writer(|| ToOpenCapture)
                .with_filter(OpenCaptureAtDebug);
            tracing::subscriber::set_global_default(tracing_subscriber::registry().with(layer))
                .expect("no other global subscriber in the client's tests");
        });
        // A call site that another thread registered while the subscriber was being installed
        // may have stored the interest of "no subscriber yet"; after this no call site can.
        tracing::callsite::rebuild_interest_cache();
    }

    /// This thread's capture, open until [`Open::close`] (or a panic) drops it.
    pub struct Open(());

    impl Open {
        pub fn new() -> Self {
            BUFFER.with(|b| {
                let mut b = b.borrow_mut();
                assert!(b.is_none(), "one log capture at a time on a thread");
                *b = Some(Vec::new());
            });
            Open(())
        }

        /// What was logged while the capture was open.
        pub fn close(self) -> String {
            let bytes = BUFFER.with(|b| b.borrow_mut().take()).unwrap_or_default();
            String::from_utf8(bytes).expect("UTF-8 log lines")
        }
    }

    impl Drop for Open {
        fn drop(&mut self) {
            BUFFER.with(|b| b.borrow_mut().take());
        }
    }

    /// Debug and above, on a thread with an open capture. Every call site at those levels is
    /// "sometimes" interesting, never cached as wanted or not: whether a capture is open is
    /// asked at each event, on the thread that emits it.
    struct OpenCaptureAtDebug;

    impl<S> Filter<S> for OpenCaptureAtDebug {
        fn enabled(&self, meta: &Metadata<'_>, _: &Context<'_, S>) -> bool {
            *meta.level() <= LevelFilter::DEBUG && BUFFER.with(|b| b.borrow().is_some())
        }

        fn callsite_enabled(&self, meta: &'static Metadata<'static>) -> Interest {
            if *meta.level() <= LevelFilter::DEBUG {
                Interest::sometimes()
            } else {
                Interest::never()
            }
        }

        fn max_level_hint(&self) -> Option<LevelFilter> {
            Some(LevelFilter::DEBUG)
        }
    }

    /// Appends a formatted event to the open capture of the thread that emitted it (the fmt
    /// layer writes synchronously, on that thread).
    struct ToOpenCapture;

    impl std::io::Write for ToOpenCapture {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            BUFFER.with(|b| {
                if let Some(open) = b.borrow_mut().as_mut() {
                    open.extend_from_slice(buf);
                }
            });
            Ok(buf.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
}
