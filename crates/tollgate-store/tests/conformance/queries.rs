//! Orders, ranges and totals, checked against a model computed here from the same data: every
//! order on both backends, through cursor pages and page numbers alike.

use std::cmp::Ordering;

use serde_json::json;
use time::OffsetDateTime;
use tollgate_core::query::{parse_sort, sort_value, Cursor, SortKey, SortValue};
use tollgate_core::{ListQuery, NewResource, PageMode, ProjectId, Resource, ResourceStatus};
use tollgate_store::ResourceUpdate;

use crate::support::Fixture;

/// Names that differ in case, accents and digits, so a locale-aware collation would reorder them.
const NAMES: [&str; 8] = ["alpha", "Beta", "beta", "Éclair", "zeta", "10", "9", "Zulu"];

async fn seed(f: &Fixture, p: ProjectId) -> Vec<Resource> {
    let mut out = Vec::new();
    for i in 0..24 {
        let mut attributes = std::collections::BTreeMap::new();
        if i % 3 != 0 {
            attributes.insert("region".to_owned(), ["eu", "us", "ap", "EU"][i % 4].to_owned());
        }
        let new = NewResource {
            name: NAMES[i % NAMES.len()].into(),
            kind: ["machine", "disk"][i % 2].into(),
            status: if i % 5 == 0 { ResourceStatus::Archived } else { ResourceStatus::Active },
            attributes,
            data: json!({"i": i}).into(),
        };
        out.push(f.store.create_resource(p, new, None).await.unwrap());
    }
    // Some later changes, so updated_at differs from created_at order.
    for r in out.iter_mut().step_by(4) {
        let patch = ResourceUpdate { patch: json!({"data": {"touched": true}}), precondition: None };
        *r = f.store.update_resource(p, r.id, patch, None).await.unwrap();
    }
    out
}

/// `a` against `b` in the direction `descending`; a missing attribute comes last either way.
fn compare(a: &SortValue, b: &SortValue, descending: bool) -> Ordering {
    let o = match (a, b) {
        (SortValue::Missing, SortValue::Missing) => return Ordering::Equal,
        (SortValue::Missing, _) => return Ordering::Greater,
        (_, SortValue::Missing) => return Ordering::Less,
        (SortValue::Int(a), SortValue::Int(b)) => a.cmp(b),
        (SortValue::Text(a), SortValue::Text(b)) => a.as_bytes().cmp(b.as_bytes()),
        _ => unreachable!(),
    };
    if descending {
        o.reverse()
    } else {
        o
    }
}

/// The order the store must give: each key in its direction, then the id in the last key's.
pub(crate) fn model(mut rows: Vec<Resource>, keys: &[SortKey]) -> Vec<Resource> {
    let id_desc = keys.last().is_some_and(|k| k.descending);
    rows.sort_by(|a, b| {
        for k in keys {
            let o = compare(&sort_value(&k.field, a), &sort_value(&k.field, b), k.descending);
            if o != Ordering::Equal {
                return o;
            }
        }
        if id_desc {
            b.id.cmp(&a.id)
        } else {
            a.id.cmp(&b.id)
        }
    });
    rows
}

pub(crate) async fn all_pages(f: &Fixture, p: ProjectId, base: &ListQuery) -> Vec<Resource> {
    let mut seen = Vec::new();
    let mut after: Option<Cursor> = None;
    loop {
        let q = ListQuery { mode: PageMode::Cursor { after: after.clone() }, ..base.clone() };
        let page = f.store.list_resources(p, q).await.unwrap();
        seen.extend(page.items.iter().cloned());
        let Some(next) = page.next_cursor else { return seen };
        after = Some(tollgate_core::query::decode_cursor(&next, &base.sort).unwrap());
    }
}

pub async fn every_order_matches_the_model_through_every_page(f: Fixture) {
    let p = f.project("p").await;
    let rows = seed(&f, p).await;
    for spec in [
        "name",
        "-name",
        "-updated_at,name",
        "attributes.region,-created_at",
        "type,-status,name",
        "-attributes.region",
        "attributes.region",
        "status,attributes.region,updated_at",
        "-status,-attributes.region",
    ] {
        let keys = parse_sort(spec).unwrap();
        let expected: Vec<_> = model(rows.clone(), &keys).into_iter().map(|r| r.id).collect();
        let base = ListQuery { sort: keys.clone(), ..ListQuery::first(5) };
        let by_cursor: Vec<_> = all_pages(&f, p, &base).await.into_iter().map(|r| r.id).collect();
        assert_eq!(by_cursor, expected, "sort={spec}, cursor pages");
        let mut by_number = Vec::new();
        for page in 1..=5 {
            let q = ListQuery { mode: PageMode::Offset { page }, ..base.clone() };
            by_number.extend(f.store.list_resources(p, q).await.unwrap().items.into_iter().map(|r| r.id));
        }
        assert_eq!(by_number, expected, "sort={spec}, page numbers");
    }
}

