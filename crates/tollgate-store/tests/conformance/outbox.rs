//! Webhook endpoints, deliveries and attempts, and the events waiting for the message queue.

use time::{Duration, OffsetDateTime};
use tollgate_core::time_fmt::{from_unix_micros, to_unix_micros};
use tollgate_core::webhook::{AttemptResult, Attempted, NextStep, WebhookEndpoint};
use tollgate_core::ProjectId;
use tollgate_store::StoreError;

use crate::support::{machine, Fixture};

pub(crate) fn endpoint(project: ProjectId, n: u8) -> WebhookEndpoint {
    WebhookEndpoint {
        id: format!("whk_{}", ulid::Ulid::new()),
        project_id: project,
        url: format!("https://hooks{n}.example/in"),
        event_types: vec!["resource.created".into(), "resource.deleted".into()],
        secret: format!("whsec_{n}"),
        // Stored to the microsecond.
        created_at: from_unix_micros(to_unix_micros(OffsetDateTime::now_utc())),
        disabled_at: None,
    }
}

pub(crate) fn outcome(job: &tollgate_core::webhook::DeliveryJob, code: u16, next: NextStep) -> Attempted {
    Attempted {
        endpoint_id: job.endpoint_id.clone(),
        delivery_id: job.id.clone(),
        result: AttemptResult { status_code: Some(code), error: None, duration_ms: 12, next },
    }
}

pub async fn webhooks_deliveries_and_attempts(f: Fixture) {
    let s = &f.store;
    let (p, other) = (f.project("p").await, f.project("other").await);
    let mut endpoints = Vec::new();
    for n in 0..3 {
        endpoints.push(s.create_webhook(endpoint(p, n)).await.unwrap());
    }
    let foreign = s.create_webhook(endpoint(other, 9)).await.unwrap();
    assert_eq!(s.list_webhooks(p).await.unwrap().len(), 3);
    assert_eq!(s.get_webhook(p, endpoints[0].id.clone()).await.unwrap(), endpoints[0]);
    assert!(matches!(s.get_webhook(p, foreign.id.clone()).await, Err(StoreError::NotFound)));
    assert!(matches!(s.delete_webhook(p, foreign.id.clone()).await, Err(StoreError::NotFound)));
    assert!(matches!(s.list_deliveries(p, foreign.id.clone(), 10).await, Err(StoreError::NotFound)));

    // A created resource: one delivery per subscribed endpoint of its project. An update is not
    // subscribed to, so it makes none.
    let r = s.create_resource(p, machine("a", "eu"), None).await.unwrap();
    s.update_resource(
        p,
        r.id,
        tollgate_store::ResourceUpdate { patch: serde_json::json!({"name": "b"}), precondition: None },
        None,
    )
    .await
    .unwrap();
    assert_eq!(f.count("webhook_deliveries"), 3);
    let now = OffsetDateTime::now_utc();
    let mut jobs = s.claim_deliveries(now, Duration::minutes(1), 10).await.unwrap();
    assert_eq!(jobs.len(), 3);
    assert!(jobs.iter().all(|j| j.event.kind == "resource.created" && j.event.payload.contains(&r.id.to_string())));
    assert!(
        s.claim_deliveries(now, Duration::minutes(1), 10).await.unwrap().is_empty(),
        "leased jobs are not claimed twice"
    );
    jobs.sort_by(|a, b| a.url.cmp(&b.url));

    // One group of outcomes: success, a 410 that disables its endpoint, a retry; an endpoint
    // removed mid-attempt is skipped without failing the rest.
    let gone = s.create_webhook(endpoint(p, 5)).await.unwrap();
    s.send_test_event(p, gone.id.clone()).await.unwrap();
    let test_jobs = s.claim_deliveries(OffsetDateTime::now_utc(), Duration::minutes(1), 10).await.unwrap();
    assert_eq!(test_jobs.len(), 1, "a test event goes to its endpoint alone");
    assert_eq!(test_jobs[0].event.kind, "webhook.test");
    s.delete_webhook(p, gone.id.clone()).await.unwrap();
    let retry_at = now + Duration::hours(1);
    let outcomes = vec![
        outcome(&jobs[0], 204, NextStep::Succeeded),
        outcome(&jobs[1], 410, NextStep::DisableEndpoint),
        outcome(&jobs[2], 500, NextStep::RetryAt(retry_at)),
        outcome(&test_jobs[0], 204, NextStep::Succeeded),
    ];
    s.record_attempts(outcomes).await.unwrap();
    let state = |i: usize| {
        let id = jobs[i].endpoint_id.clone();
        async move { s.list_deliveries(p, id, 10).await.unwrap().remove(0) }
    };
    let (ok, failed, pending) = (state(0).await, state(1).await, state(2).await);
    assert_eq!((ok.status.as_str(), ok.attempts, ok.history[0].1), ("succeeded", 1, Some(204)));
    assert_eq!((failed.status.as_str(), failed.history.len()), ("failed", 1));
    assert_eq!(pending.status, "pending");
    assert_eq!(pending.next_attempt_at.map(|t| t.unix_timestamp()), Some(retry_at.unix_timestamp()));
    assert!(s.get_webhook(p, jobs[1].endpoint_id.clone()).await.unwrap().disabled_at.is_some());
    assert!(s.claim_deliveries(now + Duration::hours(2), Duration::minutes(1), 10).await.unwrap().len() == 1);

    // Replay: only a failed delivery; it re-enables the endpoint.
    let refused = s.replay_delivery(p, ok.id.clone(), ok.id.clone()).await;
    assert!(matches!(refused, Err(StoreError::NotFound)), "{refused:?}");
    let refused = s.replay_delivery(p, jobs[0].endpoint_id.clone(), ok.id.clone()).await;
    assert!(matches!(refused, Err(StoreError::Conflict(_))), "{refused:?}");
    // A delivery the endpoint does not have is not found: an unknown id, a malformed one, and
    // another endpoint's (failed) delivery alike.
    for delivery in ["dlv_01JD3Z00000000000000000000".to_owned(), "nope".to_owned(), failed.id.clone()] {
        let refused = s.replay_delivery(p, jobs[0].endpoint_id.clone(), delivery.clone()).await;
        assert!(matches!(refused, Err(StoreError::NotFound)), "{delivery}: {refused:?}");
    }
    s.replay_delivery(p, jobs[1].endpoint_id.clone(), failed.id.clone()).await.unwrap();
    assert!(s.get_webhook(p, jobs[1].endpoint_id.clone()).await.unwrap().disabled_at.is_none());
    assert_eq!(state(1).await.status, "pending");

    // Deleting an endpoint takes its deliveries and attempts with it.
    s.delete_webhook(p, jobs[0].endpoint_id.clone()).await.unwrap();
    assert!(matches!(s.get_webhook(p, jobs[0].endpoint_id.clone()).await, Err(StoreError::NotFound)));
    let left = f.sql(&format!("SELECT count(*) FROM webhook_attempts WHERE endpoint_id = '{}'", jobs[0].endpoint_id));
    assert_eq!(left, ["0"]);
}

