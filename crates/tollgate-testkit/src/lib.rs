//! Test support for end-to-end tests: [`TestServer`] spawns the real `tollgate` binary on port 0
//! with a temporary data directory, learns its address from the start-up log line and the
//! first admin key from stderr, and kills it on drop. Typed helpers return `(status, json)`.
//!
//! With `TOLLGATE_TEST_BACKEND=postgres` every server gets a fresh PostgreSQL database (created
//! on the local server, dropped afterwards) instead of SQLite, so the same suite checks both.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::Value;

/// How long a server gets to come up.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// The PostgreSQL server the tests use.
pub const POSTGRES_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// A database created for one test, dropped when the last server using it is gone.
pub struct TestDatabase {
    name: String,
    /// Its URL.
    pub url: String,
}

impl TestDatabase {
    /// Creates a fresh, empty database.
    pub fn create() -> Self {
        let name = format!("tollgate_test_{}", std::process::id()) + &format!("_{:x}", rand_suffix());
        psql(POSTGRES_ADMIN_URL, &format!("CREATE DATABASE {name}"));
        Self { url: format!("postgres://postgres@127.0.0.1:5432/{name}"), name }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let _ = Command::new("psql")
            .args([POSTGRES_ADMIN_URL, "-qtAc", &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name)])
            .output();
    }
}

fn rand_suffix() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos());
    h.finish()
}

/// Runs one SQL statement with psql and returns its rows (fields separated by `|`).
pub fn psql(url: &str, sql: &str) -> Vec<String> {
    let out = Command::new("psql").args([url, "-qtAc", sql]).output().expect("psql is installed");
    assert!(out.status.success(), "psql failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).lines().map(str::to_owned).collect()
}

/// Whether this test run uses PostgreSQL.
pub fn postgres_backend() -> bool {
    std::env::var("TOLLGATE_TEST_BACKEND").is_ok_and(|b| b == "postgres")
}

/// A running `tollgate serve`.
pub struct TestServer {
    bin: PathBuf,
    child: Option<Child>,
    data_dir: Arc<tempfile::TempDir>,
    database: Option<Arc<TestDatabase>>,
    env: HashMap<String, String>,
    args: Vec<String>,
    /// `http://127.0.0.1:PORT`.
    pub base_url: String,
    /// The admin key printed on first start (all scopes).
    pub admin_key: String,
    logs: Arc<Mutex<Vec<String>>>,
    /// A client without retries or redirects.
    pub http: reqwest::Client,
}

/// Builder for [`TestServer`].
pub struct TestServerBuilder {
    bin: PathBuf,
    env: HashMap<String, String>,
    args: Vec<String>,
    data_dir: Option<Arc<tempfile::TempDir>>,
    database: Option<Arc<TestDatabase>>,
}

impl TestServerBuilder {
    /// Sets an environment variable for the server process.
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.insert(key.to_owned(), value.to_owned());
        self
    }

    /// Adds a command-line argument after `serve`.
    pub fn arg(mut self, arg: &str) -> Self {
        self.args.push(arg.to_owned());
        self
    }

    /// Shares another server's data directory (several nodes on one store).
    pub fn data_dir_of(mut self, other: &TestServer) -> Self {
        self.data_dir = Some(other.data_dir.clone());
        self.database = other.database.clone();
        self
    }

    /// Starts the server and waits until `/health` answers.
    pub async fn start(self) -> TestServer {
        let data_dir = self.data_dir.unwrap_or_else(|| Arc::new(private_tempdir()));
        // A database URL the test set itself (say, with a password in it) wins.
        let own_url = self.env.contains_key("TOLLGATE_DATABASE_URL");
        let database = match self.database {
            Some(db) => Some(db),
            None if postgres_backend() && !own_url => Some(Arc::new(TestDatabase::create())),
            None => None,
        };
        let mut env = self.env;
        if let Some(db) = &database {
            env.insert("TOLLGATE_DATABASE_URL".into(), db.url.clone());
        }
        let mut server = TestServer {
            bin: self.bin,
            child: None,
            data_dir,
            database,
            env,
            args: self.args,
            base_url: String::new(),
            admin_key: String::new(),
            logs: Arc::default(),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(60))
                .build()
                .expect("client"),
        };
        server.spawn().await;
        server
    }
}

