//! The attribute counters that tell a listing sorted by an attribute whether any resource lacks
//! it: after every kind of write (creates, patches that add, change and remove attributes,
//! deletes, batches whole and refused, imports that replace rows and move them between
//! projects) their sums equal a model kept here, and the listings sorted by each attribute,
//! both ways, match the model through every cursor page. Concurrent writers keep them exact and
//! never deadlock.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{json, Value};
use tollgate_core::query::{parse_sort, Cursor};
use tollgate_core::{ListQuery, NewResource, PageMode, ProjectId, Resource, ResourceId, ResourceStatus};
use tollgate_store::export::ExportRecord;
use tollgate_store::{BatchOp, BatchResult, ResourceUpdate, Store};

use crate::queries::{all_pages, model};
use crate::support::{exported_resources, Fixture};

/// The attribute keys the tests use; `zone` is held by few resources, `rack` by none at first.
const KEYS: [&str; 3] = ["region", "zone", "rack"];

fn new(name: &str, attributes: &[(&str, &str)]) -> NewResource {
    NewResource {
        name: name.into(),
        kind: "machine".into(),
        status: ResourceStatus::Active,
        attributes: attributes.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
        data: json!({}).into(),
    }
}

fn patch(p: Value) -> ResourceUpdate {
    ResourceUpdate { patch: p, precondition: None }
}

/// What the store must hold: every resource, by project.
#[derive(Default, Clone)]
struct Model(BTreeMap<ProjectId, BTreeMap<ResourceId, Resource>>);

impl Model {
    fn put(&mut self, r: &Resource) {
        self.0.entry(r.project_id).or_default().insert(r.id, r.clone());
    }

    fn remove(&mut self, p: ProjectId, id: ResourceId) {
        self.0.entry(p).or_default().remove(&id);
    }

    /// `(project, set of keys, count)` as the counters keep them (a set written ` a b `); zero
    /// counts left out.
    fn counts(&self) -> Vec<String> {
        let mut out = BTreeMap::<(String, String), i64>::new();
        for (p, rows) in &self.0 {
            for r in rows.values() {
                let set: String = r.content.attributes.keys().map(|k| format!("{k} ")).collect();
                *out.entry((p.to_string(), format!(" {set}"))).or_default() += 1;
            }
        }
        let mut rows: Vec<String> = out.into_iter().map(|((p, k), n)| format!("{p}|{k}|{n}")).collect();
        rows.sort();
        rows
    }
}

/// The counters' sums against the model's, and every listing by an attribute against the model's
/// order, through cursor pages of two.
async fn check(f: &Fixture, m: &Model, step: &str) {
    let mut stored =
        f.sql("SELECT project_id, keys, sum(n) FROM attribute_counts GROUP BY project_id, keys HAVING sum(n) <> 0");
    // Sorted here: the backends' collations differ.
    stored.sort();
    assert_eq!(stored, m.counts(), "counters after {step}");
    for (p, rows) in &m.0 {
        for key in KEYS {
            for spec in [format!("attributes.{key}"), format!("-attributes.{key}")] {
                let sort = parse_sort(&spec).unwrap();
                let expected: Vec<_> =
                    model(rows.values().cloned().collect(), &sort).into_iter().map(|r| r.id).collect();
                let base = ListQuery { sort, ..ListQuery::first(2) };
                let got: Vec<_> = all_pages(f, *p, &base).await.into_iter().map(|r| r.id).collect();
                assert_eq!(got, expected, "sort={spec} after {step}");
            }
        }
    }
}

