//! Upgrades: a database as the previous release left it (SQLite at version 4, PostgreSQL at 3),
//! holding a row in every table, opens with this release's store and reads back whole.

use std::borrow::Cow;

use time::OffsetDateTime;
use tollgate_auth::secret::digest_of;
use tollgate_core::event_log::{EventFilter, EventOrder, EventQuery};
use tollgate_core::{ListQuery, ProjectId, ResourceId};
use tollgate_store::{PgStore, SqliteStore, Store};

struct Seed {
    project: ProjectId,
    resource: ResourceId,
    /// A resource without attributes.
    bare: ResourceId,
    endpoint: String,
    /// The two events, in the order of the log.
    events: [String; 2],
}

/// Statements that fill every table as the previous release wrote it; `blob` spells a byte
/// string in the backend's dialect.
fn seed(blob: fn(&[u8]) -> String) -> (Seed, Vec<String>) {
    let (project, resource, bare) = (ProjectId::generate(), ResourceId::generate(), ResourceId::generate());
    let (key, endpoint) = (format!("key_{}", ulid::Ulid::new()), format!("whk_{}", ulid::Ulid::new()));
    // In id order, as the upgrade that added the log numbered them.
    let mut events = [format!("evt_{}", ulid::Ulid::new()), format!("evt_{}", ulid::Ulid::new())];
    events.sort();
    let [e1, e2] = events.clone();
    let sql = vec![
        format!("INSERT INTO projects VALUES ('{project}', 'p', 1)"),
        "INSERT INTO settings VALUES ('bootstrapped', 'true')".into(),
        format!(
            "INSERT INTO resources VALUES ('{resource}', '{project}', 'old', 'machine', 'active', '{{\"region\":\"eu\"}}', \
             '{{\"cpus\":4}}', 10, 20, 3)"
        ),
        format!("INSERT INTO resource_attributes VALUES ('{resource}', '{project}', 'region', 'eu')"),
        format!("INSERT INTO resources VALUES ('{bare}', '{project}', 'bare', 'machine', 'active', '{{}}', '{{}}', 11, 21, 1)"),
        format!(
            "INSERT INTO credentials VALUES ('{key}', 'api_key', '{project}', 'k', 'admin resource:read', 'tg…', 1, 1, \
             NULL, NULL, NULL, '5/1m', NULL)"
        ),
        format!("INSERT INTO credential_secrets VALUES ({}, '{key}', 1, NULL)", blob(&digest_of("old-secret").0)),
        format!(
            "INSERT INTO signing_keys VALUES ('kid1', 'ES256', {}, '{{\"kid\":\"kid1\"}}', 1, NULL)",
            blob(&[1, 2, 3])
        ),
        "INSERT INTO revoked_tokens VALUES ('jti1', 9999999999999999)".into(),
        format!(
            "INSERT INTO idempotency_keys VALUES ('scope', 'k1', {}, '{{\"status\":201,\"headers\":[],\"body\":\"b\"}}', {})",
            blob(&[7; 32]),
            tollgate_core::time_fmt::to_unix_micros(OffsetDateTime::now_utc())
        ),
        format!("INSERT INTO events VALUES ('{e1}', '{project}', 'resource.created', '{{}}', 1, 1)"),
        format!("INSERT INTO events VALUES ('{e2}', '{project}', 'resource.created', '{{}}', 2, NULL)"),
        format!(
            "INSERT INTO webhook_endpoints VALUES ('{endpoint}', '{project}', 'https://x.example/', ' resource.created ', \
             's', 0, NULL)"
        ),
        format!("INSERT INTO webhook_deliveries VALUES ('dlv_a', '{endpoint}', '{e1}', 'succeeded', 1, 5, NULL, 1)"),
        format!("INSERT INTO webhook_deliveries VALUES ('dlv_b', '{endpoint}', '{e2}', 'pending', 1, 9, NULL, 2)"),
        "INSERT INTO webhook_attempts VALUES ('dlv_a', 1, 5, 204, NULL, 3)".into(),
        "INSERT INTO webhook_attempts VALUES ('dlv_b', 1, 6, NULL, 'timed out', 10000)".into(),
    ];
    (Seed { project, resource, bare, endpoint, events }, sql)
}