impl TestServer {
    /// A builder that runs `bin` (pass `env!("CARGO_BIN_EXE_tollgate")`).
    pub fn builder(bin: impl Into<PathBuf>) -> TestServerBuilder {
        // Generous limits by default so that tests of other features are not throttled; rate-limit
        // tests set their own.
        let env = [
            ("TOLLGATE_RATE_LIMIT_READ", "1000000/h"),
            ("TOLLGATE_RATE_LIMIT_WRITE", "1000000/h"),
            ("TOLLGATE_RATE_LIMIT_FAILED_AUTH", "1000000/h"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        TestServerBuilder { bin: bin.into(), env, args: Vec::new(), data_dir: None, database: None }
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        self.data_dir.path()
    }

    async fn spawn(&mut self) {
        let mut cmd = Command::new(&self.bin);
        cmd.arg("serve")
            .args(["--listen", "127.0.0.1:0", "--log-format", "json"])
            .arg("--data-dir")
            .arg(self.data_dir.path())
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("TOLLGATE_")) {
            cmd.env_remove(k);
        }
        cmd.envs(&self.env);
        let mut child = cmd.spawn().expect("spawn tollgate");
        let (addr_tx, addr_rx) = std::sync::mpsc::channel::<String>();
        let (key_tx, key_rx) = std::sync::mpsc::channel::<String>();
        let stdout = child.stdout.take().expect("stdout");
        let logs = self.logs.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Ok(v) = serde_json::from_str::<Value>(&line) {
                    if v["message"] == "listening" {
                        let _ = addr_tx.send(v["address"].as_str().unwrap_or_default().to_owned());
                    }
                }
                logs.lock().unwrap().push(line);
            }
        });
        let stderr = child.stderr.take().expect("stderr");
        let logs = self.logs.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(key) = line.split_whitespace().find(|w| w.starts_with("tgk_")) {
                    let _ = key_tx.send(key.to_owned());
                }
                logs.lock().unwrap().push(format!("stderr: {line}"));
            }
        });
        self.child = Some(child);
        let addr = match addr_rx.recv_timeout(START_TIMEOUT) {
            Ok(a) => a,
            Err(_) => panic!("tollgate did not start; output:\n{}", self.logs().join("\n")),
        };
        self.base_url = format!("http://{addr}");
        if let Ok(key) = key_rx.recv_timeout(Duration::from_millis(500)) {
            self.admin_key = key;
        }
        self.wait_healthy().await;
    }

    async fn wait_healthy(&self) {
        let deadline = Instant::now() + START_TIMEOUT;
        while Instant::now() < deadline {
            if let Ok(r) = self.http.get(self.url("/health")).send().await {
                if r.status().is_success() {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("/health never answered");
    }

    /// Every line the server wrote so far (stdout JSON lines, stderr prefixed `stderr: `).
    pub fn logs(&self) -> Vec<String> {
        self.logs.lock().unwrap().clone()
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// `kill -9`, and wait for the process to be gone.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Sends a signal (e.g. `"TERM"`) and waits up to `timeout` for exit; returns the exit code.
    pub fn signal_and_wait(&mut self, signal: &str, timeout: Duration) -> Option<i32> {
        let child = self.child.as_mut()?;
        let _ = Command::new("kill").args([&format!("-{signal}"), &child.id().to_string()]).status();
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = child.try_wait() {
                self.child = None;
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// Starts the binary again on the same data directory (after [`TestServer::kill9`]).
    pub async fn restart(&mut self) {
        self.kill9();
        self.spawn().await;
    }

    /// Runs `tollgate --data-dir DIR <args>` (on the server's database) with `stdin`.
    pub fn cli(&self, args: &[&str], stdin: Option<&str>, env: &[(&str, &str)]) -> Output {
        let mut env: Vec<(&str, &str)> = env.to_vec();
        if let Some(db) = &self.database {
            env.push(("TOLLGATE_DATABASE_URL", &db.url));
        }
        run_cli(&self.bin, self.data_dir.path(), args, stdin, &env)
    }

    /// The PostgreSQL URL, when the server runs on PostgreSQL.
    pub fn database_url(&self) -> Option<&str> {
        self.database.as_ref().map(|d| d.url.as_str())
    }

    /// Runs a query on the server's database and returns the first column of each row as text.
    pub fn query(&self, sql: &str) -> Vec<String> {
        if let Some(db) = &self.database {
            return psql(&db.url, sql);
        }
        let path = self.data_dir.path().join("tollgate.db");
        let conn =
            rusqlite::Connection::open_with_flags(&path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).expect("open db");
        let mut stmt = conn.prepare(sql).expect("prepare");
        let rows = stmt
            .query_map([], |r| {
                Ok(match r.get_ref(0)? {
                    rusqlite::types::ValueRef::Integer(i) => i.to_string(),
                    rusqlite::types::ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned(),
                    other => format!("{other:?}"),
                })
            })
            .expect("query");
        rows.map(|r| r.expect("row")).collect()
    }

    /// `base_url` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// Sends a request with an optional API key and JSON body; returns status, headers and
    /// body (JSON, or `Value::Null` when empty or not JSON).
    pub async fn call(&self, method: Method, path: &str, key: Option<&str>, body: Option<&Value>) -> Response {
        let mut req = self.http.request(method, self.url(path));
        if let Some(key) = key {
            req = req.header("x-api-key", key);
        }
        if let Some(body) = body {
            req = req.json(body);
        }
        Response::read(req.send().await.expect("request")).await
    }

    /// Counts the rows of `table` in the server's database.
    pub fn count_rows(&self, table: &str) -> i64 {
        self.query(&format!("SELECT count(*) FROM {table}"))[0].parse().expect("a count")
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// Runs the CLI against `data_dir`.
pub fn run_cli(bin: &Path, data_dir: &Path, args: &[&str], stdin: Option<&str>, env: &[(&str, &str)]) -> Output {
    use std::io::Write;
    let mut cmd = Command::new(bin);
    cmd.arg("--data-dir").arg(data_dir).args(args);
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("TOLLGATE_")) {
        cmd.env_remove(k);
    }
    cmd.envs(env.iter().copied());
    cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn tollgate cli");
    let mut pipe = child.stdin.take().expect("stdin");
    if let Some(input) = stdin {
        pipe.write_all(input.as_bytes()).expect("write stdin");
    }
    drop(pipe);
    child.wait_with_output().expect("cli output")
}

/// A response, read whole.
#[derive(Debug)]
pub struct Response {
    /// Status.
    pub status: StatusCode,
    /// Headers.
    pub headers: reqwest::header::HeaderMap,
    /// Parsed JSON body, or `Null`.
    pub body: Value,
    /// Raw body text.
    pub text: String,
}

impl Response {
    /// Reads `r` whole.
    pub async fn read(r: reqwest::Response) -> Self {
        let status = r.status();
        let headers = r.headers().clone();
        let text = r.text().await.unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Self { status, headers, body, text }
    }

    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts the error envelope with `code` and a request id matching `X-Request-Id`.
    pub fn assert_error(&self, status: u16, code: &str) -> &Value {
        assert_eq!(self.status.as_u16(), status, "status; body: {}", self.text);
        let e = &self.body["error"];
        assert_eq!(e["code"], code, "code; body: {}", self.text);
        assert!(e["message"].as_str().is_some_and(|m| !m.is_empty()), "message; body: {}", self.text);
        assert!(e["details"].is_object(), "details; body: {}", self.text);
        assert_eq!(e["request_id"].as_str(), self.header("x-request-id"), "request id; body: {}", self.text);
        assert!(self.header("content-type").is_some_and(|c| c.starts_with("application/json")), "content type");
        &e["details"]
    }
}

/// The `tollgate` binary for tests outside its own crate (which use `CARGO_BIN_EXE_tollgate`):
/// `$TOLLGATE_BIN`, else the one the same `cargo test` built next to the test executable.
pub fn tollgate_bin() -> PathBuf {
    if let Some(bin) = std::env::var_os("TOLLGATE_BIN") {
        return PathBuf::from(bin);
    }
    let exe = std::env::current_exe().expect("the test executable's path");
    // target/debug/deps/<test> -> target/debug/tollgate
    let bin = exe.parent().and_then(Path::parent).map(|dir| dir.join("tollgate")).expect("target dir");
    assert!(bin.exists(), "no tollgate binary at {}: build it with `cargo build -p tollgate`", bin.display());
    bin
}

/// A temporary directory only this user can reach, as Tollgate requires of its data directory.
pub fn private_tempdir() -> tempfile::TempDir {
    use std::os::unix::fs::PermissionsExt;
    tempfile::Builder::new().permissions(std::fs::Permissions::from_mode(0o700)).tempdir().expect("temp dir")
}
