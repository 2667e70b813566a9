//! Configuration as the operator sees it: `tollgate config` names the source of every value and
//! masks secrets, and secret settings are read from `TOLLGATE_*_FILE`.

use std::process::Command;

use serde_json::Value;
use tollgate_testkit::TestServer;

use crate::bin;

/// Runs `tollgate <args>` in `cwd` with only `env` among the `TOLLGATE_*` variables.
fn tollgate(args: &[&str], env: &[(&str, &str)], cwd: &std::path::Path) -> std::process::Output {
    let mut cmd = Command::new(bin());
    cmd.current_dir(cwd).args(args);
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("TOLLGATE_")) {
        cmd.env_remove(k);
    }
    cmd.envs(env.iter().copied()).output().unwrap()
}

#[test]
fn config_command_names_each_source_and_masks_secrets() {
    let dir = tollgate_testkit::private_tempdir();
    let d = dir.path();
    std::fs::write(d.join("tollgate.toml"), "request_timeout = \"5s\"\nmax_connections = 50\nmetrics_emf = true\n")
        .unwrap();
    let secret = d.join("database-url");
    std::fs::write(&secret, "postgres://app:hunter2@db.internal/tollgate\n").unwrap();
    let secret = secret.to_str().unwrap();
    let env = [
        ("TOLLGATE_DATABASE_URL_FILE", secret),
        ("TOLLGATE_MAX_CONNECTIONS", "60"),
        ("TOLLGATE_NATS_URL", "nats://token-s3cr3t@nats.internal:4222"),
    ];
    let o = tollgate(&["config", "--max-connections=70", "--debug", "--output", "json"], &env, d);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let out = String::from_utf8(o.stdout).unwrap();
    let v: Value = serde_json::from_str(&out).unwrap();
    let source = |name: &str| (v[name]["value"].as_str().unwrap().to_owned(), v[name]["source"].as_str().unwrap());
    assert_eq!(source("listen"), ("127.0.0.1:8080".into(), "default"));
    assert_eq!(source("request_timeout"), ("5s".into(), "file"));
    assert_eq!(v["request_timeout"]["origin"], "tollgate.toml");
    assert_eq!(source("metrics_emf"), ("true".into(), "file"), "a TOML boolean");
    assert_eq!(source("max_connections"), ("70".into(), "flag"), "the flag wins over env and file");
    assert_eq!(source("debug"), ("true".into(), "flag"), "a switch alone means true");
    assert_eq!(source("database_url"), ("postgres://app:***@db.internal/tollgate".into(), "env"));
    assert_eq!(v["database_url"]["origin"], "TOLLGATE_DATABASE_URL_FILE");
    assert_eq!(source("nats_url").1, "env");
    // Neither output shows a password.
    let table = tollgate(&["config"], &env, d);
    let table = String::from_utf8(table.stdout).unwrap();
    assert!(table.contains("env TOLLGATE_DATABASE_URL_FILE"), "{table}");
    for text in [&out, &table] {
        assert!(!text.contains("hunter2") && !text.contains("token-s3cr3t"), "a secret was printed: {text}");
    }
    // Every declared setting is listed.
    assert!(v.as_object().unwrap().len() >= 33);
}

#[test]
fn secret_files_are_checked_like_values() {
    let dir = tollgate_testkit::private_tempdir();
    let d = dir.path();
    let secret = d.join("redis-url");
    std::fs::write(&secret, "http://user:hunter2@redis.internal\n").unwrap();
    let secret = secret.to_str().unwrap();
    let cases: [(&[(&str, &str)], &str); 3] = [
        (&[("TOLLGATE_REDIS_URL_FILE", secret)], "must start with redis://"),
        (&[("TOLLGATE_REDIS_URL_FILE", "/nonexistent/secret")], "cannot read TOLLGATE_REDIS_URL_FILE"),
        (&[("TOLLGATE_REDIS_URL_FILE", secret), ("TOLLGATE_REDIS_URL", "redis://x")], "both"),
    ];
    for (env, reason) in cases {
        let o = tollgate(&["config"], env, d);
        assert_eq!(o.status.code(), Some(2), "{env:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("invalid configuration: `redis_url`") && err.contains(reason), "{env:?}: {err}");
        assert!(!err.contains("hunter2"), "{err}");
    }
}

#[tokio::test]
async fn serve_reads_a_secret_from_its_file() {
    let dir = tollgate_testkit::private_tempdir();
    let secret = dir.path().join("redis-url");
    std::fs::write(&secret, "  redis://127.0.0.1:6379/\n").unwrap();
    let s = TestServer::builder(bin()).env("TOLLGATE_REDIS_URL_FILE", secret.to_str().unwrap()).start().await;
    // Log lines go through a non-blocking writer: the line may land just after /health answers.
    let mut listening = None;
    for _ in 0..50 {
        listening =
            s.logs().iter().filter_map(|l| serde_json::from_str::<Value>(l).ok()).find(|v| v["message"] == "listening");
        if listening.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let listening = listening.expect("the listening line");
    assert_eq!(listening["rate_limiter"], "redis");
    assert_eq!(listening["redis_url"], "redis://127.0.0.1:6379/");
}