/// The first page of a full-text search for `text`.
fn search(text: &str) -> ListQuery {
    ListQuery {
        search: Some(tollgate_core::search::SearchQuery::parse(text).unwrap()),
        mode: tollgate_core::PageMode::Offset { page: 1 },
        ..ListQuery::first(10)
    }
}

/// Everything the seed wrote, read through this release's store.
async fn check(s: &dyn Store, seed: &Seed) {
    let r = s.get_resource(seed.project, seed.resource).await.unwrap();
    assert_eq!(
        (r.content.name.as_str(), r.version, r.content.data.value().clone()),
        ("old", 3, serde_json::json!({"cpus": 4}))
    );
    let q = ListQuery { attributes: vec![("region".into(), "eu".into())], ..ListQuery::first(10) };
    assert_eq!(s.list_resources(seed.project, q).await.unwrap().items, std::slice::from_ref(&r));
    // Counted by the upgrade: a sort by the attribute finds the resource without it after the
    // one with it (with no counts, the listing would believe that none lacks it).
    let q = ListQuery { sort: tollgate_core::query::parse_sort("attributes.region").unwrap(), ..ListQuery::first(10) };
    let sorted: Vec<_> = s.list_resources(seed.project, q).await.unwrap().items.into_iter().map(|r| r.id).collect();
    assert_eq!(sorted, [seed.resource, seed.bare]);
    // Written before search existed, and indexed by the upgrade (name, attributes, data).
    assert_eq!(s.list_resources(seed.project, search("old eu")).await.unwrap().items, [r]);
    let key = s.find_credential_by_digest(digest_of("old-secret"), OffsetDateTime::now_utc()).await.unwrap().unwrap();
    assert_eq!(key.credential.limits.read.map(|l| l.to_string()), Some("5/60s".into()));
    assert_eq!(s.live_signing_keys(OffsetDateTime::now_utc()).await.unwrap()[0].private_der, [1, 2, 3]);
    assert!(s.check_token(key.credential.id.clone(), "jti1".into()).await.unwrap().revoked);
    let since = OffsetDateTime::now_utc() - time::Duration::hours(1);
    let kept = s.find_idempotency("scope".into(), "k1".into(), since).await.unwrap().unwrap();
    assert_eq!(kept.response.body, "b");
    let deliveries = s.list_deliveries(seed.project, seed.endpoint.clone(), 10).await.unwrap();
    let seen: Vec<(String, String, Option<u16>, Option<String>)> =
        deliveries.into_iter().map(|d| (d.id, d.status, d.history[0].1, d.history[0].2.clone())).collect();
    assert_eq!(
        seen,
        [
            ("dlv_b".into(), "pending".into(), None, Some("timed out".into())),
            ("dlv_a".into(), "succeeded".into(), Some(204), None)
        ]
    );
    assert_eq!(s.unpublished_events(10).await.unwrap().len(), 1);
    // And the upgraded database takes new writes: a due delivery is claimed and recorded.
    let jobs = s.claim_deliveries(OffsetDateTime::now_utc(), time::Duration::minutes(1), 10).await.unwrap();
    assert_eq!(jobs.iter().map(|j| j.id.as_str()).collect::<Vec<_>>(), ["dlv_b"]);
}

/// What the upgraded database does with new writes: the event log keeps its order and a new
/// event follows it; a resource indexed by an earlier version leaves the search index when it is
/// deleted. (After [`assert_counted`], which these writes would change.)
async fn check_new_writes(s: &dyn Store, seed: &Seed) {
    let seq = |id: &str| s.event_seq(seed.project, id.to_owned());
    let (first, second) = (seq(&seed.events[0]).await.unwrap().unwrap(), seq(&seed.events[1]).await.unwrap().unwrap());
    assert!(first < second, "{first} < {second}");
    let new = tollgate_core::NewResource {
        name: "zephyr".into(),
        kind: "machine".into(),
        status: tollgate_core::ResourceStatus::Active,
        attributes: Default::default(),
        data: Default::default(),
    };
    s.create_resource(seed.project, new, None).await.unwrap();
    let query =
        EventQuery { filter: EventFilter::default(), order: EventOrder::NewestFirst, limit: 1, after_seq: None };
    let newest = s.list_events(seed.project, query).await.unwrap().items.remove(0);
    assert!(newest.seq > second && newest.kind == "resource.created", "{newest:?}");
    s.delete_resource(seed.project, seed.resource, None).await.unwrap();
    assert!(s.list_resources(seed.project, search("old eu")).await.unwrap().items.is_empty());
    assert_eq!(s.list_resources(seed.project, search("zephyr")).await.unwrap().items.len(), 1);
}

