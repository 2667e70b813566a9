//! One JSON object per event, fields at the top level: `timestamp` (RFC 3339, UTC,
//! microseconds), `level`, `target`, `request_id` when the event happens inside a request (the
//! request's task-local, see `tollgate_api::middleware::request_id`), `message` and the event's
//! own fields. It writes the same
//! shape as tracing-subscriber's flattened JSON format at a fraction of the cost: it is a
//! [`Layer`] of its own that appends each line to the batch writer in one call (no per-event
//! writer handle or second buffer), fields are written straight into the line instead of
//! through serde's map machinery, and the timestamp's date and time are formatted once per
//! second per thread, not per event. No string field is longer than [`MAX_FIELD_BYTES`]: what
//! reaches a log line from a request must not make the line (or the log bill) unbounded.

use std::cell::RefCell;
use std::fmt::{self, Write};
use std::time::{SystemTime, UNIX_EPOCH};

use tollgate_api::middleware::request_id::request_id;
use tracing::field::{Field, Visit};
use tracing::subscriber::Interest;
use tracing::{Event, Metadata, Subscriber};
use tracing_subscriber::layer::Context;
use tracing_subscriber::Layer;

use super::BatchWriter;

/// Longest value of one string field, in bytes before escaping; a longer one is cut at a
/// character boundary and ends with `…`. Request fields are bounded where they are logged, so
/// this is the backstop for anything else (an error message quoting its input, say).
pub const MAX_FIELD_BYTES: usize = 4096;

/// The JSON lines layer.
pub struct JsonLines {
    out: BatchWriter,
}

impl JsonLines {
    /// Lines go to `out`.
    pub fn new(out: BatchWriter) -> Self {
        Self { out }
    }
}

impl<S: Subscriber> Layer<S> for JsonLines {
    /// Spans are refused, so none is built: a line's only inherited field, `request_id`, comes
    /// from the request's task-local, and a span per request (built, entered on every poll,
    /// closed) cost a third of what the request's line did.
    fn register_callsite(&self, metadata: &'static Metadata<'static>) -> Interest {
        if metadata.is_span() {
            Interest::never()
        } else {
            Interest::always()
        }
    }

    fn enabled(&self, metadata: &Metadata<'_>, _: Context<'_, S>) -> bool {
        !metadata.is_span()
    }

    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        LINE.with_borrow_mut(|line| {
            if format_line(line, event, |line| write_request_id(line, event)).is_ok() {
                self.out.append(line.as_bytes());
            }
        });
    }
}

/// Writes `,"request_id":...` of the request the event happens in, unless the event names its
/// own.
fn write_request_id(line: &mut String, event: &Event<'_>) -> fmt::Result {
    if event.metadata().fields().field("request_id").is_some() {
        return Ok(());
    }
    match request_id() {
        Some(id) => {
            line.push_str(",\"request_id\":");
            write_json_str(line, &id)
        }
        None => Ok(()),
    }
}

/// Replaces `line` with `event` as one JSON object and a newline; `context` writes the fields
/// the event inherits from its spans.
fn format_line(line: &mut String, event: &Event<'_>, context: impl FnOnce(&mut String) -> fmt::Result) -> fmt::Result {
    line.clear();
    line.push_str("{\"timestamp\":\"");
    write_timestamp(line, SystemTime::now())?;
    let meta = event.metadata();
    line.push_str("\",\"level\":\"");
    line.push_str(meta.level().as_str());
    // Targets are module paths: nothing in them needs escaping either.
    line.push_str("\",\"target\":\"");
    line.push_str(meta.target());
    line.push('"');
    context(line)?;
    let mut fields = Fields { line, result: Ok(()) };
    event.record(&mut fields);
    fields.result?;
    line.push_str("}\n");
    Ok(())
}

/// Writes each field as `,"name":value`.
struct Fields<'a> {
    line: &'a mut String,
    result: fmt::Result,
}

