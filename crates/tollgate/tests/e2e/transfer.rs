//! Moving data: export from SQLite, import into PostgreSQL, export again, import into SQLite;
//! every file is the same, imports are idempotent, the moved keys still work, and a truncated
//! or corrupted file stops with the line named and writes nothing.

use std::path::Path;

use reqwest::Method;
use serde_json::json;
use tollgate_testkit::{run_cli, TestDatabase, TestServer};

use crate::{bin, key_with, widget};

fn cli(dir: &Path, db: Option<&TestDatabase>, args: &[&str]) -> std::process::Output {
    let env: Vec<(&str, &str)> = db.map(|d| vec![("TOLLGATE_DATABASE_URL", d.url.as_str())]).unwrap_or_default();
    run_cli(bin().as_ref(), dir, args, None, &env)
}

fn ok(o: std::process::Output) -> String {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The file without its header line (which holds the export time).
fn body(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path).unwrap().lines().skip(1).map(str::to_owned).collect()
}

#[tokio::test]
async fn round_trip_sqlite_postgres_sqlite_is_lossless() {
    // This test picks its backends itself; the PostgreSQL run of the suite has nothing to add.
    if tollgate_testkit::postgres_backend() {
        return;
    }
    // A source with a bit of everything, on SQLite.
    let s = TestServer::builder(bin()).start().await;
    assert!(s.cli(&["projects", "create", "other"], None, &[]).status.success());
    let reader = key_with(&s, &["resource:read"]).await;
    let rotated = s
        .call(
            Method::POST,
            "/v1/keys",
            Some(&s.admin_key),
            Some(&json!({"name": "r", "scopes": ["resource:read"], "limits": {"read": "5000/h"}})),
        )
        .await;
    let rid = rotated.body["key"]["id"].as_str().unwrap().to_owned();
    s.call(Method::POST, &format!("/v1/keys/{rid}/rotate"), Some(&s.admin_key), None).await;
    s.call(Method::POST, "/v1/clients", Some(&s.admin_key), Some(&json!({"name": "c", "scopes": ["resource:read"]})))
        .await;
    for i in 0..1205 {
        let body = json!({"name": format!("r{i}"), "type": "widget", "attributes": {"i": i.to_string()}, "data": {"nested": [i, {"b": 2, "a": 1}]}});
        assert_eq!(s.call(Method::POST, "/v1/resource", Some(&s.admin_key), Some(&body)).await.status, 201);
    }
    let one = s.call(Method::POST, "/v1/resource", Some(&s.admin_key), Some(&widget("last"))).await;
    let src = s.data_dir().to_owned();
    let work = tollgate_testkit::private_tempdir();
    let f1 = work.path().join("1.jsonl");
    let out = ok(cli(&src, None, &["export", "--output", f1.to_str().unwrap()]));
    assert!(out.contains("1206 resources"), "{out}");

    // Into PostgreSQL, twice (idempotent).
    let pg = TestDatabase::create();
    let empty = tollgate_testkit::private_tempdir();
    for _ in 0..2 {
        let out = ok(cli(empty.path(), Some(&pg), &["import", f1.to_str().unwrap()]));
        assert!(out.contains("1206 resources") && out.contains("2 projects"), "{out}");
    }
    let f2 = work.path().join("2.jsonl");
    ok(cli(empty.path(), Some(&pg), &["export", "--output", f2.to_str().unwrap()]));
    assert_eq!(body(&f1), body(&f2), "SQLite -> PostgreSQL changed the data");

    // Back into a fresh SQLite.
    let back = tollgate_testkit::private_tempdir();
    ok(cli(back.path(), None, &["import", f2.to_str().unwrap()]));
    let f3 = work.path().join("3.jsonl");
    ok(cli(back.path(), None, &["export", "--output", f3.to_str().unwrap()]));
    assert_eq!(body(&f1), body(&f3), "PostgreSQL -> SQLite changed the data");

    // The moved installation works: keys (by digest) and resources.
    drop(s);
    let moved = TestServer::builder(bin()).env("TOLLGATE_DATABASE_URL", &pg.url).start().await;
    let path = format!("/v1/resource/{}", one.body["id"].as_str().unwrap());
    let got = moved.call(Method::GET, &path, Some(&reader), None).await;
    assert_eq!(got.status, 200, "{}", got.text);
    assert_eq!(got.body, one.body);
    let page = moved.call(Method::GET, "/v1/resource?attributes[i]=42", Some(&reader), None).await;
    assert_eq!(page.body["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn truncated_or_corrupted_files_write_nothing() {
    if tollgate_testkit::postgres_backend() {
        return;
    }
    let s = TestServer::builder(bin()).start().await;
    for i in 0..20 {
        s.call(Method::POST, "/v1/resource", Some(&s.admin_key), Some(&widget(&format!("r{i}")))).await;
    }
    let work = tollgate_testkit::private_tempdir();
    let good = work.path().join("good.jsonl");
    ok(cli(s.data_dir(), None, &["export", "--output", good.to_str().unwrap()]));
    let lines: Vec<String> = std::fs::read_to_string(&good).unwrap().lines().map(str::to_owned).collect();
    let n = lines.len();
    let cases = [
        ("truncated", lines[..n - 1].join("\n"), n - 1, "truncated"),
        (
            "cut mid-line",
            format!("{}\n{}", lines[..n - 2].join("\n"), &lines[n - 2][..10]),
            n - 1,
            "not a valid export record",
        ),
        (
            "corrupted line",
            {
                let mut l = lines.clone();
                l[7] = l[7].replace("\"name\"", "\"nome\"");
                l.join("\n")
            },
            8,
            "not a valid export record",
        ),
        (
            "missing line",
            {
                let mut l = lines.clone();
                l.remove(9);
                l.join("\n")
            },
            n - 1,
            "footer counts",
        ),
        ("no header", lines[1..].join("\n"), 1, "header"),
    ];
    for (what, text, line, reason) in cases {
        let file = work.path().join(format!("{what}.jsonl"));
        std::fs::write(&file, text).unwrap();
        let target = tollgate_testkit::private_tempdir();
        let o = cli(target.path(), None, &["import", file.to_str().unwrap()]);
        assert!(!o.status.success(), "{what} was accepted");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(&format!("line {line}")) && err.contains(reason), "{what}: {err}");
        let count = run_cli(bin().as_ref(), target.path(), &["export"], None, &[]);
        let resources =
            String::from_utf8_lossy(&count.stdout).lines().filter(|l| l.contains("\"type\":\"resource\"")).count();
        assert_eq!(resources, 0, "{what} wrote something");
    }
}
