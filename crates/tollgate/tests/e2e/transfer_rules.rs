//! Import applies the API's write rules and the file's integrity rules to every record: a real
//! export with one record altered is refused whole, the line and the field named, and nothing
//! of it written; the same file unaltered imports, into this installation and an empty one.

use reqwest::Method;
use serde_json::{json, Value};
use tollgate_testkit::{run_cli, TestDatabase, TestServer};

use crate::{bin, server, widget};

/// A resource the base file adds before every other resource (a ULID from 2016, so that it sorts
/// first): a refused file must not have written it either.
const EXTRA: &str = "res_01ARZ3NDEKTSV4RRFFQ69G5FAV";
/// A project id that no file here lists.
const STRANGER: &str = "prj_01ARZ3NDEKTSV4RRFFQ69G5FAV";

/// The export of `s` as records, and its lines without the header (which holds the time).
fn export(s: &TestServer) -> Vec<Value> {
    let out = s.cli(&["export"], None, &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

fn body(records: &[Value]) -> Vec<String> {
    records.iter().skip(1).map(Value::to_string).collect()
}

fn text(records: &[Value]) -> String {
    records.iter().map(|r| format!("{r}\n")).collect()
}

/// `s`'s export with [`EXTRA`] inserted before its first resource, the footer counting it.
fn base_file(s: &TestServer) -> Vec<Value> {
    let mut records = export(s);
    let at = records.iter().position(|r| r["type"] == "resource").unwrap();
    let mut extra = records[at].clone();
    extra["id"] = json!(EXTRA);
    extra["name"] = json!("extra");
    records.insert(at, extra);
    let footer = records.last_mut().unwrap();
    footer["counts"]["resources"] = json!(footer["counts"]["resources"].as_u64().unwrap() + 1);
    records
}

type Pick = fn(&Value) -> bool;
type Change = fn(&mut Value);

fn resource(r: &Value) -> bool {
    r["type"] == "resource" && r["id"] != EXTRA
}
fn key(r: &Value) -> bool {
    r["type"] == "credential" && r["kind"] == "api_key"
}
fn client(r: &Value) -> bool {
    r["type"] == "credential" && r["kind"] == "oauth_client"
}
fn project(r: &Value) -> bool {
    r["type"] == "project"
}
fn setting(r: &Value) -> bool {
    r["type"] == "setting"
}

/// Each case: which record, what is done to it, the field the refusal must name (as printed,
/// escaped).
const CASES: &[(&str, Pick, Change, &str)] = &[
    ("empty name", resource, |r| r["name"] = json!(""), "name"),
    ("300-character name", resource, |r| r["name"] = json!("n".repeat(300)), "name"),
    ("control character in name", resource, |r| r["name"] = json!("a\u{7}b"), "name"),
    ("NUL in name", resource, |r| r["name"] = json!("a\u{0}b"), "name"),
    ("bad type", resource, |r| r["resource_type"] = json!("Bad Type!"), "resource_type"),
    ("attribute key with a space", resource, |r| r["attributes"] = json!(r#"{"a b":"x"}"#), "attributes.a b"),
    ("empty attribute key", resource, |r| r["attributes"] = json!(r#"{"":"x"}"#), "attributes."),
    (
        "attribute key with an escape",
        resource,
        |r| r["attributes"] = json!("{\"\\u001b[2J\":\"x\"}"),
        "attributes.\\u{1b}[2J",
    ),
    ("NUL in an attribute", resource, |r| r["attributes"] = json!("{\"k\":\"a\\u0000\"}"), "attributes.k"),
    ("attributes not JSON", resource, |r| r["attributes"] = json!("{"), "attributes"),
    ("3 MB of data", resource, |r| r["data"] = json!(format!("\"{}\"", "x".repeat(3 << 20))), "data"),
    ("NUL in data", resource, |r| r["data"] = json!("{\"k\\u0000\":1}"), "data"),
    ("unknown status", resource, |r| r["status"] = json!("deleted"), "status"),
    ("negative version", resource, |r| r["version"] = json!(-5), "version"),
    ("version at i64::MAX", resource, |r| r["version"] = json!(i64::MAX), "version"),
    ("created_at 2^62", resource, |r| r["created_at"] = json!(1i64 << 62), "created_at"),
    ("created_at -2^62", resource, |r| r["created_at"] = json!(-(1i64 << 62)), "created_at"),
    ("updated_at i64::MAX", resource, |r| r["updated_at"] = json!(i64::MAX), "updated_at"),
    ("resource id of a key", resource, |r| r["id"] = json!("key_01ARZ3NDEKTSV4RRFFQ69G5FAV"), "id"),
    ("resource id twice", resource, |r| r["id"] = json!(EXTRA), "id"),
    ("resource of no listed project", resource, |r| r["project_id"] = json!(STRANGER), "project_id"),
    ("key_ id as an oauth_client", key, |r| r["kind"] = json!("oauth_client"), "kind"),
    ("unknown credential kind", key, |r| r["kind"] = json!("root"), "kind"),
    ("tgc_ id as an api_key", client, |r| r["kind"] = json!("api_key"), "kind"),
    ("unknown scope", key, |r| r["scopes"] = json!("resource:read root"), "scopes"),
    ("no scope", key, |r| r["scopes"] = json!(""), "scopes"),
    ("limit that does not parse", key, |r| r["limit_read"] = json!("lots"), "limit_read"),
    ("limit with a bell", key, |r| r["limit_read"] = json!("5\u{7}/h"), "limit_read"),
    ("zero limit", key, |r| r["limit_write"] = json!("0/h"), "limit_write"),
    ("empty credential name", key, |r| r["name"] = json!(""), "name"),
    ("control character in credential name", client, |r| r["name"] = json!("c\u{1b}[31m"), "name"),
    ("hint with an escape", key, |r| r["hint"] = json!("\u{1b}[2J"), "hint"),
    ("expires_at i64::MAX", key, |r| r["expires_at"] = json!(i64::MAX), "expires_at"),
    ("revoked_at -2^62", client, |r| r["revoked_at"] = json!(-(1i64 << 62)), "revoked_at"),
    ("digest not hex", key, |r| r["secrets"][0]["digest"] = json!("zz"), "secrets[0].digest"),
    ("secret created 2^62", key, |r| r["secrets"][0]["created_at"] = json!(1i64 << 62), "secrets[0].created_at"),
    ("credential of no listed project", client, |r| r["project_id"] = json!(STRANGER), "project_id"),
    ("project created before 1970", project, |r| r["created_at"] = json!(-1), "created_at"),
    ("project id without its prefix", project, |r| r["id"] = json!("01ARZ3NDEKTSV4RRFFQ69G5FAV"), "id"),
    ("project name with a dot", project, |r| r["name"] = json!("a.b"), "name"),
    ("unknown setting", setting, |r| r["key"] = json!("evil"), "key"),
];

/// An installation with a bit of everything: two projects, a key with limits, a client, resources.
async fn source() -> TestServer {
    let s = server().await;
    assert!(s.cli(&["projects", "create", "other"], None, &[]).status.success());
    let key = json!({"name": "k", "scopes": ["resource:read"], "limits": {"read": "5000/h"}});
    assert_eq!(s.call(Method::POST, "/v1/keys", Some(&s.admin_key), Some(&key)).await.status, 201);
    let client = json!({"name": "c", "scopes": ["resource:read"]});
    assert_eq!(s.call(Method::POST, "/v1/clients", Some(&s.admin_key), Some(&client)).await.status, 201);
    for i in 0..3 {
        let r = s.call(Method::POST, "/v1/resource", Some(&s.admin_key), Some(&widget(&format!("r{i}")))).await;
        assert_eq!(r.status, 201, "{}", r.text);
    }
    s
}

#[tokio::test]
async fn a_crafted_record_is_refused_whole_with_its_line_and_field_named() {
    let s = source().await;
    let mut before = export(&s);
    let base = base_file(&s);
    let work = tollgate_testkit::private_tempdir();
    let pristine = work.path().join("pristine.jsonl");
    let mut failed = Vec::new();
    for (what, pick, change, field) in CASES {
        let mut records = base.clone();
        let at = records.iter().position(pick).unwrap_or_else(|| panic!("{what}: no such record"));
        change(&mut records[at]);
        let file = work.path().join("crafted.jsonl");
        std::fs::write(&file, text(&records)).unwrap();
        let out = s.cli(&["import", file.to_str().unwrap()], None, &[]);
        let err = String::from_utf8_lossy(&out.stderr);
        let line = format!("line {}: ", at + 1);
        // A field is printed after the record (`: `) or another field's reason (`; `), then `: `.
        let printed = [format!(": {field}: "), format!("; {field}: ")];
        let named = !out.status.success() && err.contains(&line) && printed.iter().any(|p| err.contains(p.as_str()));
        // What the file holds is printed escaped.
        let escaped = !err.contains(['\u{0}', '\u{7}', '\u{1b}']);
        let after = export(&s);
        let untouched = body(&after) == body(&before);
        if !(named && escaped && untouched) {
            failed.push(format!(
                "{what}: {line}{field} named {named}, escaped {escaped}, nothing written {untouched}: {err:?}"
            ));
        }
        if !untouched {
            // Undo what it changed, as far as the first export can, so that the next case is judged alone.
            std::fs::write(&pristine, text(&before)).unwrap();
            s.cli(&["import", pristine.to_str().unwrap()], None, &[]);
            before = export(&s);
        }
    }
    assert!(failed.is_empty(), "{} of {} cases failed:\n{}", failed.len(), CASES.len(), failed.join("\n"));

    // The same file unaltered imports: the checks are what refused the others.
    let file = work.path().join("base.jsonl");
    std::fs::write(&file, text(&base)).unwrap();
    let out = s.cli(&["import", file.to_str().unwrap()], None, &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(body(&export(&s)), body(&base));
    let extra = s.call(Method::GET, &format!("/v1/resource/{EXTRA}"), Some(&s.admin_key), None).await;
    assert_eq!((extra.status.as_u16(), &extra.body["name"]), (200, &json!("extra")), "{}", extra.text);
    // What was imported takes a change, as what the API wrote does.
    let path = format!("/v1/resource/{EXTRA}");
    let patched = s.call(Method::PATCH, &path, Some(&s.admin_key), Some(&json!({"name": "changed"}))).await;
    assert_eq!(patched.status, 200, "{}", patched.text);
    assert_eq!(patched.body["version"], json!(extra.body["version"].as_i64().unwrap() + 1));
}

/// A valid export imports into an empty installation (on the suite's backend) and exports
/// again as it was.
#[tokio::test]
async fn a_valid_export_round_trips_through_import() {
    let s = source().await;
    let work = tollgate_testkit::private_tempdir();
    let file = work.path().join("export.jsonl");
    let mut records = export(&s);
    // Each time is `now()` on the node that handled the request: a change on a node whose clock
    // is a few milliseconds behind is stamped before the creation, and its export imports.
    let at = records.iter().position(resource).unwrap();
    records[at]["updated_at"] = json!(records[at]["created_at"].as_i64().unwrap() - 3_000);
    let at = records.iter().position(key).unwrap();
    records[at]["rotated_at"] = json!(records[at]["created_at"].as_i64().unwrap() - 3_000);
    std::fs::write(&file, text(&records)).unwrap();
    let pg = tollgate_testkit::postgres_backend().then(TestDatabase::create);
    let env: Vec<(&str, &str)> = pg.iter().map(|d| ("TOLLGATE_DATABASE_URL", d.url.as_str())).collect();
    let target = tollgate_testkit::private_tempdir();
    let cli = |args: &[&str]| run_cli(bin().as_ref(), target.path(), args, None, &env);
    let out = cli(&["import", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = cli(&["export"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let again: Vec<Value> =
        String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(body(&again), body(&records));
}
