//! The live stream's load client for `bench/streams.py`: holds many event streams open on one
//! server, optionally writes resources at a fixed rate, and reports what the streams saw.
//!
//! ```text
//! stream_bench URL KEY STREAMS RATE SECONDS [QUERY]
//! ```
//!
//! Opens STREAMS streams (`/v1/events/stream` + QUERY), then POSTs RATE creates a second for
//! SECONDS (none when RATE is 0: the streams are only held, while something else writes), waits
//! two seconds for stragglers, and prints one JSON object: events received, streams still open,
//! commit-to-receive latency (now minus the event's `timestamp`, read on every tenth stream,
//! which is enough samples and keeps this client off the critical path) and POST latency.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

#[derive(Default)]
struct Seen {
    events: AtomicU64,
    ended: AtomicU64,
    latencies_us: Mutex<Vec<u64>>,
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i] as f64 / 1000.0
}

/// The commit-to-receive latency of one SSE frame, in microseconds.
fn latency(frame: &[u8], now: OffsetDateTime) -> Option<u64> {
    let at = memchr::memmem::find(frame, b"\"timestamp\":\"")? + 13;
    let end = at + memchr::memchr(b'"', &frame[at..])?;
    let stamp = OffsetDateTime::parse(std::str::from_utf8(&frame[at..end]).ok()?, &Rfc3339).ok()?;
    u64::try_from((now - stamp).whole_microseconds()).ok()
}

/// Counts the event frames of one stream as they arrive, without copying them: a frame ends at
/// an empty line, and is an event when it starts with `id:` (the rest are keep-alive comments).
/// Sampled streams also keep each event's text, to read its timestamp.
struct Frames {
    /// The last byte seen was a newline.
    after_newline: bool,
    /// The next byte starts a frame.
    at_start: bool,
    /// The current frame is an event.
    event: bool,
    /// The current frame's bytes, on a sampled stream.
    text: Vec<u8>,
}

impl Frames {
    fn new() -> Self {
        Self { after_newline: false, at_start: true, event: false, text: Vec::new() }
    }

    /// Takes one chunk; returns the events it completed, and passes each sampled one to `sampled`.
    fn feed(&mut self, chunk: &[u8], sample: bool, mut sampled: impl FnMut(&[u8])) -> u64 {
        let mut events = 0;
        let mut from = 0;
        for nl in memchr::memchr_iter(b'\n', chunk).chain(std::iter::once(chunk.len())) {
            // chunk[from..nl] holds no newline.
            if nl > from {
                if self.at_start {
                    self.event = chunk[from] == b'i';
                    self.at_start = false;
                }
                self.after_newline = false;
            }
            if sample {
                self.text.extend_from_slice(&chunk[from..nl.min(chunk.len())]);
            }
            if nl == chunk.len() {
                break;
            }
            if sample {
                self.text.push(b'\n');
            }
            if self.after_newline {
                if self.event {
                    events += 1;
                    if sample {
                        sampled(&self.text);
                    }
                }
                self.text.clear();
                self.at_start = true;
                self.event = false;
                self.after_newline = false;
            } else {
                self.after_newline = true;
            }
            from = nl + 1;
        }
        events
    }
}

async fn hold(http: reqwest::Client, url: String, key: String, sample: bool, seen: Arc<Seen>) {
    let response = match http.get(&url).header("x-api-key", &key).send().await {
        Ok(r) if r.status() == 200 => r,
        Ok(r) => panic!("stream refused: {}", r.status()),
        Err(e) => panic!("stream failed: {e}"),
    };
    let mut response = response;
    let mut frames = Frames::new();
    let mut latencies = Vec::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        let now = sample.then(OffsetDateTime::now_utc);
        let events = frames.feed(&chunk, sample, |frame| {
            if let Some(us) = now.and_then(|now| latency(frame, now)) {
                latencies.push(us);
            }
        });
        seen.events.fetch_add(events, Ordering::Relaxed);
        if latencies.len() >= 1024 {
            seen.latencies_us.lock().unwrap().append(&mut latencies);
        }
    }
    seen.latencies_us.lock().unwrap().append(&mut latencies);
    seen.ended.fetch_add(1, Ordering::Relaxed);
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 6 {
        eprintln!("usage: stream_bench URL KEY STREAMS RATE SECONDS [QUERY]");
        std::process::exit(2);
    }
    let (base, key) = (args[1].clone(), args[2].clone());
    let streams: usize = args[3].parse().unwrap();
    let rate: u64 = args[4].parse().unwrap();
    let seconds: u64 = args[5].parse().unwrap();
    let query = args.get(6).cloned().unwrap_or_default();
    let http = reqwest::Client::builder().pool_max_idle_per_host(64).build().unwrap();
    let seen = Arc::new(Seen::default());
    let url = format!("{base}/v1/events/stream{query}");
    for i in 0..streams {
        tokio::spawn(hold(http.clone(), url.clone(), key.clone(), i % 10 == 0, seen.clone()));
        if i % 100 == 99 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let writes = Arc::new(Mutex::new(Vec::new()));
    if let Some(period) = 1_000_000_u64.checked_div(rate) {
        let mut tick = tokio::time::interval(Duration::from_micros(period));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
        let started = Instant::now();
        let mut tasks = Vec::new();
        while started.elapsed() < Duration::from_secs(seconds) {
            tick.tick().await;
            let (http, url, key, writes) = (http.clone(), format!("{base}/v1/resource"), key.clone(), writes.clone());
            tasks.push(tokio::spawn(async move {
                let body = serde_json::json!({"name": "s", "type": "widget", "data": {"n": 1}});
                let t = Instant::now();
                let r = http.post(&url).header("x-api-key", &key).json(&body).send().await.unwrap();
                assert_eq!(r.status(), 201);
                writes.lock().unwrap().push(t.elapsed().as_micros() as u64);
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
    } else {
        tokio::time::sleep(Duration::from_secs(seconds)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut lat = seen.latencies_us.lock().unwrap().clone();
    lat.sort_unstable();
    let mut posts = writes.lock().unwrap().clone();
    posts.sort_unstable();
    let out = serde_json::json!({
        "streams": streams,
        "writes": posts.len(),
        "events_received": seen.events.load(Ordering::Relaxed),
        "events_expected": posts.len() * streams,
        "streams_ended": seen.ended.load(Ordering::Relaxed),
        "latency_ms": {"samples": lat.len(), "p50": percentile(&lat, 0.5), "p99": percentile(&lat, 0.99), "max": percentile(&lat, 1.0)},
        "post_ms": {"p50": percentile(&posts, 0.5), "p99": percentile(&posts, 0.99)},
    });
    println!("{out}");
    std::process::exit(0);
}
