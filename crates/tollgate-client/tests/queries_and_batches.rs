//! Sorting, time ranges, sparse fieldsets, totals and atomic batches, against a real server.

mod common;

use futures::TryStreamExt;
use serde_json::{json, Map, Value};
use tollgate_client::{BatchOp, ErrorKind, ListParams, NewResource, ResourcePatch};

#[tokio::test]
async fn sorts_ranges_fields_and_totals() {
    let s = common::server().await;
    let c = common::admin(&s);
    for (name, rank) in [("b", "2"), ("c", "1"), ("a", "3")] {
        c.create(&NewResource::new(name, "machine").attribute("rank", rank).data(json!({"cpus": 4, "ram": 8})))
            .await
            .unwrap();
    }
    let names = |p: &tollgate_client::ResourcePage| p.items.iter().map(|r| r.name.clone()).collect::<Vec<_>>();
    let by_name = c.list(&ListParams::new().sort("name").include_total()).await.unwrap();
    assert_eq!((names(&by_name), by_name.total), (vec!["a".into(), "b".into(), "c".into()], Some(3)));
    let by_rank = c.list(&ListParams::new().sort("-attributes.rank")).await.unwrap();
    assert_eq!(names(&by_rank), ["a", "b", "c"]);
    assert_eq!(by_rank.total, None, "only when asked");

    // The stream keeps the sort across cursor pages.
    let streamed: Vec<String> =
        c.list_all(ListParams::new().per_page(1).sort("-name")).map_ok(|r| r.name).try_collect().await.unwrap();
    assert_eq!(streamed, ["c", "b", "a"]);

    let first = &by_name.items[0];
    let later = c.list(&ListParams::new().created_after(&first.created_at)).await.unwrap();
    assert!(later.items.iter().all(|r| r.created_at > first.created_at));
    let none = c.list(&ListParams::new().updated_after("2999-01-01T00:00:00Z")).await.unwrap();
    assert!(none.items.is_empty());

    let sparse = c
        .list_as::<Map<String, Value>>(&ListParams::new().sort("name").field("name").field("data.cpus"))
        .await
        .unwrap();
    assert_eq!(sparse.items[0], json!({"id": first.id, "name": "a", "data": {"cpus": 4}}).as_object().unwrap().clone());
    let all: Vec<Map<String, Value>> =
        c.list_all_as(ListParams::new().field("name").per_page(2)).try_collect().await.unwrap();
    assert_eq!(all.len(), 3);

    let bad = c.list(&ListParams::new().sort("colour")).await.unwrap_err();
    assert_eq!(bad.kind(), ErrorKind::Validation);
    assert!(bad.to_string().contains(": sort: unknown sort key"), "{bad}");
}

#[tokio::test]
async fn batches_apply_all_or_nothing() {
    let s = common::server().await;
    let c = common::admin(&s);
    let kept = c.create(&NewResource::new("kept", "machine")).await.unwrap();
    let doomed = c.create(&NewResource::new("doomed", "machine")).await.unwrap();
    let result = c
        .batch(&[
            BatchOp::create(NewResource::new("new", "machine").attribute("region", "eu")),
            BatchOp::update(&kept.id, ResourcePatch::new().name("renamed"), Some(1)),
            BatchOp::delete(&doomed.id, Some(1)),
        ])
        .await
        .unwrap();
    let ops: Vec<(&str, u16)> = result.results.iter().map(|r| (r.op.as_str(), r.status)).collect();
    assert_eq!(ops, [("create", 201), ("update", 200), ("delete", 204)]);
    assert_eq!(result.results[0].resource.as_ref().unwrap().attributes["region"], "eu");
    assert_eq!(result.results[1].resource.as_ref().unwrap().version, 2);
    assert_eq!(result.results[2].id.as_deref(), Some(doomed.id.as_str()));

    let failed = c
        .batch(&[
            BatchOp::create(NewResource::new("never", "machine")),
            BatchOp::update(&kept.id, ResourcePatch::new().name("never"), Some(1)),
        ])
        .await
        .unwrap_err();
    assert_eq!((failed.kind(), failed.operation_index()), (ErrorKind::PreconditionFailed, Some(1)));
    assert!(failed.to_string().contains("(operation 1) (request_id=req_"), "{failed}");
    let total = c.list(&ListParams::new().include_total()).await.unwrap().total;
    assert_eq!(total, Some(2), "nothing of the failed batch applied");

    let once = [BatchOp::create(NewResource::new("once", "machine"))];
    let a = c.batch_with_key(&once, "batch-once").await.unwrap();
    let b = c.batch_with_key(&once, "batch-once").await.unwrap();
    assert_eq!(a, b, "the same key replays the first answer");
    assert_eq!(c.batch(&[]).await.unwrap_err().kind(), ErrorKind::Config);
}
