//! The one refusal hyper would make before any of Tollgate's code runs and that a client can
//! cause with an ordinary request line: an HTTP version other than 1.0, 1.1 or HTTP/2's preface.
//! The connection's first bytes are peeked (not consumed); when they hold a whole request line
//! naming another version, the answer is `400 VALIDATION_FAILED` in the envelope with an
//! `X-Request-Id`, instead of hyper's bare 400. Anything else goes to hyper untouched.

use std::time::Duration;

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tollgate_core::{ErrorCode, RequestId};

/// What to do with a new connection.
pub enum FirstLine {
    /// Serve it.
    Serve,
    /// It was answered (or sent nothing in time): close it.
    Close,
}

/// Looks at the first request line, waiting at most `wait` for the first bytes.
pub async fn check(stream: &mut TcpStream, wait: Duration) -> FirstLine {
    let mut buf = [0u8; 1024];
    let n = match tokio::time::timeout(wait, stream.peek(&mut buf)).await {
        Ok(Ok(n)) if n > 0 => n,
        // Nothing in time, or the peer went: nothing to serve.
        _ => return FirstLine::Close,
    };
    let Some(version) = unsupported_version(&buf[..n]) else { return FirstLine::Serve };
    refuse(stream, &version).await;
    FirstLine::Close
}

/// The version a complete first line names, when it is one Tollgate does not speak.
fn unsupported_version(bytes: &[u8]) -> Option<String> {
    let end = bytes.iter().position(|b| *b == b'\n')?;
    let line = bytes[..end].strip_suffix(b"\r").unwrap_or(&bytes[..end]);
    let version = line.rsplit(|b| *b == b' ').next()?;
    let known: [&[u8]; 2] = [b"HTTP/1.0", b"HTTP/1.1"];
    // HTTP/2's preface is `PRI * HTTP/2.0`; any other method with 2.0 is an error hyper refuses.
    let preface = line == b"PRI * HTTP/2.0";
    (version.starts_with(b"HTTP/") && !known.contains(&version) && !preface)
        .then(|| String::from_utf8_lossy(&version[..version.len().min(32)]).into_owned())
}

async fn refuse(stream: &mut TcpStream, version: &str) {
    let request_id = RequestId::generate().to_string();
    let body = json!({"error": {
        "code": ErrorCode::ValidationFailed.as_str(),
        "message": "This server speaks HTTP/1.1 and HTTP/2 (HTTP/1.0 requests are answered in HTTP/1.1)",
        "details": {"http_version": format!("`{version}` is not supported")},
        "request_id": request_id,
    }})
    .to_string();
    let head = format!(
        "HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\nx-request-id: {request_id}\r\nconnection: close\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    // Read what was peeked, so that closing does not reset the connection before the answer
    // arrives; then answer and close.
    let mut discard = [0u8; 1024];
    let _ = stream.read(&mut discard).await;
    let _ = stream.write_all(head.as_bytes()).await;
    let _ = stream.write_all(body.as_bytes()).await;
    let _ = stream.shutdown().await;
    tracing::info!(request_id = %request_id, status_code = 400, "refused a request line with an unsupported HTTP version");
}

#[cfg(test)]
mod tests {
    use super::unsupported_version;

    #[test]
    fn only_a_whole_line_with_another_version_is_refused() {
        assert_eq!(unsupported_version(b"GET / HTTP/1.2\r\nHost: x\r\n"), Some("HTTP/1.2".into()));
        assert_eq!(unsupported_version(b"GET / HTTP/2.0\r\n"), Some("HTTP/2.0".into()));
        assert_eq!(unsupported_version(b"GET / HTTP/3\n"), Some("HTTP/3".into()));
        for fine in [
            &b"GET / HTTP/1.1\r\n"[..],
            b"GET / HTTP/1.0\r\n",
            b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
            b"GET / HTTP/1.2",
            b"garbage\r\n",
        ] {
            assert_eq!(unsupported_version(fine), None, "{}", String::from_utf8_lossy(fine));
        }
    }
}
