//! Resources: every operation, the rules of each write, and every error kind they can give.

use std::sync::Arc;

use serde_json::json;
use tollgate_core::{ListQuery, PageMode, Precondition, ResourceId, ResourceStatus};
use tollgate_store::{chain, IdempotencyClaim, ResourceUpdate, StoreError, StoredResponse};

use crate::support::{machine, Backend, Fixture};

fn query(per_page: u32, mode: PageMode) -> ListQuery {
    ListQuery { mode, ..ListQuery::first(per_page) }
}

fn patch(patch: serde_json::Value, if_match: Option<i64>) -> ResourceUpdate {
    ResourceUpdate { patch, precondition: if_match.map(|v| Precondition::Versions(vec![v])) }
}

pub async fn create_read_list_update_delete(f: Fixture) {
    let s = &f.store;
    let p = f.project("p").await;
    let created = s.create_resource(p, machine("a", "eu"), None).await.unwrap();
    assert_eq!(created.version, 1);
    let read = s.get_resource(p, created.id).await.unwrap();
    assert_eq!(read, created, "what is read back is what was written");

    let updated = s.update_resource(p, created.id, patch(json!({"data": {"cpus": 16}}), None), None).await.unwrap();
    assert_eq!((updated.version, updated.content.data.value().clone()), (2, json!({"cpus": 16, "tags": ["a", "b"]})));
    assert!(updated.updated_at >= created.updated_at);
    assert_eq!(s.get_resource(p, created.id).await.unwrap(), updated);

    // A patch that changes nothing is no change: same version, same row.
    let same = s.update_resource(p, created.id, patch(json!({"name": "a"}), None), None).await.unwrap();
    assert_eq!(same, updated);

    let page = s.list_resources(p, query(10, PageMode::Cursor { after: None })).await.unwrap();
    assert_eq!(page.items, std::slice::from_ref(&updated));
    assert!(!page.has_next && page.next_cursor.is_none());

    s.delete_resource(p, created.id, None).await.unwrap();
    assert!(matches!(s.get_resource(p, created.id).await, Err(StoreError::NotFound)));
    assert!(matches!(s.delete_resource(p, created.id, None).await, Err(StoreError::NotFound)));
    assert!(matches!(s.update_resource(p, created.id, patch(json!({}), None), None).await, Err(StoreError::NotFound)));
    assert!(matches!(s.get_resource(p, ResourceId::generate()).await, Err(StoreError::NotFound)));
    assert_eq!(f.count("resource_attributes"), 0, "the attribute index goes with the row");
}

pub async fn lists_filter_and_page_both_ways(f: Fixture) {
    let s = &f.store;
    let p = f.project("p").await;
    let mut ids = Vec::new();
    for i in 0..7 {
        let mut new = machine(&format!("m{i}"), if i % 2 == 0 { "eu" } else { "us" });
        if i == 3 {
            new.kind = "disk".into();
            new.status = ResourceStatus::Archived;
        }
        ids.push(s.create_resource(p, new, None).await.unwrap().id);
    }
    let names = |page: &tollgate_core::Page<tollgate_core::Resource>| -> Vec<String> {
        let mut names: Vec<String> = page.items.iter().map(|r| r.content.name.clone()).collect();
        names.sort();
        names
    };
    // Cursor pages: every item once, in id order.
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = s.list_resources(p, query(3, PageMode::Cursor { after })).await.unwrap();
        seen.extend(page.items.iter().map(|r| r.id));
        if !page.has_next {
            break;
        }
        after = page.items.last().map(|r| tollgate_core::query::Cursor { values: Vec::new(), id: r.id });
        assert!(page.next_cursor.is_some());
    }
    ids.sort();
    assert_eq!(seen, ids, "every item once, in id order");
    // Page numbers.
    let third = s.list_resources(p, query(3, PageMode::Offset { page: 3 })).await.unwrap();
    assert_eq!((third.items.iter().map(|r| r.id).collect::<Vec<_>>(), third.has_next), (ids[6..].to_vec(), false));
    let second = s.list_resources(p, query(3, PageMode::Offset { page: 2 })).await.unwrap();
    assert_eq!((second.items.iter().map(|r| r.id).collect::<Vec<_>>(), second.has_next), (ids[3..6].to_vec(), true));
    // Filters, alone and together.
    let mut q = query(100, PageMode::Cursor { after: None });
    q.attributes = vec![("region".into(), "eu".into())];
    assert_eq!(names(&s.list_resources(p, q.clone()).await.unwrap()), ["m0", "m2", "m4", "m6"]);
    q.kind = Some("machine".into());
    q.status = Some(ResourceStatus::Active);
    assert_eq!(names(&s.list_resources(p, q.clone()).await.unwrap()), ["m0", "m2", "m4", "m6"]);
    q.attributes = vec![("region".into(), "us".into())];
    assert_eq!(names(&s.list_resources(p, q.clone()).await.unwrap()), ["m1", "m5"]);
    q.kind = Some("disk".into());
    q.status = Some(ResourceStatus::Archived);
    assert_eq!(names(&s.list_resources(p, q).await.unwrap()), ["m3"]);
}

