//! Batches: every operation or none, each with the event of its single form; operations on the
//! same ids seeing each other, checked against a model; rows findable as soon as answered; and
//! concurrent batches over the same resources serialised by their preconditions.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::json;
use tollgate_core::event_log::{EventFilter, EventOrder, EventQuery};
use tollgate_core::patch::apply_merge_patch;
use tollgate_core::search::SearchQuery;
use tollgate_core::{ListQuery, NewResource, Precondition, ProjectId, ResourceId};
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

/// What a batch should leave, worked out one operation at a time: the rows by id, and the events.
#[derive(Default)]
struct Model {
    rows: BTreeMap<ResourceId, (NewResource, i64)>,
    events: Vec<&'static str>,
}

impl Model {
    /// Applies one operation as its single form would; `created` is the id the store gave a
    /// create. Returns what the operation should answer.
    fn apply(&mut self, op: &BatchOp, created: Option<ResourceId>) -> (Option<(NewResource, i64)>, &'static str) {
        match op {
            BatchOp::Create(new) => {
                self.rows.insert(created.unwrap(), (new.clone(), 1));
                self.events.push("resource.created");
                (Some((new.clone(), 1)), "created")
            }
            BatchOp::Update { id, update } => {
                let (content, version) = self.rows.get(id).cloned().expect("the model updates only what exists");
                let patched = apply_merge_patch(&content, &update.patch).unwrap();
                if patched == content {
                    return (Some((content, version)), "updated");
                }
                self.rows.insert(*id, (patched.clone(), version + 1));
                self.events.push("resource.updated");
                (Some((patched, version + 1)), "updated")
            }
            BatchOp::Delete { id, .. } => {
                self.rows.remove(id).expect("the model deletes only what exists");
                self.events.push("resource.deleted");
                (None, "deleted")
            }
        }
    }
}

fn named(name: &str, region: &str) -> NewResource {
    let mut r = machine(name, region);
    r.data = json!({"cpus": 8, "note": format!("word{name}")}).into();
    r
}

fn patch(id: ResourceId, patch: serde_json::Value, if_match: Option<i64>) -> BatchOp {
    BatchOp::Update {
        id,
        update: ResourceUpdate { patch, precondition: if_match.map(|v| Precondition::Versions(vec![v])) },
    }
}

async fn search(f: &Fixture, p: ProjectId, q: &str) -> Vec<ResourceId> {
    let query = ListQuery { search: Some(SearchQuery::parse(q).unwrap()), ..ListQuery::first(100) };
    f.store.list_resources(p, query).await.unwrap().items.into_iter().map(|r| r.id).collect()
}