impl Fields<'_> {
    fn field(&mut self, field: &Field, value: impl FnOnce(&mut String) -> fmt::Result) {
        if self.result.is_ok() {
            // Field names are Rust identifiers: nothing in them needs escaping.
            self.line.push_str(",\"");
            self.line.push_str(field.name());
            self.line.push_str("\":");
            self.result = value(self.line);
        }
    }
}

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.field(field, |w| write_json_str(w, value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.field(field, |w| {
            w.push_str(itoa::Buffer::new().format(value));
            Ok(())
        });
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.field(field, |w| {
            w.push_str(itoa::Buffer::new().format(value));
            Ok(())
        });
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.field(field, |w| {
            w.push_str(if value { "true" } else { "false" });
            Ok(())
        });
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        if value.is_finite() {
            self.field(field, |w| {
                w.push_str(ryu::Buffer::new().format_finite(value));
                Ok(())
            });
        } else {
            self.field(field, |w| {
                w.push_str("null");
                Ok(())
            });
        }
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.field(field, |w| write_json_str(w, &value.to_string()));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.field(field, |w| {
            w.push('"');
            let mut capped = Capped { out: Escaped(w), left: MAX_FIELD_BYTES, cut: false };
            write!(capped, "{value:?}")?;
            if capped.cut {
                w.push('…');
            }
            w.push('"');
            Ok(())
        });
    }
}

fn write_json_str(w: &mut impl Write, s: &str) -> fmt::Result {
    w.write_char('"')?;
    if s.len() <= MAX_FIELD_BYTES {
        Escaped(&mut *w).write_str(s)?;
    } else {
        Escaped(&mut *w).write_str(&s[..s.floor_char_boundary_compat(MAX_FIELD_BYTES)])?;
        w.write_char('…')?;
    }
    w.write_char('"')
}

/// `str::floor_char_boundary`, which is not stable yet.
trait FloorCharBoundary {
    fn floor_char_boundary_compat(&self, at: usize) -> usize;
}

impl FloorCharBoundary for str {
    fn floor_char_boundary_compat(&self, at: usize) -> usize {
        (0..=at.min(self.len())).rev().find(|i| self.is_char_boundary(*i)).unwrap_or(0)
    }
}

/// Passes on at most `left` bytes, cut at a character boundary, and notes whether it cut.
struct Capped<W: Write> {
    out: W,
    left: usize,
    cut: bool,
}

impl<W: Write> Write for Capped<W> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        if s.len() <= self.left {
            self.left -= s.len();
            return self.out.write_str(s);
        }
        let end = s.floor_char_boundary_compat(self.left);
        // Nothing more fits: later pieces are dropped too, even short ones.
        self.left = 0;
        self.cut = true;
        self.out.write_str(&s[..end])
    }
}

fn needs_escape(b: u8) -> bool {
    b < 0x20 || b == b'"' || b == b'\\'
}

/// Whether no byte of `s` needs escaping, eight bytes at a time: almost every string logged
/// (ids, routes, methods) is plain, and a byte-wise scan was the formatter's largest cost.
fn is_plain(s: &[u8]) -> bool {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    // The classic "has a zero byte" test: exact for whether any byte matches.
    let has_zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGHS != 0;
    let mut chunks = s.chunks_exact(8);
    for chunk in &mut chunks {
        let v = u64::from_ne_bytes(chunk.try_into().expect("8 bytes"));
        let below_space = v.wrapping_sub(ONES * 0x20) & !v & HIGHS != 0;
        if below_space || has_zero(v ^ (ONES * u64::from(b'"'))) || has_zero(v ^ (ONES * u64::from(b'\\'))) {
            return false;
        }
    }
    !chunks.remainder().iter().copied().any(needs_escape)
}

/// Escapes what passes through it as the inside of a JSON string.
struct Escaped<'a, W: Write>(&'a mut W);