pub async fn counters_follow_every_write(f: Fixture) {
    let s = &f.store;
    let p = f.project("p").await;
    let mut m = Model::default();
    check(&f, &m, "nothing").await;
    let mut ids = Vec::new();
    for (i, attributes) in
        [&[("region", "eu")][..], &[("region", "us"), ("zone", "a")], &[], &[("region", "ap")], &[("zone", "b")]]
            .into_iter()
            .enumerate()
    {
        let r = s.create_resource(p, new(&format!("r{i}"), attributes), None).await.unwrap();
        m.put(&r);
        ids.push(r.id);
        check(&f, &m, &format!("create {i}")).await;
    }
    // Patches that add an attribute, change one's value, remove one, and touch none.
    for (i, (n, body)) in [
        (2, json!({"attributes": {"region": "eu"}})),
        (0, json!({"attributes": {"region": "sa"}})),
        (1, json!({"attributes": {"region": null, "rack": "r1"}})),
        (3, json!({"data": {"touched": true}})),
        (4, json!({"attributes": {"zone": null}})),
    ]
    .into_iter()
    .enumerate()
    {
        let r = s.update_resource(p, ids[n], patch(body), None).await.unwrap();
        m.put(&r);
        check(&f, &m, &format!("patch {i}")).await;
    }
    s.delete_resource(p, ids[0], None).await.unwrap();
    m.remove(p, ids[0]);
    check(&f, &m, "delete").await;

    // A batch that fails changes nothing; one that applies counts each of its operations.
    let refused = vec![
        BatchOp::Create(new("x", &[("region", "eu")])),
        BatchOp::Delete { id: ids[1], precondition: None },
        BatchOp::Delete { id: ResourceId::generate(), precondition: None },
    ];
    assert!(s.apply_batch(p, refused, None).await.is_err());
    check(&f, &m, "a refused batch").await;
    let ops = vec![
        BatchOp::Create(new("b0", &[("region", "us"), ("zone", "c")])),
        BatchOp::Create(new("b1", &[])),
        BatchOp::Update { id: ids[3], update: patch(json!({"attributes": {"region": null}})) },
        BatchOp::Update { id: ids[4], update: patch(json!({"attributes": {"region": "ap", "zone": "d"}})) },
        BatchOp::Delete { id: ids[1], precondition: None },
    ];
    for done in s.apply_batch(p, ops, None).await.unwrap() {
        match done {
            BatchResult::Created(r) | BatchResult::Updated(r) => m.put(&r),
            BatchResult::Deleted(id) => m.remove(p, id),
        }
    }
    check(&f, &m, "a batch").await;
    imports(&f, p, &mut m).await;
}

/// Imports over existing rows (restoring their earlier attributes, or a deleted resource) and
/// into a project of the same name under another id, where the resources move.
async fn imports(f: &Fixture, p: ProjectId, m: &mut Model) {
    let s = &f.store;
    let backup = export(s.as_ref()).await;
    let at_backup = m.clone();
    let some = *m.0[&p].keys().next().unwrap();
    let changed = s.update_resource(p, some, patch(json!({"attributes": {"zone": null, "rack": "r2"}})), None);
    m.put(&changed.await.unwrap());
    let gone = *m.0[&p].keys().last().unwrap();
    s.delete_resource(p, gone, None).await.unwrap();
    m.remove(p, gone);
    let extra = s.create_resource(p, new("extra", &[("zone", "z")]), None).await.unwrap();
    m.put(&extra);
    check(f, m, "the writes after the backup").await;
    s.import(backup.clone()).await.unwrap();
    // The backup's rows come back as they were; the resource created since stays.
    *m = at_backup;
    m.put(&extra);
    check(f, m, "an import over existing rows").await;
    s.import(backup.clone()).await.unwrap();
    check(f, m, "the same import again").await;

    // Another store whose project `p` has another id, and one resource of its own.
    let other = f.another().await;
    let q = other.project("p").await;
    let own = other.store.create_resource(q, new("own", &[("region", "eu")]), None).await.unwrap();
    let mut moved = Model::default();
    moved.put(&own);
    for r in at_backup_rows(&backup) {
        moved.put(&Resource { project_id: q, ..r });
    }
    other.store.import(backup).await.unwrap();
    check(&other, &moved, "an import into a project of the same name").await;
}

