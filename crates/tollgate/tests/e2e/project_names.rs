//! Project names reach other systems (NATS subjects `tollgate.<project>.<type>`): every path
//! that creates a project refuses `.`, `*`, `>` and whitespace, import included, and a refused
//! import changes nothing.

use serde_json::{json, Value};

use crate::server;

/// An export of `s` with one more project, named `name`, and the footer counted to match.
fn export_with_project(s: &tollgate_testkit::TestServer, name: &str) -> String {
    let out = s.cli(&["export"], None, &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut lines: Vec<Value> =
        String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let footer = lines.last_mut().unwrap();
    let projects = footer["counts"]["projects"].as_u64().unwrap();
    footer["counts"]["projects"] = json!(projects + 1);
    let bad = json!({"type": "project", "id": "prj_01ARZ3NDEKTSV4RRFFQ69G5FAV", "name": name, "created_at": 1_700_000_000_000_000i64});
    lines.insert(1, bad);
    lines.iter().map(|l| format!("{l}\n")).collect()
}

#[tokio::test]
async fn an_import_with_a_project_name_that_breaks_subjects_is_refused_and_writes_nothing() {
    let s = server().await;
    let before = s.count_rows("projects");
    // The same file with a valid name imports: the check is what refuses the others.
    for name in ["a.b", "x>", "all*", "two words"] {
        let file = export_with_project(&s, name);
        let out = s.cli(&["import"], Some(&file), &[]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{name:?} was imported: {stderr}");
        assert!(stderr.contains("line 2") && stderr.contains("project name"), "{name:?}: {stderr}");
        assert_eq!(s.count_rows("projects"), before, "{name:?} changed the projects");
    }
    let names = s.query("SELECT name FROM projects");
    assert!(names.iter().all(|n| !n.contains(['.', '>', '*', ' '])), "{names:?}");
    let out = s.cli(&["import"], Some(&export_with_project(&s, "fine_name")), &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(s.count_rows("projects"), before + 1);
}

#[tokio::test]
async fn the_cli_refuses_the_same_names() {
    let s = server().await;
    for name in ["a.b", "x>", "*", "a b"] {
        let out = s.cli(&["projects", "create", name], None, &[]);
        assert!(!out.status.success(), "{name:?}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("project name"), "{name:?}");
    }
    assert!(s.cli(&["projects", "create", "ok_name"], None, &[]).status.success());
}
