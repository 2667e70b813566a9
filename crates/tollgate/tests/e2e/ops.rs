//! Operations: health and readiness, request ids and log lines, configuration layering and
//! errors, graceful shutdown, and protection from slow or idle clients.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::Value;
use tollgate_testkit::TestServer;

use crate::{bin, server, server_with, widget};

#[tokio::test]
async fn health_ready_and_request_ids() {
    let s = server().await;
    let h = s.call(Method::GET, "/health", None, None).await;
    assert_eq!(h.status, 200);
    assert_eq!(h.body["status"], "ok");
    assert_eq!(h.body["version"], env!("CARGO_PKG_VERSION"));
    let r = s.call(Method::GET, "/ready", None, None).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["checks"]["database"], "ok");
    assert!(h.header("x-request-id").unwrap().starts_with("req_"));
    // A caller's well-formed id is kept; a hostile one is replaced.
    let mine = s.http.get(s.url("/health")).header("x-request-id", "trace-123").send().await.unwrap();
    assert_eq!(mine.headers()["x-request-id"], "trace-123");
    let hostile = s.http.get(s.url("/health")).header("x-request-id", "a b\"c").send().await.unwrap();
    assert!(hostile.headers()["x-request-id"].to_str().unwrap().starts_with("req_"));
}

#[tokio::test]
async fn one_json_log_line_per_request_without_secrets() {
    let s = server().await;
    let created = s.call(Method::POST, "/v1/resource", Some(&s.admin_key), Some(&widget("logged"))).await;
    let id = created.body["id"].as_str().unwrap();
    let rid = created.header("x-request-id").unwrap().to_owned();
    s.call(Method::GET, &format!("/v1/resource/{id}"), Some(&s.admin_key), None).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let logs = s.logs();
    let line = logs
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v["request_id"] == rid.as_str())
        .expect("a log line for the request");
    assert_eq!(line["method"], "POST");
    assert_eq!(line["route"], "/v1/resource");
    assert_eq!(line["status_code"], 201);
    assert_eq!(line["level"], "INFO");
    assert!(line["timestamp"].is_string() && line["response_time_ms"].is_number());
    assert!(line["key_id"].as_str().unwrap().starts_with("key_"));
    let get_line = logs
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v["method"] == "GET" && v["key_id"].is_string())
        .expect("GET line");
    assert_eq!(get_line["route"], "/v1/resource/{id}", "the route template, not the raw path");
    let secret_tail = &s.admin_key[4..];
    for l in logs.iter().filter(|l| !l.starts_with("stderr:")) {
        assert!(!l.contains(secret_tail), "a secret reached the log: {l}");
        assert!(!l.contains("logged"), "a request body reached the log: {l}");
    }
}

fn run_serve(args: &[&str], env: &[(&str, &str)], cwd: &std::path::Path) -> std::process::Output {
    let mut cmd = Command::new(bin());
    cmd.current_dir(cwd).arg("serve").args(args);
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("TOLLGATE_")) {
        cmd.env_remove(k);
    }
    cmd.envs(env.iter().copied());
    cmd.output().unwrap()
}

#[test]
fn bad_configuration_stops_start_up_naming_the_setting() {
    let dir = tollgate_testkit::private_tempdir();
    let d = dir.path();
    for (args, env, setting) in [
        (vec!["--listen", "not-an-address"], vec![], "listen"),
        (vec![], vec![("TOLLGATE_LISTEN", "127.0.0.1:99999")], "listen"),
        (vec![], vec![("TOLLGATE_REQUEST_TIMEOUT", "forever")], "request_timeout"),
        (vec![], vec![("TOLLGATE_KEY_ROTATION_PERIOD", "0s")], "key_rotation_period"),
        (vec![], vec![("TOLLGATE_DEBUG", "maybe")], "debug"),
        (vec!["--config", "/nonexistent/tollgate.toml"], vec![], "config file"),
    ] {
        let o = run_serve(&args, &env, d);
        assert_eq!(o.status.code(), Some(2), "{args:?} {env:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        let named = err.to_lowercase().contains(setting);
        assert!(err.contains("invalid configuration") && named, "{args:?} {env:?}: {err}");
    }
    std::fs::write(d.join("tollgate.toml"), "listen = \"127.0.0.1:0\"\nmystery = 1\n").unwrap();
    let o = run_serve(&[], &[], d);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("mystery"));
}

