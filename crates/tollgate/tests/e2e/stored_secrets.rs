//! What the store keeps of secrets, and who can read it: the data directory and database are
//! private whatever the umask, exports too; an older backup never brings back a revoked key or a
//! rotated-out secret; a revoked token stays refused for as long as a verifier would accept it.

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use reqwest::Method;
use serde_json::json;
use tollgate_testkit::TestServer;

use crate::oauth::{client_with, token};
use crate::{bin, server, server_with};

fn mode(p: &std::path::Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn the_data_directory_and_database_are_private_whatever_the_umask() {
    if tollgate_testkit::postgres_backend() {
        return;
    }
    let parent = tollgate_testkit::private_tempdir();
    let data = parent.path().join("data");
    let out = std::process::Command::new("sh")
        .args(["-c", "umask 000 && exec \"$0\" \"$@\"", bin(), "--data-dir"])
        .arg(&data)
        .args(["projects", "list"])
        .env_remove("TOLLGATE_DATABASE_URL")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(mode(&data), 0o700);
    // The command folded its log in and closed: the `-wal` and `-shm` files may be gone.
    assert_eq!(mode(&data.join("tollgate.db")), 0o600);
    // A server holds all three open: each is private too.
    let mut server = std::process::Command::new("sh")
        .args(["-c", "umask 000 && exec \"$0\" \"$@\"", bin(), "--data-dir"])
        .arg(&data)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env_remove("TOLLGATE_DATABASE_URL")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let files = ["tollgate.db", "tollgate.db-wal", "tollgate.db-shm"];
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !files.iter().all(|f| data.join(f).exists()) && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let modes: Vec<u32> = files.iter().map(|f| mode(&data.join(f))).collect();
    let _ = server.kill();
    let _ = server.wait();
    assert_eq!(modes, [0o600; 3], "{files:?}");
}

#[tokio::test]
async fn a_data_directory_others_can_read_stops_start_up_naming_it() {
    if tollgate_testkit::postgres_backend() {
        return;
    }
    let dir = tollgate_testkit::private_tempdir();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = tollgate_testkit::run_cli(bin().as_ref(), dir.path(), &["projects", "list"], None, &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains(&dir.path().display().to_string()) && err.contains("chmod 700"), "{err}");
    assert!(err.contains("allow_insecure_permissions"), "{err}");
    let allowed = [("TOLLGATE_ALLOW_INSECURE_PERMISSIONS", "true")];
    let out = tollgate_testkit::run_cli(bin().as_ref(), dir.path(), &["projects", "list"], None, &allowed);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

async fn status_with(s: &TestServer, key: &str) -> u16 {
    s.call(Method::GET, "/v1/resource", Some(key), None).await.status.as_u16()
}

#[tokio::test]
async fn importing_an_older_backup_brings_back_no_revoked_key_or_old_secret() {
    let s = server().await;
    let create = |name: &'static str| {
        let s = &s;
        async move {
            let body = json!({"name": name, "scopes": ["resource:read"]});
            let r = s.call(Method::POST, "/v1/keys", Some(&s.admin_key), Some(&body)).await;
            (r.body["key"]["id"].as_str().unwrap().to_owned(), r.body["secret"].as_str().unwrap().to_owned())
        }
    };
    let (revoked_id, revoked_secret) = create("to revoke").await;
    let (rotated_id, old_secret) = create("to rotate").await;
    let work = tollgate_testkit::private_tempdir();
    let backup = work.path().join("backup.jsonl");
    let out = s.cli(&["export", "--output", backup.to_str().unwrap()], None, &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(mode(&backup), 0o600, "an export holds every digest: private to its user");

    s.call(Method::DELETE, &format!("/v1/keys/{revoked_id}"), Some(&s.admin_key), None).await;
    let rotated = s
        .call(Method::POST, &format!("/v1/keys/{rotated_id}/rotate"), Some(&s.admin_key), Some(&json!({"grace": "0s"})))
        .await;
    let new_secret = rotated.body["secret"].as_str().unwrap().to_owned();
    assert_eq!(status_with(&s, &revoked_secret).await, 401);
    assert_eq!(status_with(&s, &old_secret).await, 401);

    let out = s.cli(&["import", backup.to_str().unwrap()], None, &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains(&format!("kept this installation's later state of {revoked_id}: revoked")), "{err}");
    assert!(err.contains(&format!("kept this installation's later state of {rotated_id}: newer rotation")), "{err}");
    assert_eq!(status_with(&s, &revoked_secret).await, 401, "the revoked key stays revoked");
    assert_eq!(status_with(&s, &old_secret).await, 401, "the rotated-out secret stays out");
    assert_eq!(status_with(&s, &new_secret).await, 200);
}

#[tokio::test]
async fn a_revoked_token_stays_refused_until_exp_plus_the_leeway() {
    let s = server_with(&[("TOLLGATE_TOKEN_TTL", "2s")]).await;
    let (id, secret) = client_with(&s, &["resource:read"]).await;
    let revoke = |t: String| {
        let (s, id, secret) = (&s, id.clone(), secret.clone());
        async move {
            let r = s.http.post(s.url("/oauth/revoke")).basic_auth(&id, Some(&secret)).form(&[("token", t)]);
            assert_eq!(r.send().await.unwrap().status(), 200);
        }
    };
    let first = token(&s, &id, &secret).await;
    revoke(first.clone()).await;
    // Past its exp, still inside the 60 s leeway a verifier allows: another revocation purges
    // expired denylist rows, and must not purge this one.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let second = token(&s, &id, &secret).await;
    revoke(second).await;
    let r = s.http.get(s.url("/v1/resource")).bearer_auth(&first).send().await.unwrap();
    assert_eq!(r.status(), 401, "a revoked token is refused for as long as it would verify");
}