/// The counters the upgrade wrote, as `project|set|n` rows, sorted: the same sets as a write of
/// this release counts (` region ` for the resource with it, ` ` for the one without).
fn assert_counted(mut rows: Vec<String>, seed: &Seed) {
    rows.sort();
    assert_eq!(rows, [format!("{}| region |1", seed.project), format!("{}| |1", seed.project)]);
}

#[test]
fn sqlite_migrations_are_valid() {
    tollgate_store::sqlite::migrations().validate().unwrap();
}

#[tokio::test]
async fn a_sqlite_database_of_the_previous_release_opens_whole() {
    use std::os::unix::fs::OpenOptionsExt;
    let dir = tollgate_testkit::private_tempdir();
    let path = dir.path().join("tollgate.db");
    std::fs::OpenOptions::new().create(true).append(true).mode(0o600).open(&path).unwrap();
    let (seed, statements) = seed(|b| format!("X'{}'", tollgate_store::export::hex(b)));
    {
        let mut c = rusqlite::Connection::open(&path).unwrap();
        // Version 3's outbox, rebuilt by version 4 as the previous release did.
        tollgate_store::sqlite::migrations().to_version(&mut c, 3).unwrap();
        for sql in &statements {
            c.execute(sql, []).unwrap();
        }
        tollgate_store::sqlite::migrations().to_version(&mut c, 4).unwrap();
    }
    let store = SqliteStore::open(dir.path()).unwrap().with_event_publishing(true);
    check(&store, &seed).await;
    let c = rusqlite::Connection::open(&path).unwrap();
    let mut stmt = c.prepare("SELECT project_id || '|' || keys || '|' || n FROM attribute_counts").unwrap();
    let rows = stmt.query_map([], |r| r.get::<_, String>(0)).unwrap().map(Result::unwrap).collect();
    assert_counted(rows, &seed);
    check_new_writes(&store, &seed).await;
}

#[tokio::test]
async fn a_postgres_database_of_the_previous_release_migrates_whole() {
    let db = tollgate_testkit::TestDatabase::create();
    let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
    let all = &tollgate_store::postgres::MIGRATOR;
    let previous = sqlx::migrate::Migrator {
        migrations: Cow::Owned(all.migrations.iter().filter(|m| m.version <= 3).cloned().collect()),
        ..sqlx::migrate::Migrator::DEFAULT
    };
    previous.run(&pool).await.unwrap();
    let (seed, statements) = seed(|b| format!("'\\x{}'::bytea", tollgate_store::export::hex(b)));
    for sql in &statements {
        sqlx::query(sql).execute(&pool).await.unwrap();
    }
    pool.close().await;
    let store = PgStore::connect(&db.url, 4).await.unwrap().with_event_publishing(true);
    check(&store, &seed).await;
    assert_counted(
        tollgate_testkit::psql(&db.url, "SELECT project_id || '|' || keys || '|' || n FROM attribute_counts"),
        &seed,
    );
    check_new_writes(&store, &seed).await;
}

