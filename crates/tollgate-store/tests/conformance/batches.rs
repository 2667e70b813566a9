//! Batches: every operation or none, each with the event of its single form, and concurrent
//! batches over the same resources serialised by their preconditions.

use std::sync::Arc;

use serde_json::json;
use tollgate_core::{Precondition, ResourceId};
use tollgate_store::{BatchOp, BatchResult, ResourceUpdate, StoreError};

use crate::support::{machine, Fixture};

fn update(id: ResourceId, name: &str, if_match: Option<i64>) -> BatchOp {
    BatchOp::Update {
        id,
        update: ResourceUpdate {
            patch: json!({"name": name}),
            precondition: if_match.map(|v| Precondition::Versions(vec![v])),
        },
    }
}

pub async fn a_batch_applies_whole_or_not_at_all(f: Fixture) {
    let s = &f.store;
    let p = f.project("p").await;
    let existing = s.create_resource(p, machine("old", "eu"), None).await.unwrap();
    let events_before = s.unpublished_events(1000).await.unwrap().len();

    // The last operation fails: nothing of the batch is written, and the error names it.
    let ops = vec![
        BatchOp::Create(machine("a", "eu")),
        update(existing.id, "renamed", None),
        BatchOp::Delete { id: existing.id, precondition: None },
        update(ResourceId::generate(), "missing", None),
    ];
    match s.apply_batch(p, ops, None).await {
        Err(StoreError::Batch { index: 3, error }) => assert!(matches!(*error, StoreError::NotFound)),
        other => panic!("{other:?}"),
    }
    assert_eq!(f.count("resources"), 1);
    assert_eq!(s.get_resource(p, existing.id).await.unwrap(), existing);
    assert_eq!(s.unpublished_events(1000).await.unwrap().len(), events_before, "no event of a refused batch");

    // A stale precondition in the middle refuses the whole batch too.
    let ops = vec![BatchOp::Create(machine("b", "eu")), update(existing.id, "x", Some(9))];
    assert!(matches!(s.apply_batch(p, ops, None).await, Err(StoreError::Batch { index: 1, .. })));
    assert_eq!(f.count("resources"), 1);

    // Every operation applies, in order, with its event.
    let ops = vec![
        BatchOp::Create(machine("c", "eu")),
        update(existing.id, "renamed", Some(1)),
        BatchOp::Create(machine("d", "us")),
        BatchOp::Delete { id: existing.id, precondition: Some(Precondition::Versions(vec![2])) },
    ];
    let results = s.apply_batch(p, ops, None).await.unwrap();
    assert!(matches!(&results[0], BatchResult::Created(r) if r.content.name == "c"));
    assert!(matches!(&results[1], BatchResult::Updated(r) if r.version == 2 && r.content.name == "renamed"));
    assert!(matches!(&results[3], BatchResult::Deleted(id) if *id == existing.id));
    assert_eq!(f.count("resources"), 2);
    let kinds: Vec<String> =
        s.unpublished_events(1000).await.unwrap().into_iter().skip(events_before).map(|e| e.kind).collect();
    assert_eq!(kinds, ["resource.created", "resource.updated", "resource.created", "resource.deleted"]);
}

pub async fn concurrent_batches_over_one_resource_serialise(f: Fixture) {
    let p = f.project("p").await;
    let r = f.store.create_resource(p, machine("a", "eu"), None).await.unwrap();
    let tasks: Vec<_> = (0..4)
        .map(|i| {
            let store = Arc::clone(&f.store);
            tokio::spawn(async move {
                let ops =
                    vec![BatchOp::Create(machine(&format!("n{i}"), "eu")), update(r.id, &format!("w{i}"), Some(1))];
                store.apply_batch(p, ops, None).await
            })
        })
        .collect();
    let mut won = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => won += 1,
            Err(StoreError::Batch { index: 1, error }) => assert!(matches!(*error, StoreError::PreconditionFailed(2))),
            Err(e) => panic!("{e:?}"),
        }
    }
    assert_eq!(won, 1, "one batch wins the precondition");
    assert_eq!(f.count("resources"), 2, "the losers' creates were rolled back with them");
}