fn at_backup_rows(backup: &[ExportRecord]) -> Vec<Resource> {
    let rows = backup.iter().filter_map(|r| match r {
        ExportRecord::Resource(raw) => Some(raw.clone().into_resource().unwrap()),
        _ => None,
    });
    rows.collect()
}

async fn export(s: &dyn Store) -> Vec<ExportRecord> {
    let mut out = s.export_meta(None).await.unwrap();
    out.extend(exported_resources(s, None, 1000).await.into_iter().map(ExportRecord::Resource));
    out
}

/// Writers in one project at once (creates, batches, patches, deletes, with attribute keys in
/// every combination): every write succeeds (no deadlock between the counters' rows), and the
/// counters end equal to the rows.
pub async fn concurrent_writers_keep_the_counters_exact(f: Fixture) {
    let p = f.project("p").await;
    let mut tasks = Vec::new();
    for w in 0..6 {
        let s: Arc<dyn Store> = f.store.clone();
        tasks.push(tokio::spawn(async move {
            let mut mine: Vec<Resource> = Vec::new();
            for i in 0..12 {
                let attrs: Vec<(&str, &str)> = KEYS.iter().take((w + i) % 4).map(|k| (*k, "v")).collect();
                let ops: Vec<BatchOp> = (0..3).map(|j| BatchOp::Create(new(&format!("{w}-{i}-{j}"), &attrs))).collect();
                for done in s.apply_batch(p, ops, None).await.unwrap() {
                    if let BatchResult::Created(r) = done {
                        mine.push(r);
                    }
                }
                let r = s.create_resource(p, new("single", &attrs[attrs.len().min(1)..]), None).await.unwrap();
                mine.push(r);
                let target = mine.remove(i % mine.len());
                if i % 2 == 0 {
                    s.delete_resource(p, target.id, None).await.unwrap();
                } else {
                    let body = json!({"attributes": {"region": null, "zone": "z", "rack": if i % 3 == 0 { Value::Null } else { json!("r") }}});
                    mine.push(s.update_resource(p, target.id, patch(body), None).await.unwrap());
                }
            }
            mine
        }));
    }
    let mut m = Model::default();
    for t in tasks {
        for r in t.await.unwrap() {
            m.put(&r);
        }
    }
    check(&f, &m, "concurrent writers").await;
}

/// A walk sorted by an attribute while another writer adds resources without it and removes it
/// from others: every resource that existed throughout with its attribute unchanged is seen
/// exactly once.
pub async fn a_walk_by_attribute_misses_nothing_while_others_write(f: Fixture) {
    let p = f.project("p").await;
    let mut steady = Vec::new();
    for i in 0..20 {
        let attributes: &[(&str, &str)] = if i % 4 == 0 { &[] } else { &[("region", "eu")] };
        steady.push(f.store.create_resource(p, new(&format!("s{i}"), attributes), None).await.unwrap().id);
    }
    let changing: Vec<ResourceId> = {
        let mut out = Vec::new();
        for i in 0..6 {
            out.push(f.store.create_resource(p, new(&format!("c{i}"), &[("region", "us")]), None).await.unwrap().id);
        }
        out
    };
    let base = ListQuery { sort: parse_sort("attributes.region").unwrap(), ..ListQuery::first(3) };
    let mut seen = Vec::new();
    let mut after: Option<Cursor> = None;
    for step in 0.. {
        let q = ListQuery { mode: PageMode::Cursor { after: after.clone() }, ..base.clone() };
        let page = f.store.list_resources(p, q).await.unwrap();
        seen.extend(page.items.iter().map(|r| r.id));
        f.store.create_resource(p, new("late", &[]), None).await.unwrap();
        if let Some(id) = changing.get(step) {
            f.store.update_resource(p, *id, patch(json!({"attributes": {"region": null}})), None).await.unwrap();
        }
        let Some(next) = page.next_cursor else { break };
        after = Some(tollgate_core::query::decode_cursor(&next, &base.sort).unwrap());
    }
    for id in &steady {
        assert_eq!(seen.iter().filter(|s| *s == id).count(), 1, "{id} seen once");
    }
}
