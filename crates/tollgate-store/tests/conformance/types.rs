//! Resource types: registration, versions, the check every write makes (create, update, batch
//! and import alike), the project rule for unregistered types, and deletion.

use std::time::Duration;

use serde_json::json;
use tollgate_core::resource_type::TypeDefinition;
use tollgate_store::{BatchOp, ResourceUpdate, StoreError};

use crate::support::{machine, Fixture};

fn definition(max_cpus: i64) -> TypeDefinition {
    let body = json!({"schema": {"type": "object", "properties": {"cpus": {"type": "integer", "maximum": max_cpus}}},
                      "attributes": {"region": {"required": true}}});
    TypeDefinition::parse(&body, false).unwrap().1
}

fn violations(e: StoreError) -> Vec<String> {
    match e {
        StoreError::SchemaViolations(v) => v.into_iter().map(|v| v.pointer).collect(),
        StoreError::Batch { error, .. } => violations(*error),
        other => panic!("{other:?}"),
    }
}

pub async fn writes_are_checked_against_their_registered_type(f: Fixture) {
    let s = &f.store;
    let (p, other) = (f.project("p").await, f.project("other").await);
    let t = s.create_type(p, "machine".into(), definition(16)).await.unwrap();
    assert_eq!(t.version, 1);
    assert!(matches!(s.create_type(p, "machine".into(), definition(16)).await, Err(StoreError::Conflict(_))));

    let mut too_big = machine("a", "eu");
    too_big.data = json!({"cpus": 32}).into();
    too_big.attributes.clear();
    let e = s.create_resource(p, too_big.clone(), None).await.unwrap_err();
    assert_eq!(violations(e), ["/data/cpus", "/attributes/region"]);
    assert_eq!(f.count("resources"), 0);
    // Another project has no such type: the same write is accepted there.
    s.create_resource(other, too_big, None).await.unwrap();

    let ok = s.create_resource(p, machine("b", "eu"), None).await.unwrap();
    let patch = ResourceUpdate { patch: json!({"data": {"cpus": 64}}), precondition: None };
    assert_eq!(violations(s.update_resource(p, ok.id, patch.clone(), None).await.unwrap_err()), ["/data/cpus"]);
    let batch = vec![BatchOp::Create(machine("c", "eu")), BatchOp::Update { id: ok.id, update: patch.clone() }];
    assert_eq!(violations(s.apply_batch(p, batch, None).await.unwrap_err()), ["/data/cpus"]);

    // A new version applies to the next write, on every node (the version is read per write).
    assert_eq!(s.update_type(p, "machine".into(), definition(128)).await.unwrap().version, 2);
    assert_eq!(s.update_resource(p, ok.id, patch, None).await.unwrap().version, 2);

    // Unregistered types pass until the project requires registration.
    let mut disk = machine("d", "eu");
    disk.kind = "disk".into();
    s.create_resource(p, disk.clone(), None).await.unwrap();
    s.set_require_registered_types(p, true).await.unwrap();
    assert!(s.require_registered_types(p).await.unwrap());
    assert_eq!(violations(s.create_resource(p, disk, None).await.unwrap_err()), ["/type"]);

    // Deletion waits for the type's resources.
    assert!(matches!(s.delete_type(p, "machine".into()).await, Err(StoreError::Conflict(_))));
    s.delete_resource(p, ok.id, None).await.unwrap();
    s.delete_type(p, "machine".into()).await.unwrap();
    assert!(matches!(s.get_type(p, "machine".into()).await, Err(StoreError::NotFound)));
    assert!(s.list_types(other).await.unwrap().is_empty());
}

/// A type deleted and registered again starts at version 1 again: a write checks it against the
/// new schema, not the deleted one's compiled schema cached (one store, so one cache).
pub async fn a_type_registered_again_is_checked_against_its_new_schema(f: Fixture) {
    let s = &f.store;
    let p = f.project("p").await;
    let requiring = |field: &str| {
        let body = json!({"schema": {"type": "object", "required": [field]}});
        TypeDefinition::parse(&body, false).unwrap().1
    };
    let widget = |data: serde_json::Value| {
        let mut w = machine("w", "eu");
        w.kind = "widget".into();
        w.data = data.into();
        w
    };
    assert_eq!(s.create_type(p, "widget".into(), requiring("a")).await.unwrap().version, 1);
    // Written, so the schema requiring `a` is compiled and cached.
    let old = s.create_resource(p, widget(json!({"a": 1})), None).await.unwrap();
    s.delete_resource(p, old.id, None).await.unwrap();
    s.delete_type(p, "widget".into()).await.unwrap();

    assert_eq!(s.create_type(p, "widget".into(), requiring("b")).await.unwrap().version, 1);
    s.create_resource(p, widget(json!({"b": 1})), None).await.expect("checked against the new schema");
    assert_eq!(violations(s.create_resource(p, widget(json!({"a": 1})), None).await.unwrap_err()), ["/data"]);
}

/// Rounds of [`deleting_a_type_races_creating_its_resource`].
const ROUNDS: u64 = 40;

/// A type's deletion racing the create of its first resource (the project requires registered
/// types): never do both succeed, and a resource never outlives its type. One starts 0 to 1 ms
/// before the other, or the delete up to 2 ms after the create, in fine steps, so that each
/// lands in every part of the other.
pub async fn deleting_a_type_races_creating_its_resource(f: Fixture) {
    let s = &f.store;
    let p = f.project("p").await;
    s.set_require_registered_types(p, true).await.unwrap();
    let mut wrong = Vec::new();
    for round in 0..ROUNDS {
        let kind = format!("t{round}");
        s.create_type(p, kind.clone(), definition(16)).await.unwrap();
        let mut content = machine("r", "eu");
        content.kind = kind.clone();
        // Microseconds the delete starts after the create (before it, if negative).
        let lead = i64::try_from(round * 3000 / ROUNDS).unwrap() - 1000;
        let (created, deleted) = tokio::join!(
            async {
                pause(-lead).await;
                s.create_resource(p, content, None).await
            },
            async {
                pause(lead).await;
                s.delete_type(p, kind.clone()).await
            }
        );
        match (created, deleted) {
            (Ok(_), Err(StoreError::Conflict(_))) => s.get_type(p, kind).await.map(drop).unwrap(),
            (Err(e @ StoreError::SchemaViolations(_)), Ok(())) => assert_eq!(violations(e), ["/type"]),
            (created, deleted) => wrong.push(format!("round {round}: {:?}, {deleted:?}", created.map(drop))),
        }
    }
    assert!(wrong.is_empty(), "{} of {ROUNDS} rounds went wrong:\n{}", wrong.len(), wrong.join("\n"));
    let orphans = f.sql(
        "SELECT count(*) FROM resources r WHERE NOT EXISTS
         (SELECT 1 FROM resource_types t WHERE t.project_id = r.project_id AND t.name = r.type)",
    );
    assert_eq!(orphans, ["0"], "resources whose type is gone");
}

/// Sleeps `micros` on a thread of its own (tokio's timer counts whole milliseconds); nothing if
/// not positive.
async fn pause(micros: i64) {
    if let Ok(micros @ 1..) = u64::try_from(micros) {
        tokio::task::spawn_blocking(move || std::thread::sleep(Duration::from_micros(micros))).await.unwrap();
    }
}
