//! Raw sockets for the tests that are about the connection rather than the request: hand-written
//! HTTP/1.1 requests read back byte for byte, and the few HTTP/2 frames needed to open a
//! connection, send one request and watch what the server sends until it closes.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::Value;
use tollgate_testkit::TestServer;

/// A connection to `s`, with a read timeout.
pub fn connect(s: &TestServer, read_timeout: Duration) -> TcpStream {
    let stream = TcpStream::connect(s.base_url.trim_start_matches("http://")).unwrap();
    stream.set_read_timeout(Some(read_timeout)).unwrap();
    stream
}

/// One HTTP/1.1 response, read whole.
#[derive(Debug)]
pub struct WireResponse {
    /// Status code.
    pub status: u16,
    /// The header section.
    pub head: String,
    /// The body, as JSON when it is.
    pub body: Value,
}

impl WireResponse {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }

    /// Asserts the envelope with `code` and its request id in `X-Request-Id`.
    pub fn assert_envelope(&self, status: u16, code: &str) {
        assert_eq!(self.status, status, "{self:?}");
        assert_eq!(self.body["error"]["code"], code, "{self:?}");
        let id = self.header("x-request-id").expect("x-request-id");
        assert_eq!(self.body["error"]["request_id"], id, "{self:?}");
    }
}

/// Reads one response (head and `Content-Length` body); `None` if the connection ended or
/// timed out first.
pub fn read_response(stream: &mut TcpStream) -> Option<WireResponse> {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => buf.push(byte[0]),
            _ => return None,
        }
    }
    let head = String::from_utf8_lossy(&buf).into_owned();
    let status = head.get(9..12)?.parse().ok()?;
    let mut response = WireResponse { status, head, body: Value::Null };
    let len: usize = response.header("content-length").map_or(0, |v| v.parse().unwrap());
    let mut body = vec![0u8; len];
    stream.read_exact(&mut body).ok()?;
    response.body = serde_json::from_slice(&body).unwrap_or(Value::Null);
    Some(response)
}

/// Reads until the server closes the connection (or `limit` passes); the time it took and
/// every byte read.
pub fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> (Duration, Vec<u8>) {
    let started = Instant::now();
    stream.set_read_timeout(Some(limit)).unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    while started.elapsed() < limit {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
    (started.elapsed(), out)
}

/// Whether the server has closed `stream` (reads end of stream or a reset within `wait`).
pub fn is_closed(stream: &mut TcpStream, wait: Duration) -> bool {
    stream.set_read_timeout(Some(wait)).unwrap();
    let mut buf = [0u8; 1024];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) => return !matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut),
        }
    }
}

/// The client connection preface of HTTP/2 with prior knowledge.
pub const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
/// An empty SETTINGS frame.
pub const H2_SETTINGS: &[u8] = &[0, 0, 0, 4, 0, 0, 0, 0, 0];
/// HTTP/2 frame types read back.
pub const H2_HEADERS: u8 = 1;
/// GOAWAY.
pub const H2_GOAWAY: u8 = 7;

/// A HEADERS frame for `GET path` on `stream_id`; `end_headers` false leaves the header block
/// open, as a client that never finishes its request head.
pub fn h2_get(path: &str, stream_id: u32, end_headers: bool) -> Vec<u8> {
    // HPACK: indexed :method GET (2) and :scheme http (6); :path and :authority as literals
    // without indexing, with indexed names (4 and 1), no Huffman coding.
    let mut block = vec![0x82, 0x86, 0x04, path.len() as u8];
    block.extend_from_slice(path.as_bytes());
    block.extend_from_slice(&[0x01, 0x01, b'x']);
    let flags = if end_headers { 0x5 } else { 0x1 };
    let len = block.len() as u32;
    let mut frame = vec![(len >> 16) as u8, (len >> 8) as u8, len as u8, H2_HEADERS, flags];
    frame.extend_from_slice(&stream_id.to_be_bytes());
    frame.extend_from_slice(&block);
    frame
}

/// Splits what a server sent into `(type, stream id)` per frame.
pub fn h2_frames(mut bytes: &[u8]) -> Vec<(u8, u32)> {
    let mut frames = Vec::new();
    while bytes.len() >= 9 {
        let len = u32::from_be_bytes([0, bytes[0], bytes[1], bytes[2]]) as usize;
        let stream = u32::from_be_bytes([bytes[5], bytes[6], bytes[7], bytes[8]]) & 0x7fff_ffff;
        frames.push((bytes[3], stream));
        bytes = &bytes[(9 + len).min(bytes.len())..];
    }
    frames
}

/// Writes `bytes` whole.
pub fn send(stream: &mut TcpStream, bytes: &[u8]) {
    stream.write_all(bytes).unwrap();
}
