//! The event log: listing with filters and cursors, reading in commit order without a gap under
//! racing writers (and, on PostgreSQL, a transaction that commits long after it numbered its
//! event), and retention.

use std::collections::HashSet;
use std::sync::Arc;

use time::{Duration, OffsetDateTime};
use tollgate_core::event_log::{EventFilter, EventOrder, EventQuery};
use tollgate_core::time_fmt::to_unix_micros;
use tollgate_core::ProjectId;
use tollgate_store::retention::Retention;
use tollgate_store::{ResourceUpdate, Store};

use crate::support::{machine, Backend, Fixture};

fn query(order: EventOrder, limit: u32) -> EventQuery {
    EventQuery { filter: EventFilter::default(), order, limit, after_seq: None }
}

pub async fn events_list_filter_and_page(f: Fixture) {
    let s = &f.store;
    let (p, other) = (f.project("p").await, f.project("other").await);
    let a = s.create_resource(p, machine("a", "eu"), None).await.unwrap();
    let mut disk = machine("d", "us");
    disk.kind = "disk".into();
    let d = s.create_resource(p, disk, None).await.unwrap();
    let patch = ResourceUpdate { patch: serde_json::json!({"name": "a2"}), precondition: None };
    s.update_resource(p, a.id, patch, None).await.unwrap();
    s.delete_resource(p, d.id, None).await.unwrap();
    s.create_resource(other, machine("x", "eu"), None).await.unwrap();

    let newest = s.list_events(p, query(EventOrder::NewestFirst, 10)).await.unwrap();
    let kinds: Vec<&str> = newest.items.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["resource.deleted", "resource.updated", "resource.created", "resource.created"]);
    assert!(newest.items.windows(2).all(|w| w[0].seq > w[1].seq));
    assert_eq!(newest.items[0].resource_type.as_deref(), Some("disk"), "a deletion keeps its resource's type");

    // Paging oldest first, two at a time, meets every event once.
    let mut seen = Vec::new();
    let mut q = query(EventOrder::OldestFirst, 2);
    loop {
        let page = s.list_events(p, q.clone()).await.unwrap();
        seen.extend(page.items.iter().map(|e| e.id.clone()));
        match page.next_cursor {
            Some(c) => {
                q = EventQuery::parse(&[
                    ("order".into(), "oldest".into()),
                    ("limit".into(), "2".into()),
                    ("cursor".into(), c),
                ])
                .unwrap()
            }
            None => break,
        }
    }
    let mut expected: Vec<String> = newest.items.iter().rev().map(|e| e.id.clone()).collect();
    assert_eq!(seen, expected);

    let filtered = |filter: EventFilter| {
        let q = EventQuery { filter, ..query(EventOrder::OldestFirst, 10) };
        async move { s.list_events(p, q).await.unwrap().items }
    };
    let by_type = filtered(EventFilter { types: vec!["resource.created".into()], ..Default::default() }).await;
    assert_eq!(by_type.len(), 2);
    let by_resource = filtered(EventFilter { resource_id: Some(a.id.to_string()), ..Default::default() }).await;
    assert_eq!(by_resource.len(), 2);
    let by_kind = filtered(EventFilter { resource_type: Some("disk".into()), ..Default::default() }).await;
    assert_eq!(by_kind.len(), 2);
    let future = OffsetDateTime::now_utc() + Duration::hours(1);
    assert!(filtered(EventFilter { after: Some(future), ..Default::default() }).await.is_empty());
    assert_eq!(filtered(EventFilter { before: Some(future), ..Default::default() }).await.len(), 4);

    // One event, and tenancy: another project's event is not found.
    let first = expected.remove(0);
    assert_eq!(s.get_event(p, first.clone()).await.unwrap().id, first);
    assert!(matches!(s.get_event(other, first.clone()).await, Err(tollgate_store::StoreError::NotFound)));
    assert!(s.event_seq(p, first.clone()).await.unwrap().is_some());
    assert!(s.event_seq(other, first).await.unwrap().is_none());
    let foreign = s.list_events(other, query(EventOrder::NewestFirst, 10)).await.unwrap();
    assert_eq!(foreign.items.len(), 1);
}