pub async fn ranges_filters_and_totals_match_the_model(f: Fixture) {
    let p = f.project("p").await;
    let rows = seed(&f, p).await;
    let mid = rows[10].created_at;
    let touched = rows[8].updated_at;
    let q = ListQuery {
        kind: Some("machine".into()),
        created_after: Some(mid),
        sort: parse_sort("-created_at").unwrap(),
        include_total: true,
        ..ListQuery::first(3)
    };
    let expected: Vec<_> =
        model(rows.iter().filter(|r| r.content.kind == "machine" && r.created_at > mid).cloned().collect(), &q.sort)
            .into_iter()
            .map(|r| r.id)
            .collect();
    let first = f.store.list_resources(p, q.clone()).await.unwrap();
    assert_eq!(first.total, Some(expected.len() as u64));
    assert_eq!(all_pages(&f, p, &q).await.into_iter().map(|r| r.id).collect::<Vec<_>>(), expected);
    // A sort by one attribute with filters: the attribute index first, then those without it.
    for spec in ["attributes.region", "-attributes.region"] {
        let q = ListQuery {
            kind: Some("disk".into()),
            status: Some(ResourceStatus::Active),
            sort: parse_sort(spec).unwrap(),
            ..ListQuery::first(2)
        };
        let disks = rows.iter().filter(|r| r.content.kind == "disk" && r.content.status == ResourceStatus::Active);
        let expected: Vec<_> = model(disks.cloned().collect(), &q.sort).into_iter().map(|r| r.id).collect();
        assert!(expected.len() > 4);
        assert_eq!(all_pages(&f, p, &q).await.into_iter().map(|r| r.id).collect::<Vec<_>>(), expected, "{spec}");
    }
    // A project where every resource has the attribute: the last page knows without probing.
    let every = f.project("every").await;
    let mut all = Vec::new();
    for (i, region) in ["us", "eu", "ap", "eu", "us"].into_iter().enumerate() {
        all.push(
            f.store.create_resource(every, crate::support::machine(&format!("m{i}"), region), None).await.unwrap(),
        );
    }
    let q = ListQuery { sort: parse_sort("-attributes.region").unwrap(), ..ListQuery::first(2) };
    let expected: Vec<_> = model(all, &q.sort).into_iter().map(|r| r.id).collect();
    assert_eq!(all_pages(&f, every, &q).await.into_iter().map(|r| r.id).collect::<Vec<_>>(), expected);
    let q = ListQuery { updated_after: Some(touched - time::Duration::microseconds(1)), ..ListQuery::first(100) };
    let got = f.store.list_resources(p, q).await.unwrap();
    assert_eq!(got.total, None, "no count unless asked");
    let mut expected: Vec<_> = rows.iter().filter(|r| r.updated_at >= touched).map(|r| r.id).collect();
    expected.sort();
    assert_eq!(got.items.into_iter().map(|r| r.id).collect::<Vec<_>>(), expected);
    let none =
        ListQuery { created_before: Some(OffsetDateTime::UNIX_EPOCH), include_total: true, ..ListQuery::first(10) };
    let got = f.store.list_resources(p, none).await.unwrap();
    assert_eq!((got.items.len(), got.total), (0, Some(0)));
}

pub async fn cursor_pages_skip_and_repeat_nothing_while_others_insert(f: Fixture) {
    let p = f.project("p").await;
    let rows = seed(&f, p).await;
    let base = ListQuery { sort: parse_sort("created_at").unwrap(), ..ListQuery::first(4) };
    let mut seen = Vec::new();
    let mut after: Option<Cursor> = None;
    loop {
        let q = ListQuery { mode: PageMode::Cursor { after: after.clone() }, ..base.clone() };
        let page = f.store.list_resources(p, q).await.unwrap();
        seen.extend(page.items.iter().map(|r| r.id));
        // Another writer inserts between every two pages.
        f.store.create_resource(p, crate::support::machine("late", "eu"), None).await.unwrap();
        let Some(next) = page.next_cursor else { break };
        after = Some(tollgate_core::query::decode_cursor(&next, &base.sort).unwrap());
    }
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), seen.len(), "nothing repeated");
    assert!(rows.iter().all(|r| seen.contains(&r.id)), "nothing that existed skipped");
}

/// PostgreSQL plans a listing by its statistics: a table loaded since its last `ANALYZE` is
/// analysed by the upkeep pass, even with autovacuum off (as on the test server). SQLite has
/// nothing to refresh.
pub async fn stale_planner_statistics_are_refreshed(f: Fixture) {
    let p = f.project("statistics").await;
    let ops = (0..120)
        .map(|i| tollgate_store::BatchOp::Create(crate::support::machine(&format!("m{i}"), "eu-west-1")))
        .collect();
    f.store.apply_batch(p, ops, None).await.unwrap();
    if f.database_url().is_none() {
        assert_eq!(f.store.refresh_statistics().await.unwrap(), Vec::<String>::new());
        return;
    }
    // The writer's counts reach `pg_stat_user_tables` within a second or so of its commit.
    let mut refreshed = Vec::new();
    for _ in 0..50 {
        refreshed.extend(f.store.refresh_statistics().await.unwrap());
        if refreshed.iter().any(|t| t == "resources") && refreshed.iter().any(|t| t == "resource_attributes") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert!(refreshed.iter().any(|t| t == "resources"), "{refreshed:?}");
    assert!(f.count("pg_stats WHERE tablename = 'resources'") > 0, "the planner has statistics now");
}
