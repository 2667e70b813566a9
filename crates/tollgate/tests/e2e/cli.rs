//! The key commands end to end, against the same data directory as a running server, and on a
//! data directory with no server at all.

use std::time::Duration;

use reqwest::Method;
use serde_json::Value;
use tollgate_testkit::{run_cli, TestServer};

use crate::{bin, server};

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn create(s: &TestServer, scopes: &str, extra: &[&str]) -> (String, String) {
    let mut args = vec!["keys", "create", "--name", "cli", "--scopes", scopes, "--output", "json"];
    args.extend_from_slice(extra);
    let o = s.cli(&args, None, &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    (v["secret"].as_str().unwrap().to_owned(), v["key"]["id"].as_str().unwrap().to_owned())
}

async fn status_with(s: &TestServer, key: &str) -> u16 {
    s.call(Method::GET, "/v1/resource", Some(key), None).await.status.as_u16()
}

#[tokio::test]
async fn keys_commands_against_a_running_server() {
    let s = server().await;
    // Plain output: the secret alone on stdout.
    let o = s.cli(&["keys", "create", "--name", "plain", "--scopes", "resource:read"], None, &[]);
    assert!(o.status.success());
    let plain = stdout(&o).trim().to_owned();
    assert!(plain.starts_with("tgk_") && plain.len() == 50, "{plain}");
    assert_eq!(status_with(&s, &plain).await, 200);

    let (secret, id) = create(&s, "resource:read,resource:write", &["--expires-in", "90d"]);
    assert_eq!(status_with(&s, &secret).await, 200);

    let table = stdout(&s.cli(&["keys", "list"], None, &[]));
    assert!(table.starts_with("ID"), "{table}");
    assert!(table.contains(&id) && table.contains("resource:read resource:write"), "{table}");
    assert!(!table.contains(&secret));
    let json: Value = serde_json::from_str(&stdout(&s.cli(&["keys", "list", "--output", "json"], None, &[]))).unwrap();
    let mine = json.as_array().unwrap().iter().find(|k| k["id"] == id.as_str()).unwrap();
    assert!(mine["expires_at"].is_string());
    assert_eq!(mine["rotation_due"], false);
    for field in ["name", "scopes", "created_at", "last_used_at", "expires_at"] {
        assert!(mine.get(field).is_some(), "{field}");
    }

    // Rotate with no grace: the running server refuses the old secret within a second (it
    // keeps credentials in memory and sees the CLI's change at its next look).
    let o = s.cli(&["keys", "rotate", &id, "--grace", "0s", "--output", "json"], None, &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let new: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let new = new["secret"].as_str().unwrap().to_owned();
    crate::refused_within_a_second(&s, &secret).await;
    assert_eq!(status_with(&s, &new).await, 200);

    // Verify: stdin and environment, exit codes 0 and 1.
    let v = s.cli(&["keys", "verify"], Some(&format!("{new}\n")), &[]);
    assert_eq!(v.status.code(), Some(0));
    let text = stdout(&v);
    assert!(text.contains(&id) && text.contains("resource:read resource:write") && text.contains("expires:"), "{text}");
    assert_eq!(s.cli(&["keys", "verify"], None, &[("TOLLGATE_API_KEY", &new)]).status.code(), Some(0));
    assert_eq!(s.cli(&["keys", "verify"], Some(&secret), &[]).status.code(), Some(1));
    assert_eq!(s.cli(&["keys", "verify"], Some("garbage"), &[]).status.code(), Some(1));

    // Revoke: refused within a second by the server, and at once by verify.
    let o = s.cli(&["keys", "revoke", &id], None, &[]);
    assert!(o.status.success());
    crate::refused_within_a_second(&s, &new).await;
    assert_eq!(s.cli(&["keys", "verify"], Some(&new), &[]).status.code(), Some(1));

    // Mistakes get a message and a non-zero exit.
    let bad = s.cli(&["keys", "create", "--name", "x", "--scopes", "root"], None, &[]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("scope"));
    let bad = s.cli(&["keys", "revoke", "key_01ARZ3NDEKTSV4RRFFQ69G5FAV"], None, &[]);
    assert!(!bad.status.success());
    let bad = s.cli(&["keys", "list", "--project", "nope"], None, &[]);
    assert!(!bad.status.success());
}

#[tokio::test]
async fn rotation_due_is_marked() {
    let s = server().await;
    let (_, id) = create(&s, "resource:read", &[]);
    std::thread::sleep(Duration::from_millis(1100));
    let env = [("TOLLGATE_KEY_ROTATION_PERIOD", "1s")];
    let json: Value = serde_json::from_str(&stdout(&s.cli(&["keys", "list", "--output", "json"], None, &env))).unwrap();
    let mine = json.as_array().unwrap().iter().find(|k| k["id"] == id.as_str()).unwrap();
    assert_eq!(mine["rotation_due"], true);
    let table = stdout(&s.cli(&["keys", "list"], None, &env));
    assert!(table.contains("rotation due"), "{table}");
    let table = stdout(&s.cli(&["keys", "list"], None, &[]));
    assert!(!table.contains("rotation due"), "{table}");
}

#[test]
fn keys_commands_work_without_a_server() {
    let dir = tollgate_testkit::private_tempdir();
    let o =
        run_cli(bin().as_ref(), dir.path(), &["keys", "create", "--name", "offline", "--scopes", "admin"], None, &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let secret = stdout(&o).trim().to_owned();
    let v = run_cli(bin().as_ref(), dir.path(), &["keys", "verify"], Some(&secret), &[]);
    assert_eq!(v.status.code(), Some(0), "{}", stdout(&v));
    let list = run_cli(bin().as_ref(), dir.path(), &["keys", "list"], None, &[]);
    assert!(stdout(&list).contains("offline"));
}
