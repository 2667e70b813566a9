//! Full-text search (`q`): the same resources on both backends for one corpus, with stemming,
//! phrases, Unicode and stop words; no query syntax reaches the engines; the index follows every
//! change in its transaction; tenants stay apart.

use serde_json::json;
use tollgate_core::search::SearchQuery;
use tollgate_core::{ListQuery, NewResource, PageMode, ResourceId, ResourceStatus};
use tollgate_store::ResourceUpdate;

use crate::support::Fixture;

fn resource(name: &str, region: Option<&str>, data: serde_json::Value) -> NewResource {
    NewResource {
        name: name.into(),
        kind: "thing".into(),
        status: ResourceStatus::Active,
        attributes: region.map(|r| ("region".to_owned(), r.to_owned())).into_iter().collect(),
        data: data.into(),
    }
}

async fn found(f: &Fixture, project: tollgate_core::ProjectId, q: &str) -> Vec<ResourceId> {
    let query = ListQuery {
        search: Some(SearchQuery::parse(q).unwrap()),
        mode: PageMode::Offset { page: 1 },
        include_total: true,
        ..ListQuery::first(100)
    };
    let page = f.store.list_resources(project, query).await.unwrap();
    assert_eq!(page.total, Some(page.items.len() as u64), "q={q}: the total counts the same matches");
    let mut ids: Vec<_> = page.items.into_iter().map(|r| r.id).collect();
    ids.sort();
    ids
}

pub async fn search_finds_the_same_resources_on_every_backend(f: Fixture) {
    let s = &f.store;
    let (p, other) = (f.project("p").await, f.project("other").await);
    let corpus = [
        resource("Build server", Some("eu-west-1"), json!({"os": "Debian Linux", "notes": "runs nightly builds"})),
        resource("Database server", None, json!({"engine": "PostgreSQL", "cpus": 16})),
        resource("Rack in Zürich", None, json!({"city": "Zürich"})),
        resource("Printer", None, json!({"tags": ["office", {"colour": "blue"}]})),
        resource("Servers room", None, json!({})),
    ];
    let mut ids = Vec::new();
    for r in corpus {
        ids.push(s.create_resource(p, r, None).await.unwrap().id);
    }
    s.create_resource(other, resource("Other server", None, json!({})), None).await.unwrap();
    let set = |idx: &[usize]| {
        let mut v: Vec<_> = idx.iter().map(|i| ids[*i]).collect();
        v.sort();
        v
    };
    for (q, expected) in [
        ("server", set(&[0, 1, 4])),
        ("the servers", set(&[0, 1, 4])),
        ("builds", set(&[0])),
        ("\"build server\"", set(&[0])),
        ("\"server build\"", set(&[])),
        ("zürich", set(&[2])),
        ("ZÜRICH rack", set(&[2])),
        ("debian nightly", set(&[0])),
        ("postgresql", set(&[1])),
        ("eu west", set(&[0])),
        ("blue office", set(&[3])),
        ("NEAR(server) OR printer*", set(&[])),
    ] {
        assert_eq!(found(&f, p, q).await, expected, "q={q}");
    }

    // The index follows each change at once.
    let patch =
        ResourceUpdate { patch: json!({"name": "Laser printer", "data": {"tags": ["lab"]}}), precondition: None };
    s.update_resource(p, ids[3], patch, None).await.unwrap();
    assert_eq!(found(&f, p, "laser lab").await, set(&[3]));
    assert_eq!(found(&f, p, "office").await, set(&[]));
    s.delete_resource(p, ids[1], None).await.unwrap();
    assert_eq!(found(&f, p, "server").await, set(&[0, 4]));
}