/// On PostgreSQL the columns that join on a resource id compare alike (`COLLATE "C"`): two
/// collations in one join leave its indexes unused, and a sort by attribute scanned every
/// attribute for each resource.
#[tokio::test]
async fn postgres_resource_id_columns_share_one_collation() {
    let db = tollgate_testkit::TestDatabase::create();
    PgStore::connect(&db.url, 1).await.unwrap();
    let rows = tollgate_testkit::psql(
        &db.url,
        "SELECT table_name || '.' || column_name || '=' || COALESCE(collation_name, 'default')
         FROM information_schema.columns WHERE table_schema = current_schema()
         AND (table_name, column_name) IN (('resources', 'id'), ('resource_attributes', 'resource_id'),
                                           ('resource_search', 'resource_id'))
         ORDER BY 1",
    );
    assert_eq!(rows, ["resource_attributes.resource_id=C", "resource_search.resource_id=C", "resources.id=C"]);
}

/// On PostgreSQL a filter and a sort on the same column read one index: no two indexes of the
/// resource tables hold the same columns (before migration 0013 `type`, `status` and attribute
/// values were indexed twice, once per collation, and every create wrote both), and the filters
/// a listing runs are served by the sort indexes.
#[tokio::test]
async fn postgres_filters_and_sorts_share_their_indexes() {
    let db = tollgate_testkit::TestDatabase::create();
    PgStore::connect(&db.url, 1).await.unwrap();
    let twice = tollgate_testkit::psql(
        &db.url,
        "SELECT indrelid::regclass || ' ' || indkey::text || ' ' || string_agg(indexrelid::regclass::text, ',')
         FROM pg_index WHERE indrelid IN ('resources'::regclass, 'resource_attributes'::regclass)
         GROUP BY indrelid, indkey::text HAVING count(*) > 1",
    );
    assert_eq!(twice, Vec::<String>::new(), "indexes with the same columns");
    // The plans of a listing's filters, with sequential scans ruled out so that the plan shows
    // which index serves them (a fresh table has no statistics to prefer one).
    let plan = |sql: &str| {
        tollgate_testkit::psql(
            &db.url,
            &format!("SET enable_seqscan = off; SET enable_bitmapscan = off; EXPLAIN {sql}"),
        )
        .join("\n")
    };
    let by_type = plan("SELECT id FROM resources WHERE project_id = 'p' AND type = 'machine' ORDER BY id LIMIT 10");
    assert!(by_type.contains("resources_by_type_sorted"), "{by_type}");
    assert!(!by_type.contains("Sort"), "{by_type}");
    let by_status = plan("SELECT id FROM resources WHERE project_id = 'p' AND status = 'active' ORDER BY id LIMIT 10");
    assert!(by_status.contains("resources_by_status_sorted"), "{by_status}");
    let by_value =
        plan("SELECT resource_id FROM resource_attributes WHERE project_id = 'p' AND key = 'region' AND value = 'eu'");
    assert!(by_value.contains("resource_attributes_sorted"), "{by_value}");
}

/// The shape a create writes on SQLite (bench/RESULTS.md measures what it saves): events in a
/// rowid table whose rowid is `seq`, so appends start new pages instead of splitting index
/// pages, with no separate `seq` index; and a full-text index that keeps no copy of the text.
#[test]
fn sqlite_writes_events_by_seq_and_search_without_content() {
    let dir = tollgate_testkit::private_tempdir();
    drop(SqliteStore::open(dir.path()).unwrap());
    let c = rusqlite::Connection::open(dir.path().join("tollgate.db")).unwrap();
    let names = |sql: &str| -> Vec<String> {
        let mut stmt = c.prepare(sql).unwrap();
        stmt.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
    };
    // `pk` 1 on an INTEGER column that is the whole key: the rowid itself.
    assert_eq!(names("SELECT name FROM pragma_table_info('events') WHERE pk > 0"), ["seq"]);
    assert_eq!(names("SELECT type FROM pragma_table_info('events') WHERE pk > 0"), ["INTEGER"]);
    let indexes = names("SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'events' ORDER BY name");
    assert_eq!(indexes, ["events_by_project", "events_unpublished", "sqlite_autoindex_events_1"]);
    let tables = names("SELECT name FROM sqlite_schema WHERE name LIKE 'resource_search%' ORDER BY name");
    assert_eq!(
        tables,
        [
            "resource_search",
            "resource_search_config",
            "resource_search_data",
            "resource_search_docsize",
            "resource_search_idx",
            "resource_search_map"
        ]
    );
}