pub async fn publishing_to_the_message_queue(f: Fixture) {
    let s = &f.store;
    let p = f.project("p").await;
    for i in 0..3 {
        s.create_resource(p, machine(&format!("m{i}"), "eu"), None).await.unwrap();
    }
    let events = s.unpublished_events(2).await.unwrap();
    assert_eq!(events.len(), 2, "at most the limit, oldest first");
    assert!(events[0].id < events[1].id);
    s.mark_published(events.iter().map(|e| e.id.clone()).collect()).await.unwrap();
    let rest = s.unpublished_events(10).await.unwrap();
    assert_eq!(rest.len(), 1);
    assert!(rest[0].id > events[1].id);
}

/// The command id (`cmin`) of every row a write of resource `id` left in each table it writes
/// (its events and their deliveries: those of type `event`; the counters its transaction wrote,
/// whichever shard they are on): rows written by one statement share one, each further
/// statement of the transaction takes the next. One line per table:
/// `table|rows|distinct command ids|the smallest`.
fn command_ids(f: &Fixture, project: ProjectId, id: &str, event: &str) -> Vec<String> {
    f.sql(&format!(
        "SELECT t, count(*), count(DISTINCT c::text), min(c::text) FROM (
           SELECT 'resources' AS t, cmin AS c FROM resources WHERE id = '{id}'
           UNION ALL SELECT 'attributes', cmin FROM resource_attributes WHERE resource_id = '{id}'
           UNION ALL SELECT 'events', e.cmin FROM events e WHERE e.resource_id = '{id}' AND e.type = '{event}'
           UNION ALL SELECT 'deliveries', d.cmin FROM webhook_deliveries d JOIN events e ON e.id = d.event_id
             WHERE e.resource_id = '{id}' AND e.type = '{event}'
           UNION ALL SELECT 'search', cmin FROM resource_search WHERE resource_id = '{id}'
           UNION ALL SELECT 'counters', cmin FROM attribute_counts WHERE project_id = '{project}'
             AND xmin = (SELECT xmin FROM resources WHERE id = '{id}')) AS s
         GROUP BY t ORDER BY t"
    ))
}

/// `rows` (of [`command_ids`]) name exactly `tables`, and every row of them carries one command id.
fn one_statement(rows: &[String], tables: &[&str]) {
    let names: Vec<&str> = rows.iter().map(|row| row.split('|').next().unwrap_or("")).collect();
    assert_eq!(names, tables, "{rows:?}");
    let firsts: Vec<&str> = rows.iter().map(|row| row.rsplit('|').next().unwrap_or("")).collect();
    assert!(rows.iter().all(|row| row.split('|').nth(2) == Some("1")), "{rows:?}");
    assert!(firsts.iter().all(|c| *c == firsts[0]), "written by more than one statement: {rows:?}");
}

/// On PostgreSQL a change set's writes go as one statement (`Conn::queue_many`): the row, its
/// attributes, its event, the event's delivery, its search entry and the attribute counter of a
/// create all carry one command id.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_create_writes_every_table_in_one_statement() {
    let f = crate::support::Backend::Postgres.open().await;
    let p = f.project("p").await;
    f.store.create_webhook(endpoint(p, 1)).await.unwrap();
    let r = f.store.create_resource(p, machine("a", "eu"), None).await.unwrap();
    let rows = command_ids(&f, p, &r.id.to_string(), "resource.created");
    one_statement(&rows, &["attributes", "counters", "deliveries", "events", "resources", "search"]);
}

/// An update's writes too, after its deletions: the new row version, its attributes, its event,
/// its search entry and both counters it moves (from the old key set to the new) carry one id.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_an_update_writes_every_table_in_one_statement() {
    let f = crate::support::Backend::Postgres.open().await;
    let p = f.project("p").await;
    let r = f.store.create_resource(p, machine("a", "eu"), None).await.unwrap();
    let patch = serde_json::json!({"attributes": {"region": null, "zone": "z1"}});
    let update = tollgate_store::ResourceUpdate { patch, precondition: None };
    f.store.update_resource(p, r.id, update, None).await.unwrap();
    let rows = command_ids(&f, p, &r.id.to_string(), "resource.updated");
    one_statement(&rows, &["attributes", "counters", "events", "resources", "search"]);
    assert!(rows[1].starts_with("counters|2|"), "the old key set's counter and the new one's: {rows:?}");
}
