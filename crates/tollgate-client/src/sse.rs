//! Reading Server-Sent Events (the WHATWG `text/event-stream` format) from chunks as they
//! arrive: lines end in LF, CRLF or CR, a blank line ends an event, `:` starts a comment (the
//! server's keep-alive), and several `data:` lines join with LF.

/// One event as sent: its `id:`, `event:` and `data:` fields.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct SseEvent {
    pub(crate) id: Option<String>,
    pub(crate) event: Option<String>,
    pub(crate) data: String,
}

/// An incremental parser: push bytes in, take whole events out.
#[derive(Debug, Default)]
pub(crate) struct SseParser {
    buf: Vec<u8>,
    /// A CR ended the last line: an LF right after it belongs to it.
    after_cr: bool,
    current: SseEvent,
    has_data: bool,
    ready: std::collections::VecDeque<SseEvent>,
}

impl SseParser {
    /// Adds bytes from the stream and parses every complete line.
    pub(crate) fn push(&mut self, chunk: &[u8]) {
        for &b in chunk {
            if std::mem::take(&mut self.after_cr) && b == b'\n' {
                continue;
            }
            match b {
                b'\n' | b'\r' => {
                    self.after_cr = b == b'\r';
                    let line = std::mem::take(&mut self.buf);
                    self.line(&String::from_utf8_lossy(&line));
                }
                _ => self.buf.push(b),
            }
        }
    }

    /// The next complete event, if any.
    pub(crate) fn next_event(&mut self) -> Option<SseEvent> {
        self.ready.pop_front()
    }

    /// Forgets a half-received event (the connection dropped in the middle of it).
    pub(crate) fn reset(&mut self) {
        *self = Self::default();
    }

    fn line(&mut self, line: &str) {
        if line.is_empty() {
            let event = std::mem::take(&mut self.current);
            if std::mem::take(&mut self.has_data) {
                self.ready.push_back(event);
            }
            return;
        }
        if line.starts_with(':') {
            return; // a comment: the keep-alive
        }
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line, ""),
        };
        match field {
            "id" if !value.contains('\0') => self.current.id = Some(value.to_owned()),
            "event" => self.current.event = Some(value.to_owned()),
            "data" => {
                if self.has_data {
                    self.current.data.push('\n');
                }
                self.current.data.push_str(value);
                self.has_data = true;
            }
            _ => {} // `retry:` and unknown fields
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_all(chunks: &[&[u8]]) -> Vec<SseEvent> {
        let mut p = SseParser::default();
        let mut out = Vec::new();
        for c in chunks {
            p.push(c);
            while let Some(e) = p.next_event() {
                out.push(e);
            }
        }
        out
    }

    fn ev(id: &str, event: &str, data: &str) -> SseEvent {
        SseEvent { id: Some(id.into()), event: Some(event.into()), data: data.into() }
    }

    #[test]
    fn events_split_anywhere_comments_and_line_endings() {
        let whole = b": keep-alive\n\nid: evt_1\nevent: resource.created\ndata: {\"a\":1}\n\nid:evt_2\r\nevent:x\r\ndata:1\r\ndata: 2\r\n\r\nid: evt_3\revent: y\rdata: z\r\r";
        let expected =
            vec![ev("evt_1", "resource.created", "{\"a\":1}"), ev("evt_2", "x", "1\n2"), ev("evt_3", "y", "z")];
        assert_eq!(parse_all(&[whole]), expected);
        // Byte by byte, so every split point is crossed (including between CR and LF).
        let bytes: Vec<&[u8]> = whole.chunks(1).collect();
        assert_eq!(parse_all(&bytes), expected);
    }

    #[test]
    fn an_event_without_data_is_not_dispatched_and_a_partial_one_is_dropped_on_reset() {
        assert!(parse_all(&[b"id: evt_1\nevent: x\n\n"]).is_empty());
        let mut p = SseParser::default();
        p.push(b"id: evt_1\ndata: {\"half\"");
        p.reset();
        p.push(b"id: evt_2\ndata: 2\n\n");
        assert_eq!(p.next_event(), Some(SseEvent { id: Some("evt_2".into()), event: None, data: "2".into() }));
    }
}