impl<W: Write> Write for Escaped<'_, W> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        // Byte-wise: every byte that needs escaping is ASCII, so the slices between them
        // always fall on character boundaries.
        if is_plain(s.as_bytes()) {
            return self.0.write_str(s);
        }
        let mut plain = 0;
        for (i, b) in s.bytes().enumerate() {
            let escape = match b {
                b'"' => "\\\"",
                b'\\' => "\\\\",
                b'\n' => "\\n",
                b'\r' => "\\r",
                b'\t' => "\\t",
                0..0x20 => "",
                _ => continue,
            };
            self.0.write_str(&s[plain..i])?;
            if escape.is_empty() {
                write!(self.0, "\\u{b:04x}")?;
            } else {
                self.0.write_str(escape)?;
            }
            plain = i + 1;
        }
        self.0.write_str(&s[plain..])
    }
}

thread_local! {
    /// The line being formatted.
    static LINE: RefCell<String> = const { RefCell::new(String::new()) };
    /// The second last formatted on this thread, and its `YYYY-MM-DDTHH:MM:SS`.
    static SECOND: RefCell<(u64, String)> = const { RefCell::new((u64::MAX, String::new())) };
}

fn write_timestamp(w: &mut impl Write, at: SystemTime) -> fmt::Result {
    let since = at.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    SECOND.with_borrow_mut(|(cached, text)| {
        if *cached != secs {
            let t = time::OffsetDateTime::from_unix_timestamp(secs as i64).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
            text.clear();
            write!(
                text,
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
                t.year(),
                u8::from(t.month()),
                t.day(),
                t.hour(),
                t.minute(),
                t.second()
            )?;
            *cached = secs;
        }
        w.write_str(text)
    })?;
    // Six digits with leading zeros: a million plus the fraction, less its leading 1.
    w.write_char('.')?;
    w.write_str(&itoa::Buffer::new().format(1_000_000 + since.subsec_micros())[1..])?;
    w.write_char('Z')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_like_json() {
        let nasty = "quote \" backslash \\ newline \n tab \t nul \0 bell \u{7} é 😀";
        let mut out = String::new();
        write_json_str(&mut out, nasty).unwrap();
        let back: String = serde_json::from_str(&out).unwrap();
        assert_eq!(back, nasty);
    }

    #[test]
    fn the_fast_check_agrees_with_the_byte_rule() {
        // Every byte value at every position of strings long enough for whole words and a
        // remainder, so each lane of the eight-byte test is covered.
        for len in [1, 7, 8, 9, 16, 23] {
            for at in 0..len {
                for b in 0..=255u8 {
                    let mut s = vec![b'a'; len];
                    s[at] = b;
                    assert_eq!(is_plain(&s), !needs_escape(b), "byte {b:#04x} at {at} of {len}");
                }
            }
        }
        assert!(is_plain(b""));
        assert!(is_plain("req_01JXYZ /v1/resource/{id} é 😀".as_bytes()));
    }

    #[test]
    fn long_fields_are_cut() {
        let long = "é".repeat(MAX_FIELD_BYTES);
        let mut out = String::new();
        write_json_str(&mut out, &long).unwrap();
        let back: String = serde_json::from_str(&out).unwrap();
        assert!(back.len() <= MAX_FIELD_BYTES + '…'.len_utf8() && back.ends_with('…'), "{}", back.len());
        let mut line = String::new();
        let mut capped = Capped { out: Escaped(&mut line), left: MAX_FIELD_BYTES, cut: false };
        write!(capped, "{}", "x".repeat(3 * MAX_FIELD_BYTES)).unwrap();
        assert!(capped.cut && line.len() == MAX_FIELD_BYTES);
    }

    #[test]
    fn timestamps_are_rfc3339_utc_with_microseconds() {
        let at = UNIX_EPOCH + std::time::Duration::from_micros(1_795_000_000_123_456);
        let mut out = String::new();
        write_timestamp(&mut out, at).unwrap();
        assert_eq!(out, "2026-11-18T11:06:40.123456Z");
        // The cached second is reused, the fraction is not.
        out.clear();
        write_timestamp(&mut out, at + std::time::Duration::from_micros(7)).unwrap();
        assert_eq!(out, "2026-11-18T11:06:40.123463Z");
    }

    #[test]
    fn events_are_one_json_object_per_line() {
        use tracing_subscriber::layer::SubscriberExt;

        #[derive(Clone, Default)]
        struct Lines(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);
        impl std::io::Write for Lines {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }

        let lines = Lines::default();
        let (writer, guard) = super::super::writer::batched(lines.clone());
        let subscriber = tracing_subscriber::registry().with(JsonLines::new(writer));
        tracing::subscriber::with_default(subscriber, || {
            let route = "/v1/resource/{id}";
            tracing::info!(target: "tollgate::request", request_id = %"req_1", route = %route, status_code = 200u16,
                response_time_ms = 1.25, key_id = Some("key_1"), project = None::<&str>, ok = true, "request");
            tracing::warn!(error = ?"a \"quoted\" reason", "went wrong");
        });
        drop(guard);
        let out = String::from_utf8(lines.0.lock().unwrap().clone()).unwrap();
        let events: Vec<serde_json::Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(events.len(), 2);
        let e = &events[0];
        assert_eq!(e["level"], "INFO");
        assert_eq!(e["target"], "tollgate::request");
        assert_eq!(e["message"], "request");
        assert_eq!(e["request_id"], "req_1");
        assert_eq!(e["route"], "/v1/resource/{id}");
        assert_eq!(e["status_code"], 200);
        assert_eq!(e["response_time_ms"], 1.25);
        assert_eq!(e["key_id"], "key_1");
        assert!(e.get("project").is_none(), "a None field is left out");
        assert_eq!(e["ok"], true);
        assert!(e["timestamp"].as_str().unwrap().ends_with('Z'));
        assert_eq!(events[1]["level"], "WARN");
        assert_eq!(events[1]["error"], "\"a \\\"quoted\\\" reason\"");
    }

    #[test]
    fn lines_inside_a_request_carry_its_id() {
        use tollgate_api::middleware::request_id::{carry, scope};
        use tracing::Instrument;
        use tracing_subscriber::layer::SubscriberExt;

        let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        #[derive(Clone)]
        struct Sink(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);
        impl std::io::Write for Sink {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let (writer, guard) = super::super::writer::batched(Sink(lines.clone()));
        let subscriber = tracing_subscriber::registry().with(JsonLines::new(writer));
        tracing::subscriber::with_default(subscriber, || {
            let work = async {
                tracing::warn!(target: "tollgate_store", "inside");
                let inner = tracing::info_span!("query", db.operation = "select");
                assert!(inner.is_disabled(), "spans are refused");
                async { tracing::warn!("nested") }.instrument(inner).await;
                tracing::info!(request_id = "own", "names its own");
                // A task spawned for the request keeps its id when carried, and only then.
                tokio::spawn(carry(async { tracing::warn!("carried") })).await.unwrap();
                tokio::spawn(async { tracing::warn!("not carried") }).await.unwrap();
            };
            block_on(scope("req_42".into(), work));
            tracing::warn!("outside");
        });
        drop(guard);
        let out = String::from_utf8(lines.lock().unwrap().clone()).unwrap();
        let events: Vec<serde_json::Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(events[0]["request_id"], "req_42");
        assert_eq!(events[1]["request_id"], "req_42", "inside another span too");
        assert_eq!(events[2]["request_id"], "own");
        assert_eq!(out.lines().nth(2).unwrap().matches("request_id").count(), 1, "one request_id key");
        assert_eq!(events[3]["request_id"], "req_42");
        assert!(events[4].get("request_id").is_none());
        assert!(events[5].get("request_id").is_none());
        assert_eq!(events.len(), 6);
    }

    /// Polls a future that never waits to completion.
    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
    }
}
