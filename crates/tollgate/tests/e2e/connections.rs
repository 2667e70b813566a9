//! Connections under the protocols' limits: HTTP/2 clients that never send a request or go
//! idle are closed as HTTP/1.1 ones are, and the connection cap makes new connections wait
//! while the ones served keep working.

use std::net::TcpStream;
use std::time::{Duration, Instant};

use reqwest::Method;

use crate::server_with;
use crate::wire::{
    connect, h2_frames, h2_get, read_response, read_until_closed, send, H2_GOAWAY, H2_HEADERS, H2_PREFACE, H2_SETTINGS,
};

#[tokio::test]
async fn http2_connections_without_a_request_are_closed_in_time() {
    let s = server_with(&[("TOLLGATE_HEADER_READ_TIMEOUT", "1s"), ("TOLLGATE_IDLE_TIMEOUT", "60s")]).await;
    let opened = Instant::now();
    // The preface alone (the review held 300 of these open), the preface and SETTINGS, and a
    // request head that never ends (HEADERS without END_HEADERS, no CONTINUATION).
    let mut clients: Vec<TcpStream> = Vec::new();
    for i in 0..60 {
        let mut c = connect(&s, Duration::from_secs(5));
        match i % 3 {
            0 => send(&mut c, H2_PREFACE),
            1 => send(&mut c, &[H2_PREFACE, H2_SETTINGS].concat()),
            _ => send(&mut c, &[H2_PREFACE, H2_SETTINGS, &h2_get("/health", 1, false)].concat()),
        }
        clients.push(c);
    }
    // Meanwhile others are served.
    assert_eq!(s.call(Method::GET, "/health", None, None).await.status, 200);
    for (i, c) in clients.iter_mut().enumerate() {
        let (_, bytes) = read_until_closed(c, Duration::from_secs(6));
        let held = opened.elapsed();
        assert!(held < Duration::from_secs(4), "connection {i} held for {held:?}");
        assert!(!h2_frames(&bytes).iter().any(|(t, _)| *t == H2_HEADERS), "connection {i} got an answer");
    }
}

#[tokio::test]
async fn idle_connections_are_closed_on_both_protocols() {
    // The PING interval follows the header timeout: longer here, so that idleness closes first.
    let s = server_with(&[("TOLLGATE_HEADER_READ_TIMEOUT", "2s"), ("TOLLGATE_IDLE_TIMEOUT", "1s")]).await;
    let mut h2 = connect(&s, Duration::from_secs(5));
    send(&mut h2, &[H2_PREFACE, H2_SETTINGS, &h2_get("/health", 1, true)].concat());
    let (held, bytes) = read_until_closed(&mut h2, Duration::from_secs(8));
    let frames = h2_frames(&bytes);
    assert!(frames.contains(&(H2_HEADERS, 1)), "the request was not answered: {frames:?}");
    assert!(frames.iter().any(|(t, _)| *t == H2_GOAWAY), "closed without a GOAWAY: {frames:?}");
    // 1 s idle, then up to the header timeout for the client to acknowledge the GOAWAY (this
    // one never reads it).
    assert!(held < Duration::from_millis(4500), "an idle HTTP/2 connection held for {held:?}");
    // HTTP/1.1: an idle keep-alive connection after a request.
    let mut h1 = connect(&s, Duration::from_secs(5));
    send(&mut h1, b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(read_response(&mut h1).unwrap().status, 200);
    let (held, _) = read_until_closed(&mut h1, Duration::from_secs(8));
    assert!(held < Duration::from_secs(4), "an idle HTTP/1.1 connection held for {held:?}");
}

#[tokio::test]
async fn connections_beyond_the_cap_wait_while_the_others_are_served() {
    let mut s = server_with(&[("TOLLGATE_MAX_CONNECTIONS", "2")]).await;
    // The test kit's pooled connection would hold one of the two.
    s.http = reqwest::Client::new();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let get = b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n";
    let mut served: Vec<TcpStream> = (0..2).map(|_| connect(&s, Duration::from_secs(5))).collect();
    for c in &mut served {
        send(c, get);
        assert_eq!(read_response(c).unwrap().status, 200);
    }
    let mut waiting = connect(&s, Duration::from_millis(1500));
    send(&mut waiting, get);
    assert!(read_response(&mut waiting).is_none(), "a third connection was served over max_connections=2");
    // The two served connections keep working meanwhile.
    for c in &mut served {
        send(c, get);
        assert_eq!(read_response(c).unwrap().status, 200);
    }
    // One closes: the waiting one is accepted and answered.
    drop(served.pop());
    waiting.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    assert_eq!(read_response(&mut waiting).expect("served once a slot was free").status, 200);
}
