//! Concurrent single creates, which the store may fold into shared transactions: whatever it
//! folds, every caller gets the answer it would have had alone, and the database holds exactly
//! the creates that were answered with success, each with its own event and idempotency record.

use std::sync::Arc;

use serde_json::json;
use tollgate_core::resource_type::TypeDefinition;
use tollgate_core::{NewResource, ProjectId, Resource};
use tollgate_store::{IdempotencyClaim, Store, StoreError, StoredResponse};

use crate::support::{machine, Backend, Fixture};

const SCOPE: &str = "key_c POST /v1/resource";

/// What one caller sent.
#[derive(Clone)]
struct Sent {
    project: ProjectId,
    new: NewResource,
    key: Option<String>,
}

fn claim(key: &str) -> IdempotencyClaim {
    IdempotencyClaim {
        scope: SCOPE.into(),
        key: key.into(),
        fingerprint: [3; 32],
        render: Arc::new(|r: &Resource| StoredResponse { status: 201, headers: vec![], body: r.id.to_string() }),
    }
}

/// Sends every create at once (as far as the runtime allows); the answers in the same order.
async fn create_all_at_once(store: &Arc<dyn Store>, sent: &[Sent]) -> Vec<Result<Resource, StoreError>> {
    let start = Arc::new(tokio::sync::Barrier::new(sent.len()));
    let tasks: Vec<_> = sent
        .iter()
        .cloned()
        .map(|s| {
            let (store, start) = (store.clone(), start.clone());
            tokio::spawn(async move {
                start.wait().await;
                store.create_resource(s.project, s.new, s.key.as_deref().map(claim)).await
            })
        })
        .collect();
    let mut answers = Vec::with_capacity(tasks.len());
    for t in tasks {
        answers.push(t.await.unwrap());
    }
    answers
}

/// Every successful answer matches what its caller sent, is stored as answered, and has exactly
/// one event and (given a key) its idempotency record; nothing else was written.
async fn check_stored(f: &Fixture, sent: &[Sent], answers: &[Result<Resource, StoreError>]) {
    let s = &f.store;
    let mut created = 0;
    for (sent, answer) in sent.iter().zip(answers) {
        let Ok(r) = answer else { continue };
        created += 1;
        assert_eq!((r.project_id, &r.content), (sent.project, &sent.new), "an answer is its caller's own");
        assert_eq!(&s.get_resource(sent.project, r.id).await.unwrap(), r);
        if let Some(key) = &sent.key {
            let since = time::OffsetDateTime::now_utc() - time::Duration::hours(1);
            let record = s.find_idempotency(SCOPE.into(), key.clone(), since).await.unwrap().unwrap();
            assert_eq!(record.response.body, r.id.to_string(), "key {key} records its own create");
        }
    }
    assert_eq!(f.count("resources"), created, "exactly the answered creates are stored");
    let events = s.unpublished_events(10_000).await.unwrap();
    assert_eq!(events.len(), usize::try_from(created).unwrap(), "one event per create");
    assert!(events.iter().all(|e| e.kind == "resource.created"));
    for r in answers.iter().flatten() {
        let id = format!("\"{}\"", r.id);
        assert_eq!(events.iter().filter(|e| e.payload.contains(&id)).count(), 1, "{} has its own event", r.id);
    }
}

fn schema(max_cpus: i64) -> TypeDefinition {
    let body = json!({"schema": {"type": "object", "properties": {"cpus": {"type": "integer", "maximum": max_cpus}}}});
    TypeDefinition::parse(&body, false).unwrap().1
}

pub async fn concurrent_creates_each_get_their_own_answer(f: Fixture) {
    let (p, q) = (f.project("p").await, f.project("q").await);
    f.store.create_type(p, "machine".into(), schema(16)).await.unwrap();
    let sent: Vec<Sent> = (0..200)
        .map(|i| {
            let mut new = machine(&format!("m{i}"), if i % 2 == 0 { "eu" } else { "us" });
            // Every fifth breaks p's type; q has no type, so there it is fine.
            if i % 5 == 0 {
                new.data = json!({"cpus": 32}).into();
            }
            let project = if i % 7 == 0 { q } else { p };
            let key = match i {
                // One key sent twice: one of the two wins.
                42 | 43 => Some("twice".to_owned()),
                _ if i % 10 == 3 => Some(format!("k{i}")),
                _ => None,
            };
            Sent { project, new, key }
        })
        .collect();
    let answers = create_all_at_once(&f.store, &sent).await;

    for (i, (sent, answer)) in sent.iter().zip(&answers).enumerate() {
        let refused = i % 5 == 0 && sent.project == p;
        match answer {
            Err(StoreError::SchemaViolations(v)) if refused => assert_eq!(v[0].pointer, "/data/cpus"),
            Ok(_) if !refused && i != 42 && i != 43 => {}
            Ok(_) | Err(StoreError::IdempotencyConflict) if i == 42 || i == 43 => {}
            other => panic!("create {i}: {other:?}"),
        }
    }
    assert_eq!(answers[42].is_ok() as u8 + answers[43].is_ok() as u8, 1, "one of the repeated key's creates won");
    check_stored(&f, &sent, &answers).await;
}

/// A trigger that fails the insert of a resource named `boom` at the database, as a full disk
/// or a broken constraint would: the statement (and on PostgreSQL the transaction) fails.
fn install_boom(f: &Fixture) {
    match f.backend {
        Backend::Sqlite => f.sql(
            "CREATE TRIGGER boom BEFORE INSERT ON resources WHEN NEW.name = 'boom' BEGIN SELECT RAISE(ABORT, 'boom'); END",
        ),
        Backend::Postgres => {
            f.sql(
                "CREATE FUNCTION boom() RETURNS trigger LANGUAGE plpgsql AS
                 $$ BEGIN IF NEW.name = 'boom' THEN RAISE EXCEPTION 'boom'; END IF; RETURN NEW; END $$",
            );
            f.sql("CREATE TRIGGER boom BEFORE INSERT ON resources FOR EACH ROW EXECUTE FUNCTION boom()")
        }
    };
}

pub async fn a_group_that_fails_as_a_whole_answers_each_member_alone(f: Fixture) {
    let p = f.project("p").await;
    install_boom(&f);
    // A key recorded before: a create that reuses it fails only after its rows were written.
    let first = f.store.create_resource(p, machine("first", "eu"), Some(claim("taken"))).await.unwrap();
    let mut all_sent = vec![Sent { project: p, new: machine("first", "eu"), key: Some("taken".into()) }];
    let mut all_answers = vec![Ok(first)];
    for round in 0..3 {
        let sent: Vec<Sent> = (0..60)
            .map(|i| {
                let name = if i == 20 { "boom".to_owned() } else { format!("r{round}-{i}") };
                let key = (i == 40).then(|| "taken".to_owned());
                Sent { project: p, new: machine(&name, "eu"), key }
            })
            .collect();
        let answers = create_all_at_once(&f.store, &sent).await;
        for (i, answer) in answers.iter().enumerate() {
            match (i, answer) {
                (20, Err(StoreError::Internal { .. })) | (40, Err(StoreError::IdempotencyConflict)) => {}
                (20 | 40, other) => panic!("round {round}, create {i}: {other:?}"),
                (_, Ok(_)) => {}
                (_, Err(e)) => panic!("round {round}, create {i}: {e:?}"),
            }
        }
        all_sent.extend(sent);
        all_answers.extend(answers);
    }
    check_stored(&f, &all_sent, &all_answers).await;
}
