//! The examples (quoted verbatim in docs/INTEGRATION.md) run against a real server, configured
//! only by the environment, as a reader would run them.

mod common;

use std::path::PathBuf;
use std::process::Command;

use tollgate_testkit::TestServer;

/// An example binary `cargo test` built beside this test.
fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let path = exe.parent().and_then(|d| d.parent()).unwrap().join("examples").join(name);
    assert!(
        path.exists(),
        "no example binary at {}: build with `cargo build -p tollgate-client --examples`",
        path.display()
    );
    path
}

fn run(s: &TestServer, name: &str, args: &[&str]) -> String {
    let out = Command::new(example(name))
        .args(args)
        .env("TOLLGATE_ENDPOINT", &s.base_url)
        .env("TOLLGATE_API_KEY", &s.admin_key)
        .env_remove("TOLLGATE_CLIENT_ID")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{name} failed\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    stdout
}

#[tokio::test]
async fn every_example_runs() {
    let s = common::server().await;
    let created = run(&s, "create", &[]);
    let id = created.split_whitespace().nth(1).expect("created <id>").to_owned();
    assert!(id.starts_with("res_") && created.contains("(version 1)"), "{created}");
    let fetched = run(&s, "retrieve", &[&id]);
    assert!(fetched.contains("Build server (machine) version 1") && fetched.contains("eu-west-1"), "{fetched}");
    run(&s, "create", &[]);
    let listed = run(&s, "paginate", &[]);
    assert!(listed.trim_end().ends_with("2 machines"), "{listed}");
    let handled = run(&s, "errors", &[]);
    assert!(handled.starts_with("not found: 404 NOT_FOUND"), "{handled}");
    let events = run(&s, "events", &[]);
    assert!(events.contains("streamed evt_"), "{events}");
}