/// mimalloc asks for transparent huge pages on its heap, and each 2 MiB it touched became
/// resident whole: the server turns them off for itself before its runtime starts.
#[tokio::test]
async fn the_heap_stays_on_small_pages() {
    let s = server().await;
    for i in 0..200 {
        s.call(Method::POST, "/v1/resource", Some(&s.admin_key), Some(&widget(&format!("page {i}")))).await;
    }
    let proc = |file: &str| std::fs::read_to_string(format!("/proc/{}/{file}", s.pid())).unwrap();
    let field = |text: &str, name: &str| -> Option<u64> {
        let line = text.lines().find(|l| l.starts_with(name))?;
        line.split_whitespace().nth(1)?.parse().ok()
    };
    // `THP_enabled` is in /proc since Linux 5.0; without it the kernel has no switch to read.
    if let Some(enabled) = field(&proc("status"), "THP_enabled:") {
        assert_eq!(enabled, 0, "transparent huge pages are off for the server");
    }
    assert_eq!(field(&proc("smaps_rollup"), "AnonHugePages:"), Some(0), "no heap page is a huge one");
}

#[tokio::test]
async fn configuration_layers_file_env_flags() {
    let dir = tollgate_testkit::private_tempdir();
    let data = dir.path().join("from-file");
    let toml = format!("listen = \"127.0.0.1:0\"\ndata_dir = \"{}\"\nrequest_timeout = \"5s\"\n", data.display());
    let config = dir.path().join("tollgate.toml");
    std::fs::write(&config, toml).unwrap();
    // File alone: its data_dir is used (this test is about SQLite's data directory).
    if tollgate_testkit::postgres_backend() {
        return;
    }
    let s = TestServer::builder(bin()).env("TOLLGATE_CONFIG", config.to_str().unwrap()).start().await;
    // The test kit passes --data-dir, so the flag wins over the file...
    assert!(s.data_dir().join("tollgate.db").exists());
    assert!(!data.join("tollgate.db").exists());
    drop(s);
    // ...and the environment wins over the file when no flag is given.
    let env_dir = dir.path().join("from-env");
    let mut child = Command::new(bin())
        .args(["--config", config.to_str().unwrap(), "serve", "--log-format", "json"])
        .env("TOLLGATE_DATA_DIR", &env_dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !env_dir.join("tollgate.db").exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(env_dir.join("tollgate.db").exists());
    assert!(!data.join("tollgate.db").exists());
}

#[tokio::test]
async fn sigterm_drains_and_exits_cleanly() {
    let mut s = server().await;
    assert_eq!(s.call(Method::GET, "/health", None, None).await.status, 200);
    let code = s.signal_and_wait("TERM", Duration::from_secs(10));
    assert_eq!(code, Some(0));
    assert!(s.logs().iter().any(|l| l.contains("stopped")));
}

/// A stopped server, and a CLI command run while none is, leave every write in `tollgate.db`
/// itself and an empty log: a copy of the database file alone is whole.
#[tokio::test]
async fn a_stopped_server_leaves_its_writes_in_the_database_file() {
    if tollgate_testkit::postgres_backend() {
        return; // SQLite's write-ahead log
    }
    let mut s = server().await;
    let mut ids = Vec::new();
    for i in 0..5 {
        let r = s.call(Method::POST, "/v1/resource", Some(&s.admin_key), Some(&widget(&format!("w{i}")))).await;
        assert_eq!(r.status, 201);
        ids.push(r.body["id"].as_str().unwrap().to_owned());
    }
    let wal = s.data_dir().join("tollgate.db-wal");
    // Emptied, or removed by SQLite when the last connection closed.
    let logged = || std::fs::metadata(&wal).map_or(0, |m| m.len());
    assert!(logged() > 0, "the writes are in the log while it runs");
    assert_eq!(s.signal_and_wait("TERM", Duration::from_secs(10)), Some(0));
    assert!(s.logs().iter().any(|l| l.contains("write-ahead log folded into the database file")), "{:?}", s.logs());
    assert_eq!(logged(), 0);

    let copy = tollgate_testkit::private_tempdir();
    std::fs::copy(s.data_dir().join("tollgate.db"), copy.path().join("tollgate.db")).unwrap();
    let exported = copy.path().join("export.jsonl");
    let out = tollgate_testkit::run_cli(
        std::path::Path::new(bin()),
        copy.path(),
        &["export", "--output", exported.to_str().unwrap()],
        None,
        &[],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = std::fs::read_to_string(&exported).unwrap();
    for id in &ids {
        assert!(text.contains(id.as_str()), "{id} is missing from the copy of tollgate.db alone");
    }
    // The CLI's own writes too: a key created with no server running.
    let out = tollgate_testkit::run_cli(
        std::path::Path::new(bin()),
        s.data_dir(),
        &["keys", "create", "--name", "later", "--scopes", "resource:read"],
        None,
        &[],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(logged(), 0, "the CLI folded its write");
}

#[tokio::test]
async fn slow_and_idle_clients_cannot_hold_the_server() {
    let s = server_with(&[("TOLLGATE_HEADER_READ_TIMEOUT", "1s"), ("TOLLGATE_REQUEST_TIMEOUT", "1s")]).await;
    let addr = s.base_url.trim_start_matches("http://").to_owned();
    // Idle connection and half-sent headers: closed after the header timeout.
    let mut idle = TcpStream::connect(&addr).unwrap();
    let mut partial = TcpStream::connect(&addr).unwrap();
    partial.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n").unwrap();
    // Meanwhile others are served.
    assert_eq!(s.call(Method::GET, "/health", None, None).await.status, 200);
    for stream in [&mut idle, &mut partial] {
        stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let started = Instant::now();
        let mut buf = Vec::new();
        let _ = stream.read_to_end(&mut buf);
        assert!(started.elapsed() < Duration::from_secs(4), "connection held for {:?}", started.elapsed());
    }
    // A body that never finishes: 408 in the envelope after the request timeout.
    let mut slow = TcpStream::connect(&addr).unwrap();
    let head = format!(
        "POST /v1/resource HTTP/1.1\r\nHost: x\r\nX-API-Key: {}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"na",
        s.admin_key
    );
    slow.write_all(head.as_bytes()).unwrap();
    slow.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut buf = [0u8; 4096];
    let n = slow.read(&mut buf).unwrap();
    let text = String::from_utf8_lossy(&buf[..n]);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains("REQUEST_TIMEOUT"), "{text}");
    assert_eq!(s.count_rows("resources"), 0);
}

#[tokio::test]
async fn made_up_methods_are_other_in_logs_and_emf() {
    let s = server_with(&[("TOLLGATE_METRICS_EMF", "true"), ("TOLLGATE_METRICS_EMF_INTERVAL", "1s")]).await;
    let long = "X".repeat(100 * 1024);
    for method in ["BREW", "WHEN", "PROPFIND", long.as_str()] {
        let m = Method::from_bytes(method.as_bytes()).unwrap();
        s.call(m, "/v1/resource", Some(&s.admin_key), None).await.assert_error(405, "METHOD_NOT_ALLOWED");
    }
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let lines: Vec<Value> = s.logs().iter().filter_map(|l| serde_json::from_str(l).ok()).collect();
    let requests: Vec<&Value> = lines.iter().filter(|v| v["message"] == "request" && v["status_code"] == 405).collect();
    assert_eq!(requests.len(), 4, "one line per request");
    assert!(requests.iter().all(|v| v["method"] == "_OTHER"), "{requests:?}");
    let dimensions: std::collections::BTreeSet<&str> =
        lines.iter().filter(|v| v.get("_aws").is_some()).filter_map(|v| v["Method"].as_str()).collect();
    assert!(dimensions.contains("_OTHER"), "no EMF line for the made-up methods");
    assert!(dimensions.iter().all(|m| ["GET", "_OTHER"].contains(m)), "{dimensions:?}");
    let longest = s.logs().iter().map(String::len).max().unwrap_or(0);
    assert!(longest < 8 * 1024, "a log line of {longest} bytes");
}

#[tokio::test]
async fn debug_logging_is_switchable() {
    let s = server_with(&[("TOLLGATE_DEBUG", "true")]).await;
    s.call(Method::GET, "/v1/resource", Some(&s.admin_key), None).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(s.logs().iter().any(|l| l.contains("\"level\":\"DEBUG\"")), "no debug lines");
}

#[tokio::test]
async fn the_default_level_leaves_debug_lines_out() {
    // The counterpart of the test above: the JSON lines go through the level filter too.
    let s = server().await;
    s.call(Method::GET, "/v1/resource", Some(&s.admin_key), None).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let logs = s.logs();
    assert!(logs.iter().any(|l| l.contains("\"route\":\"/v1/resource\"")), "no request line");
    assert!(!logs.iter().any(|l| l.contains("\"level\":\"DEBUG\"")), "debug lines at the default level");
}

#[tokio::test]
async fn sigterm_stops_background_work_and_flushes_the_last_emf_batch() {
    // A free port for the separate metrics listener.
    let metrics_addr = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().to_string();
    // An interval far longer than the test: any EMF line comes from the final flush.
    let mut s = server_with(&[
        ("TOLLGATE_METRICS_EMF", "true"),
        ("TOLLGATE_METRICS_EMF_INTERVAL", "1h"),
        ("TOLLGATE_METRICS_LISTEN", &metrics_addr),
        ("TOLLGATE_LOG_LEVEL", "debug"),
    ])
    .await;
    s.call(Method::GET, "/v1/resource", Some(&s.admin_key), None).await;
    let scrape = reqwest::get(format!("http://{metrics_addr}/metrics")).await.unwrap();
    assert_eq!(scrape.status(), 200);
    let emf_lines = |logs: &[String]| logs.iter().filter(|l| l.contains("\"_aws\"")).count();
    assert_eq!(emf_lines(&s.logs()), 0, "no EMF line before the interval");
    let started = Instant::now();
    let code = s.signal_and_wait("TERM", Duration::from_secs(30));
    assert_eq!(code, Some(0), "exit within the drain period");
    assert!(started.elapsed() < Duration::from_secs(10), "shutdown took {:?}", started.elapsed());
    // The output threads read to the end of the pipes.
    let deadline = Instant::now() + Duration::from_secs(2);
    while !s.logs().iter().any(|l| l.contains("\"stopped\"")) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let logs = s.logs();
    assert!(emf_lines(&logs) >= 1, "the last EMF batch was lost:\n{}", logs.join("\n"));
    let routes: Vec<Value> = logs
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v.get("_aws").is_some())
        .map(|v| v["Route"].clone())
        .collect();
    assert!(routes.contains(&Value::from("/v1/resource")), "the last request is in the last batch: {routes:?}");
    for task in ["emf flusher", "metrics listener", "webhook dispatcher"] {
        let stopped = logs
            .iter()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .any(|v| v["message"] == "background task stopped" && v["task"] == task);
        assert!(stopped, "{task} was not stopped and awaited:\n{}", logs.join("\n"));
    }
    assert!(TcpStream::connect(&metrics_addr).is_err(), "the metrics port is still open");
}

#[tokio::test]
async fn log_lines_inside_a_request_carry_its_id() {
    let s = server_with(&[("TOLLGATE_LOG_LEVEL", "debug"), ("TOLLGATE_RATE_LIMIT_FAILED_AUTH", "1/1m")]).await;
    let get = |id: &'static str, key: String| {
        let request = s.http.get(s.url("/v1/resource")).header("x-request-id", id).header("x-api-key", key);
        async move { request.send().await.unwrap().status().as_u16() }
    };
    assert_eq!(get("probe-ok", s.admin_key.clone()).await, 200);
    let (head, last) = s.admin_key.split_at(s.admin_key.len() - 1);
    let wrong = format!("{head}{}", if last == "x" { "y" } else { "x" });
    assert_eq!(get("probe-fail-1", wrong.clone()).await, 401);
    assert_eq!(get("probe-fail-2", wrong).await, 429);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let lines: Vec<Value> = s.logs().iter().filter_map(|l| serde_json::from_str(l).ok()).collect();
    let id_of = |message: &str| {
        let line = lines.iter().find(|v| v["message"] == message);
        line.unwrap_or_else(|| panic!("no line {message:?}")).get("request_id").cloned()
    };
    // The auth extractor, the failed-authentication limiter after counting (info) and before
    // refusing (debug): none of them is handed the id, the request's task-local carries it.
    assert_eq!(id_of("authenticated"), Some("probe-ok".into()));
    let counted = "too many failed authentications: the address is refused until the oldest leaves the window";
    assert_eq!(id_of(counted), Some("probe-fail-1".into()));
    assert_eq!(id_of("refused an authentication attempt: too many failures"), Some("probe-fail-2".into()));
    // Lines outside any request carry none.
    assert!(id_of("listening").is_none());
    if tollgate_testkit::postgres_backend() {
        // The driver's own query lines, emitted inside the store during the request, too.
        let queries = lines.iter().filter(|v| v["target"].as_str().is_some_and(|t| t.starts_with("sqlx")));
        assert!(queries.clone().any(|v| v["request_id"] == "probe-ok"), "no store line with the request's id");
    }
}
