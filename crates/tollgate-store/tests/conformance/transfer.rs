//! Export and import: a round trip loses nothing, a second import changes nothing, and an older
//! backup never brings back what this installation has since ended.

use time::{Duration, OffsetDateTime};
use tollgate_auth::secret::digest_of;
use tollgate_core::{CredentialId, CredentialLimits, KeyId, NewCredential, ProjectId, Scopes};
use tollgate_store::export::ExportRecord;
use tollgate_store::{chain, Store, StoreError};

use crate::support::{exported_resources, machine, Backend, Fixture};

/// Every record of an export, its resources read back from their lines as an import reads them.
async fn export_all(s: &dyn Store) -> Vec<ExportRecord> {
    let mut out = s.export_meta(None).await.unwrap();
    out.extend(exported_resources(s, None, 2).await.into_iter().map(ExportRecord::Resource));
    out
}

/// The ids of every resource an export of `project` (or of all) holds, page by page of `per`.
async fn exported_ids(s: &dyn Store, project: Option<ProjectId>, per: u32) -> Vec<String> {
    exported_resources(s, project, per).await.into_iter().map(|r| r.id().to_owned()).collect()
}

pub async fn an_export_pages_through_one_project_or_all(f: Fixture) {
    let s = &f.store;
    let (p, q) = (f.project("p").await, f.project("q").await);
    let mut mine = Vec::new();
    let mut all = Vec::new();
    // Interleaved, so that every page of one project's export skips the other's rows.
    for i in 0..7 {
        let project = if i % 3 == 0 { q } else { p };
        let r = s.create_resource(project, machine(&format!("m{i}"), "eu"), None).await.unwrap();
        if project == p {
            mine.push(r.id.to_string());
        }
        all.push(r.id.to_string());
    }
    mine.sort();
    all.sort();
    for per in [1, 2, 3, 100] {
        assert_eq!(exported_ids(s.as_ref(), Some(p), per).await, mine, "one project, pages of {per}");
        assert_eq!(exported_ids(s.as_ref(), None, per).await, all, "all, pages of {per}");
    }
}

/// Strings of every kind: plain, escaped, control characters, multi-byte, and JSON text.
const STRINGS: [&str; 8] = [
    "Build server",
    "quote \" backslash \\ slash /",
    "tab\tnewline\nreturn\rbell\u{7}backspace\u{8}feed\u{c}unit\u{1f}del\u{7f}",
    "é ü 漢字 🚀 \u{2028}\u{2029}",
    "{\"env\":\"bench\",\"tier\":\"gold\"}",
    "say \\\"hi\\\" \\u00e9",
    "x",
    "'single' <angle> &amp;",
];

pub async fn export_lines_are_the_bytes_serde_json_writes(f: Fixture) {
    // The export writes its lines by hand (`export_line.rs`); an import reads them with
    // serde_json, and a file must not depend on the backend that wrote it: rows as each backend
    // stores and returns them, control characters and (on SQLite) a NUL included.
    let s = &f.store;
    let p = f.project("p").await;
    let mut ids = Vec::new();
    for (i, name) in STRINGS.iter().enumerate() {
        let mut r = machine(name, STRINGS[(i + 1) % STRINGS.len()]);
        r.attributes.insert("other".into(), STRINGS[(i + 2) % STRINGS.len()].into());
        r.data =
            serde_json::json!({"s": STRINGS[(i + 3) % STRINGS.len()], "n": [i, -1, 1.5e300], "nested": {"t": name}})
                .into();
        ids.push(s.create_resource(p, r, None).await.unwrap().id);
    }
    if f.backend == Backend::Sqlite {
        // SQLite keeps a NUL inside text (PostgreSQL refuses one).
        f.sql(&format!("UPDATE resources SET name = 'a' || char(0) || 'b' WHERE id = '{}'", ids[0]));
    }
    let page = s.export_resources(Some(p), None, 100, Vec::new()).await.unwrap();
    let lines: Vec<&str> = std::str::from_utf8(&page.text).unwrap().lines().collect();
    assert_eq!(lines.len(), STRINGS.len());
    ids.sort_by_key(|id| id.to_string());
    for (id, line) in ids.into_iter().zip(lines) {
        let row = s.get_resource_row(p, id).await.unwrap();
        let serde = serde_json::to_string(&ExportRecord::Resource(row)).unwrap();
        assert_eq!(line, serde, "{:?}", f.backend);
    }
}