/// Creates, updates and deletes of the same ids in one batch, each seeing the ones before it:
/// answers, rows, attribute index, search index, events and webhook deliveries all match a model
/// that applies the operations one at a time.
pub async fn a_mixed_batch_matches_a_model_of_its_operations(f: Fixture) {
    let s = &f.store;
    let p = f.project("p").await;
    let hook = s.create_webhook(crate::outbox::endpoint(p, 1)).await.unwrap();
    let mut model = Model::default();
    let mut existing = Vec::new();
    for i in 0..4 {
        let new = named(&format!("old{i}"), "eu");
        let r = s.create_resource(p, new.clone(), None).await.unwrap();
        model.rows.insert(r.id, (new, 1));
        existing.push(r.id);
    }
    let events_before = s.unpublished_events(1000).await.unwrap().len();
    let [a, b, c, d] = existing[..] else { unreachable!() };
    let ops = vec![
        BatchOp::Create(named("new0", "us")),
        patch(a, json!({"name": "olda renamed"}), Some(1)),
        // Sees the update before it: version 2, and a new attribute.
        patch(a, json!({"attributes": {"region": "us", "tier": "gold"}}), Some(2)),
        BatchOp::Delete { id: b, precondition: Some(Precondition::Versions(vec![1])) },
        // Changes nothing: no new version, no event.
        patch(c, json!({"name": "old2"}), Some(1)),
        BatchOp::Create(named("new1", "eu")),
        patch(c, json!({"data": {"cpus": 2, "note": "wordchanged"}, "attributes": {"region": null}}), None),
        BatchOp::Delete { id: a, precondition: Some(Precondition::Versions(vec![3])) },
        patch(d, json!({"status": "archived"}), Some(1)),
        patch(d, json!({"attributes": {"region": "us"}}), None),
        BatchOp::Create(named("new2", "us")),
    ];
    let results = s.apply_batch(p, ops.clone(), None).await.unwrap();
    assert_eq!(results.len(), ops.len());
    for (op, result) in ops.iter().zip(&results) {
        let created = match result {
            BatchResult::Created(r) => Some(r.id),
            _ => None,
        };
        let (expected, kind) = model.apply(op, created);
        match (result, expected) {
            (BatchResult::Created(r) | BatchResult::Updated(r), Some((content, version))) => {
                assert_eq!((&r.content, r.version), (&content, version), "{kind}: {op:?}");
            }
            (BatchResult::Deleted(_), None) => {}
            other => panic!("{kind}: {other:?}"),
        }
    }

    // The rows are the model's, read back through the API's list and by id.
    let page = s.list_resources(p, ListQuery::first(100)).await.unwrap();
    let stored: BTreeMap<_, _> = page.items.into_iter().map(|r| (r.id, (r.content, r.version))).collect();
    assert_eq!(stored, model.rows);
    for gone in [a, b] {
        assert!(matches!(s.get_resource(p, gone).await, Err(StoreError::NotFound)));
    }
    // The attribute index: every pair of the model's rows, and no pair of a deleted or changed row.
    for (key, value) in [("region", "us"), ("region", "eu"), ("tier", "gold")] {
        let query = ListQuery { attributes: vec![(key.into(), value.into())], ..ListQuery::first(100) };
        let mut ids: Vec<_> = s.list_resources(p, query).await.unwrap().items.into_iter().map(|r| r.id).collect();
        ids.sort();
        let expected: Vec<_> = model
            .rows
            .iter()
            .filter(|(_, (r, _))| r.attributes.get(key).map(String::as_str) == Some(value))
            .map(|(id, _)| *id)
            .collect();
        assert_eq!(ids, expected, "{key}={value}");
    }
    // The search index, as the batch's answer arrives: each row by the word in its data, no more.
    for (id, (content, _)) in &model.rows {
        let word = content.data["note"].as_str().unwrap();
        assert_eq!(search(&f, p, word).await, [*id], "{word}");
    }
    for stale in ["wordold0", "wordold1", "wordold2"] {
        assert!(search(&f, p, stale).await.is_empty(), "{stale}");
    }
    // The events, in order, and a delivery for each one the endpoint subscribes to.
    let events = s.unpublished_events(1000).await.unwrap();
    let kinds: Vec<_> = events.iter().skip(events_before).map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, model.events);
    let subscribed = model.events.iter().filter(|k| **k != "resource.updated").count() + 4;
    assert_eq!(s.list_deliveries(p, hook.id, 100).await.unwrap().len(), subscribed);
    // The log holds them in the same order, each at a place of its own.
    let query =
        EventQuery { filter: EventFilter::default(), order: EventOrder::OldestFirst, limit: 100, after_seq: None };
    let logged = s.list_events(p, query).await.unwrap().items;
    let kinds: Vec<_> = logged.iter().skip(events_before).map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, model.events);
    assert!(logged.windows(2).all(|w| w[0].seq < w[1].seq), "{:?}", logged.iter().map(|e| e.seq).collect::<Vec<_>>());
}

/// A batch of the largest size is findable, attribute by attribute and word by word, as soon as
/// it is answered, and leaves one event each.
pub async fn a_full_batch_is_searchable_when_answered(f: Fixture) {
    let s = &f.store;
    let p = f.project("p").await;
    let ops: Vec<_> = (0..100).map(|i| BatchOp::Create(named(&format!("full{i}"), &format!("r{i}")))).collect();
    let results = s.apply_batch(p, ops, None).await.unwrap();
    for (i, result) in results.iter().enumerate() {
        let BatchResult::Created(r) = result else { panic!("{result:?}") };
        assert_eq!(r.content.name, format!("full{i}"), "results in order");
        assert_eq!(search(&f, p, &format!("wordfull{i}")).await, [r.id]);
        let query = ListQuery { attributes: vec![("region".into(), format!("r{i}"))], ..ListQuery::first(100) };
        assert_eq!(s.list_resources(p, query).await.unwrap().items, std::slice::from_ref(r));
    }
    assert_eq!(f.count("events"), 100);
}