pub async fn preconditions_and_validation(f: Fixture) {
    let s = &f.store;
    let p = f.project("p").await;
    let r = s.create_resource(p, machine("a", "eu"), None).await.unwrap();
    let stale = s.update_resource(p, r.id, patch(json!({"name": "b"}), Some(7)), None).await;
    assert!(matches!(stale, Err(StoreError::PreconditionFailed(1))), "{stale:?}");
    let ok = s.update_resource(p, r.id, patch(json!({"name": "b"}), Some(1)), None).await.unwrap();
    assert_eq!(ok.version, 2);
    let any = Some(Precondition::Exists);
    assert!(s
        .update_resource(p, r.id, ResourceUpdate { patch: json!({"name": "c"}), precondition: any }, None)
        .await
        .is_ok());
    let bad = s.update_resource(p, r.id, patch(json!({"status": "bogus", "name": ""}), None), None).await;
    match bad {
        Err(StoreError::Validation(v)) => assert!(v.fields().contains_key("status") && v.fields().contains_key("name")),
        other => panic!("{other:?}"),
    }
    let deleted = s.delete_resource(p, r.id, Some(Precondition::Versions(vec![1]))).await;
    assert!(matches!(deleted, Err(StoreError::PreconditionFailed(3))), "{deleted:?}");
    assert_eq!(s.get_resource(p, r.id).await.unwrap().content.name, "c", "refused writes change nothing");
}

pub async fn another_projects_rows_are_not_found(f: Fixture) {
    let s = &f.store;
    let (a, b) = (f.project("a").await, f.project("b").await);
    let r = s.create_resource(a, machine("a", "eu"), None).await.unwrap();
    assert!(matches!(s.get_resource(b, r.id).await, Err(StoreError::NotFound)));
    assert!(matches!(
        s.update_resource(b, r.id, patch(json!({"name": "x"}), None), None).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(s.delete_resource(b, r.id, None).await, Err(StoreError::NotFound)));
    let mut q = query(100, PageMode::Cursor { after: None });
    assert!(s.list_resources(b, q.clone()).await.unwrap().items.is_empty());
    q.attributes = vec![("region".into(), "eu".into())];
    assert!(s.list_resources(b, q).await.unwrap().items.is_empty());
    assert_eq!(s.get_resource(a, r.id).await.unwrap().content.name, "a");
}

pub async fn concurrent_updates_with_one_if_match_one_wins(f: Fixture) {
    let p = f.project("p").await;
    for round in 0..5 {
        let r = f.store.create_resource(p, machine("a", "eu"), None).await.unwrap();
        let tasks: Vec<_> = (0..2)
            .map(|i| {
                let store = Arc::clone(&f.store);
                tokio::spawn(async move {
                    let change = patch(json!({"name": format!("writer {i}")}), Some(1));
                    store.update_resource(p, r.id, change, None).await
                })
            })
            .collect();
        let mut won = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok(updated) => {
                    won += 1;
                    assert_eq!(updated.version, 2);
                }
                Err(StoreError::PreconditionFailed(2)) => {}
                Err(e) => panic!("round {round}: {e:?}"),
            }
        }
        assert_eq!(won, 1, "round {round}: exactly one writer wins");
        assert_eq!(f.store.get_resource(p, r.id).await.unwrap().version, 2);
    }
}

fn claim(key: &str, body: &str) -> IdempotencyClaim {
    let body = body.to_owned();
    IdempotencyClaim {
        scope: "key_x POST /v1/resource".into(),
        key: key.into(),
        fingerprint: [7; 32],
        render: std::sync::Arc::new(move |r| StoredResponse {
            status: 201,
            headers: vec![("location".into(), format!("/v1/resource/{}", r.id))],
            body: body.clone(),
        }),
    }
}