pub async fn an_export_stops_at_a_row_whose_text_is_not_utf8(f: Fixture) {
    // PostgreSQL keeps only UTF-8 text; SQLite keeps whatever bytes it is given.
    if f.backend == Backend::Postgres {
        return;
    }
    let p = f.project("p").await;
    let r = f.store.create_resource(p, machine("m", "eu"), None).await.unwrap();
    f.sql(&format!("UPDATE resources SET name = CAST(x'6dff' AS TEXT) WHERE id = '{}'", r.id));
    let e = f.store.export_resources(None, None, 10, Vec::new()).await.unwrap_err();
    assert!(matches!(e, StoreError::Internal { .. }), "{e:?}");
    let text = chain(&e);
    assert!(text.contains(&format!("corrupt resources row {}: bad text (not UTF-8)", r.id)), "{text}");
}

pub async fn export_and_import_round_trip(f: Fixture) {
    let s = &f.store;
    let p = f.project("p").await;
    for i in 0..5 {
        s.create_resource(p, machine(&format!("m{i}"), "eu"), None).await.unwrap();
    }
    let key = NewCredential {
        id: CredentialId::ApiKey(KeyId::generate()),
        project_id: p,
        name: "k".into(),
        scopes: Scopes::all(),
        expires_at: None,
        limits: CredentialLimits::default(),
    };
    let key = s.create_credential(key, digest_of("one"), "tgk_...one1".into()).await.unwrap();
    s.rotate_credential(p, key.id.clone(), digest_of("two"), "tgk_...two2".into(), Duration::hours(1)).await.unwrap();
    let exported = export_all(s.as_ref()).await;

    let target = f.another().await;
    let summary = target.store.import(exported.clone()).await.unwrap();
    assert_eq!((summary.counts.projects, summary.counts.credentials, summary.counts.resources), (1, 1, 5));
    assert!(summary.kept.is_empty());
    assert_eq!(export_all(target.store.as_ref()).await, exported, "nothing lost, nothing changed");
    let again = target.store.import(exported.clone()).await.unwrap();
    assert!(again.kept.is_empty());
    assert_eq!(export_all(target.store.as_ref()).await, exported, "a second import changes nothing");
    let now = OffsetDateTime::now_utc();
    for secret in ["one", "two"] {
        assert!(target.store.find_credential_by_digest(digest_of(secret), now).await.unwrap().is_some(), "{secret}");
    }
    // A resource the API would refuse is refused, named, and the import writes nothing.
    let mut bad = exported.clone();
    if let Some(ExportRecord::Resource(r)) = bad.iter_mut().rev().find(|r| matches!(r, ExportRecord::Resource(_))) {
        *r = r.with(|f| f.status = "bogus".into());
    }
    let fresh = f.another().await;
    let refused = fresh.store.import(bad).await;
    assert!(matches!(&refused, Err(StoreError::Validation(e)) if e.fields().contains_key("status")), "{refused:?}");
    assert_eq!(fresh.count("resources"), 0);
    assert_eq!(fresh.count("credentials"), 0);
}

pub async fn import_keeps_the_later_state_of_credentials(f: Fixture) {
    let s = &f.store;
    let p = f.project("p").await;
    let mut ids = Vec::new();
    for name in ["revoked", "rotated"] {
        let key = NewCredential {
            id: CredentialId::ApiKey(KeyId::generate()),
            project_id: p,
            name: name.into(),
            scopes: Scopes::all(),
            expires_at: Some(OffsetDateTime::now_utc() + Duration::days(30)),
            limits: CredentialLimits::default(),
        };
        ids.push(s.create_credential(key, digest_of(name), "tgk_...hint".into()).await.unwrap().id);
    }
    let backup = export_all(s.as_ref()).await;
    // After the backup: one key revoked, the other rotated with no grace.
    s.revoke_credential(p, ids[0].clone()).await.unwrap();
    s.rotate_credential(p, ids[1].clone(), digest_of("rotated-2"), "tgk_...hin2".into(), Duration::ZERO).await.unwrap();

    let summary = s.import(backup).await.unwrap();
    let mut kept: Vec<(String, Vec<&str>)> =
        summary.kept.iter().map(|k| (k.credential.clone(), k.kept.clone())).collect();
    kept.sort();
    let mut expected = vec![(ids[0].to_string(), vec!["revoked"]), (ids[1].to_string(), vec!["newer rotation"])];
    expected.sort();
    assert_eq!(kept, expected);
    let now = OffsetDateTime::now_utc();
    assert!(s.get_credential(p, ids[0].clone()).await.unwrap().revoked_at.is_some(), "still revoked");
    assert!(s.find_credential_by_digest(digest_of("rotated"), now).await.unwrap().is_none(), "old secret not restored");
    let current = s.find_credential_by_digest(digest_of("rotated-2"), now).await.unwrap().unwrap();
    assert_eq!(current.credential.hint, "tgk_...hin2");
}