/// Reads everything settled after `after`, as the stream's tail does, until `done` and caught up.
async fn tail(store: Arc<dyn Store>, done: Arc<std::sync::atomic::AtomicBool>) -> Vec<(i64, String)> {
    let mut got = Vec::new();
    let mut after = store.settled_position().await.unwrap();
    loop {
        let finished = done.load(std::sync::atomic::Ordering::SeqCst);
        let read = store.settled_events(after, 64).await.unwrap();
        if let Some(last) = read.events.last() {
            after = last.seq;
        }
        let empty = read.events.is_empty() && !read.pending;
        got.extend(read.events.into_iter().map(|e| (e.seq, e.id)));
        if finished && empty {
            return got;
        }
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
}

/// On PostgreSQL, a transaction of its own that writes event `id` of project `p` (numbered by
/// its transaction id, as the store numbers events) and commits 1.5 s later.
fn slow_event(f: &Fixture, p: ProjectId, id: &str) -> std::thread::JoinHandle<()> {
    let sql = format!(
        "BEGIN; INSERT INTO events (id, project_id, type, payload, created_at, published_at, seq) \
         SELECT '{id}', '{p}', 'resource.created', '{{}}', 1, 1, pg_current_xact_id()::text::bigint * 65536; \
         SELECT pg_sleep(1.5); COMMIT;"
    );
    let url = f.database_url().unwrap();
    std::thread::spawn(move || {
        tollgate_testkit::psql(&url, &sql);
    })
}

pub async fn settled_reads_miss_nothing_under_racing_writers(f: Fixture) {
    let p: ProjectId = f.project("p").await;
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = tokio::spawn(tail(f.store.clone(), done.clone()));
    // On PostgreSQL, a transaction that writes its event first and commits last.
    let slow = (f.backend == Backend::Postgres).then(|| slow_event(&f, p, &format!("evt_{}", ulid::Ulid::new())));
    // Let it write first.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let mut writers = Vec::new();
    for w in 0..8 {
        let s = f.store.clone();
        writers.push(tokio::spawn(async move {
            for i in 0..60 {
                s.create_resource(p, machine(&format!("w{w}-{i}"), "eu"), None).await.unwrap();
            }
        }));
    }
    for w in writers {
        w.await.unwrap();
    }
    if let Some(slow) = slow {
        slow.join().unwrap();
    }
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    let got = reader.await.unwrap();
    assert!(got.windows(2).all(|w| w[0].0 < w[1].0), "in seq order, each once");
    let ids: HashSet<&String> = got.iter().map(|(_, id)| id).collect();
    assert_eq!(ids.len(), got.len(), "no duplicates");
    let stored: HashSet<String> = f.sql("SELECT id FROM events").into_iter().collect();
    let missed: Vec<&String> = stored.iter().filter(|id| !ids.contains(id)).collect();
    assert!(missed.is_empty(), "missed {} of {}: {missed:?}", missed.len(), stored.len());
    assert_eq!(got.len(), 480 + usize::from(f.backend == Backend::Postgres));
}

pub async fn committed_after_lists_events_already_past_the_settled_position(f: Fixture) {
    let s = &f.store;
    let p: ProjectId = f.project("p").await;
    for i in 0..3 {
        s.create_resource(p, machine(&format!("m{i}"), "eu"), None).await.unwrap();
    }
    let all: Vec<i64> = f.sql("SELECT seq FROM events ORDER BY seq").iter().map(|v| v.parse().unwrap()).collect();
    assert_eq!(all.len(), 3);
    assert_eq!(s.committed_after(0, 10).await.unwrap(), all, "in seq order");
    assert_eq!(s.committed_after(all[0], 10).await.unwrap(), all[1..]);
    assert_eq!(s.committed_after(0, 2).await.unwrap(), all[..2], "at most the limit");
    assert!(s.committed_after(all[2], 10).await.unwrap().is_empty());
    if f.backend == Backend::Postgres {
        // A transaction that numbered its event first holds the settled position back; the
        // events committed after it are past all the same, and its own, uncommitted, is not.
        let slow_id = format!("evt_{}", ulid::Ulid::new());
        let slow = slow_event(&f, p, &slow_id);
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        for i in 0..2 {
            s.create_resource(p, machine(&format!("late{i}"), "eu"), None).await.unwrap();
        }
        let seqs = |sql: &str| -> Vec<i64> { f.sql(sql).iter().map(|v| v.parse().unwrap()).collect() };
        let late = seqs(&format!("SELECT seq FROM events WHERE seq > {} ORDER BY seq", all[2]));
        assert_eq!(late.len(), 2, "the open transaction's event is not visible yet");
        let settled = s.settled_position().await.unwrap();
        assert!(settled < late[0], "held back by the open transaction: {settled} against {late:?}");
        let past = s.committed_after(settled, 10).await.unwrap();
        assert!(late.iter().all(|seq| past.contains(seq)), "{past:?} lacks one of {late:?}");
        slow.join().unwrap();
        let slow_seq = seqs(&format!("SELECT seq FROM events WHERE id = '{slow_id}'"))[0];
        assert!(slow_seq > settled && slow_seq < late[0]);
        assert!(!past.contains(&slow_seq), "an uncommitted event is not past");
        assert!(s.committed_after(settled, 10).await.unwrap().contains(&slow_seq), "once it commits");
    }
}

pub async fn retention_prunes_old_rows_and_keeps_recent_and_pending(f: Fixture) {
    let s = &f.store;
    let p = f.project("p").await;
    let hook = crate::outbox::endpoint(p, 1);
    s.create_webhook(hook.clone()).await.unwrap();
    for i in 0..7 {
        s.create_resource(p, machine(&format!("m{i}"), "eu"), None).await.unwrap();
    }
    // Claim and finish the deliveries of the first five; the sixth stays pending.
    let jobs = s.claim_deliveries(OffsetDateTime::now_utc(), Duration::minutes(1), 5).await.unwrap();
    let done = jobs.iter().map(|j| crate::outbox::outcome(j, 204, tollgate_core::webhook::NextStep::Succeeded));
    s.record_attempts(done.collect()).await.unwrap();
    // Everything but the newest event is old.
    let old = to_unix_micros(OffsetDateTime::now_utc() - Duration::days(40));
    let newest = f.sql("SELECT MAX(seq) FROM events")[0].clone();
    f.sql(&format!("UPDATE events SET created_at = {old} WHERE seq < {newest}"));
    f.sql(&format!("UPDATE webhook_deliveries SET created_at = {old}"));
    f.sql(&format!(
        "INSERT INTO idempotency_keys VALUES ('scope', 'old', {}, '{{}}', {old})",
        if f.backend == Backend::Postgres { "'\\x00'" } else { "x'00'" }
    ));
    f.sql(&format!("INSERT INTO revoked_tokens VALUES ('gone', {old})"));
    f.sql(&format!(
        "INSERT INTO revoked_tokens VALUES ('kept', {})",
        to_unix_micros(OffsetDateTime::now_utc() + Duration::hours(1))
    ));

    let now = OffsetDateTime::now_utc();
    let would = s.prunable(Retention::default(), now).await.unwrap();
    assert_eq!((would.events, would.deliveries, would.attempts), (5, 5, 5));
    assert_eq!((would.idempotency_keys, would.revoked_tokens), (1, 1));

    // Two events per batch: several batches, each its own transaction.
    let mut after = 0;
    let mut total = tollgate_store::retention::Pruned::default();
    loop {
        let step = s.prune_event_batch(Retention::default(), now, after, 2).await.unwrap();
        total.add(step.pruned);
        match step.next {
            Some(n) => after = n,
            None => break,
        }
    }
    total.add(s.prune_expired_batch(now, 2).await.unwrap());
    assert_eq!(total, would, "a dry run counts what a pass deletes");
    // Kept: the events with a pending delivery (and those deliveries); the newest is one of them.
    assert_eq!(f.count("events"), 2);
    assert_eq!(f.count("webhook_deliveries"), 2);
    assert_eq!(f.sql("SELECT status FROM webhook_deliveries ORDER BY status"), ["pending", "pending"]);
    assert_eq!(f.count("webhook_attempts"), 0);
    assert_eq!(f.count("idempotency_keys"), 0);
    assert_eq!(f.sql("SELECT jti FROM revoked_tokens"), ["kept"]);
    let rows = s.table_rows().await.unwrap();
    assert_eq!(rows[0], ("events", 2));
    assert_eq!(s.prunable(Retention::default(), now).await.unwrap(), Default::default());
}