pub async fn events_and_idempotency_commit_with_the_change(f: Fixture) {
    let s = &f.store;
    let p = f.project("p").await;
    let r = s.create_resource(p, machine("a", "eu"), Some(claim("k1", "first"))).await.unwrap();
    let since = time::OffsetDateTime::now_utc() - time::Duration::hours(1);
    let record = s.find_idempotency("key_x POST /v1/resource".into(), "k1".into(), since).await.unwrap().unwrap();
    assert_eq!(record.fingerprint, [7; 32]);
    assert_eq!(record.response.headers[0].1, format!("/v1/resource/{}", r.id));
    let events = s.unpublished_events(100).await.unwrap();
    assert_eq!(events.iter().map(|e| e.kind.as_str()).collect::<Vec<_>>(), ["resource.created"]);
    assert!(events[0].payload.contains(&r.id.to_string()));

    // The same key again: refused, and neither the resource nor its event was written.
    let again = s.create_resource(p, machine("b", "eu"), Some(claim("k1", "second"))).await;
    assert!(matches!(again, Err(StoreError::IdempotencyConflict)), "{again:?}");
    assert_eq!(f.count("resources"), 1);
    assert_eq!(s.unpublished_events(100).await.unwrap().len(), 1);
    // An update under a used key rolls back too: no new version, no event.
    let up = s.update_resource(p, r.id, patch(json!({"name": "z"}), None), Some(claim("k1", "third"))).await;
    assert!(matches!(up, Err(StoreError::IdempotencyConflict)), "{up:?}");
    assert_eq!(s.get_resource(p, r.id).await.unwrap().version, 1);
    // Each change has its event, in order; a no-op has none.
    s.update_resource(p, r.id, patch(json!({"name": "z"}), None), Some(claim("k2", "u"))).await.unwrap();
    s.update_resource(p, r.id, patch(json!({"name": "z"}), None), None).await.unwrap();
    s.delete_resource(p, r.id, None).await.unwrap();
    let kinds: Vec<String> = s.unpublished_events(100).await.unwrap().into_iter().map(|e| e.kind).collect();
    assert_eq!(kinds, ["resource.created", "resource.updated", "resource.deleted"]);
}

pub async fn a_corrupt_row_is_an_internal_error_with_its_cause(f: Fixture) {
    let s = &f.store;
    let p = f.project("p").await;
    let r = s.create_resource(p, machine("a", "eu"), None).await.unwrap();
    f.sql(&format!("UPDATE resources SET status = 'bogus' WHERE id = '{}'", r.id));
    let e = s.get_resource(p, r.id).await.unwrap_err();
    assert!(matches!(e, StoreError::Internal { .. }), "{e:?}");
    let text = chain(&e);
    assert!(text.contains(&format!("corrupt resources row {}: bad status", r.id)), "{text}");
    let listed = s.list_resources(p, query(10, PageMode::Cursor { after: None })).await;
    assert!(matches!(listed, Err(StoreError::Internal { .. })));
}

/// Reads by id folded into shared queries (as a server on PostgreSQL runs them) answer each
/// caller as a read of its own would: its project's row, `NotFound` for another project's or a
/// missing one, and every write acknowledged before the read.
pub async fn coalesced_reads_answer_each_caller_as_alone(f: Fixture) {
    let node = f.coalescing_node().await;
    let (a, b) = (f.project("a").await, f.project("b").await);
    let mut mine = Vec::new();
    for i in 0..30 {
        mine.push(f.store.create_resource(a, machine(&format!("m{i}"), "eu"), None).await.unwrap());
    }
    let theirs = f.store.create_resource(b, machine("t", "us"), None).await.unwrap();
    let reads = (0..600).map(|i| {
        let node = Arc::clone(&node);
        let (id, expected) = match i % 10 {
            8 => (theirs.id, None),
            9 => (ResourceId::generate(), None),
            _ => (mine[i % mine.len()].id, Some(mine[i % mine.len()].clone())),
        };
        tokio::spawn(async move { (node.get_resource(a, id).await, expected) })
    });
    for read in futures::future::join_all(reads).await {
        match read.unwrap() {
            (Ok(got), Some(expected)) => assert_eq!(got, expected),
            (Err(StoreError::NotFound), None) => {}
            (got, expected) => panic!("read {got:?}, expected {expected:?}"),
        }
    }
    let folded = node.coalescer_stats().expect("the node coalesces reads");
    assert_eq!(folded.reads, 600);
    // On SQLite a query runs inline on the runtime's worker and is over before others queue.
    if f.backend == Backend::Postgres {
        assert!(folded.queries < folded.reads / 2, "concurrent reads share queries: {folded:?}");
    }

    // Writes acknowledged before a read are seen by it, while other reads keep queries busy.
    let busy: Vec<_> = (0..4)
        .map(|_| {
            let (node, id) = (Arc::clone(&node), mine[0].id);
            tokio::spawn(async move {
                for _ in 0..100 {
                    node.get_resource(a, id).await.unwrap();
                }
            })
        })
        .collect();
    for i in 0..20 {
        let r = node.create_resource(a, machine(&format!("new{i}"), "eu"), None).await.unwrap();
        assert_eq!(node.get_resource(a, r.id).await.unwrap(), r);
        let changed = node.update_resource(a, r.id, patch(json!({"name": "changed"}), None), None).await.unwrap();
        assert_eq!(node.get_resource_row(a, r.id).await.unwrap().version, changed.version);
        node.delete_resource(a, r.id, None).await.unwrap();
        assert!(matches!(node.get_resource(a, r.id).await, Err(StoreError::NotFound)));
    }
    for t in busy {
        t.await.unwrap();
    }
}
