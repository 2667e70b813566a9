//! Opening a store: the errors a caller can act on, and the data directory's permissions.

use std::os::unix::fs::PermissionsExt;

use tollgate_store::sqlite::Permissions;
use tollgate_store::{chain, PgStore, SqliteStore, StoreError};

#[tokio::test]
async fn an_unreachable_postgres_is_unavailable_with_its_cause() {
    let e = PgStore::connect("postgres://postgres@127.0.0.1:1/none", 1).await.err().unwrap();
    assert!(matches!(e, StoreError::Unavailable { .. }), "{e:?}");
    assert!(chain(&e).starts_with("storage unavailable while connecting to PostgreSQL: "), "{}", chain(&e));
}

#[tokio::test]
async fn a_postgres_statement_past_the_timeout_is_cancelled_by_the_server() {
    let db = tollgate_testkit::TestDatabase::create();
    let limit = std::time::Duration::from_millis(300);
    // The migrations ran on a connection without the limit; every pooled one has it.
    let store = PgStore::connect_with(&db.url, 2, Some(limit)).await.unwrap();
    let pool = store.backend().pool();
    let shown: String = sqlx::query_scalar("SHOW statement_timeout").fetch_one(pool).await.unwrap();
    assert_eq!(shown, "300ms");
    let started = std::time::Instant::now();
    let e = sqlx::query("SELECT pg_sleep(5)").execute(pool).await.expect_err("cancelled");
    assert!(started.elapsed() < std::time::Duration::from_secs(3), "{:?}", started.elapsed());
    let code = e.as_database_error().and_then(|d| d.code()).map(|c| c.into_owned());
    assert_eq!(code.as_deref(), Some("57014"), "query_canceled: {e}");
    // Without a limit, the server's own (none here) applies.
    let plain = PgStore::connect(&db.url, 1).await.unwrap();
    let shown: String = sqlx::query_scalar("SHOW statement_timeout").fetch_one(plain.backend().pool()).await.unwrap();
    assert_eq!(shown, "0");
}

#[tokio::test]
async fn postgres_reads_by_id_are_planned_once_on_connections_of_their_own() {
    use tollgate_store::{ProjectStore, ResourceStore};
    let db = tollgate_testkit::TestDatabase::create();
    let limit = std::time::Duration::from_millis(300);
    let store = PgStore::connect_with(&db.url, 2, Some(limit)).await.unwrap().with_read_coalescing();
    let project = store.ensure_project("plans").await.unwrap().id;
    let created = store.create_resource(project, crate::support::machine("m", "eu"), None).await.unwrap();
    // One read at a time: the lazy pool of reads by id opens one connection and keeps it.
    for _ in 0..12 {
        assert_eq!(store.get_resource(project, created.id).await.unwrap(), created);
    }
    let by_id = store.backend().by_id_pool();
    let show =
        |pool, what: &'static str| async move { sqlx::query_scalar::<_, String>(what).fetch_one(pool).await.unwrap() };
    assert_eq!(show(by_id, "SHOW plan_cache_mode").await, "force_generic_plan");
    assert_eq!(show(by_id, "SHOW statement_timeout").await, "300ms", "the timeout holds there too");
    assert_eq!(show(store.backend().pool(), "SHOW plan_cache_mode").await, "auto", "other statements as before");
    // Every read ran there, each on the statement's one generic plan: counted on each of the
    // pool's connections (held at once, so that each is asked once).
    let mut held = Vec::new();
    let (mut generic, mut custom) = (0, 0);
    for _ in 0..tollgate_store::coalesce::MAX_IN_FLIGHT {
        let mut conn = by_id.acquire().await.unwrap();
        let counts: Option<(i64, i64)> = sqlx::query_as(
            "SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE statement LIKE '%id = ANY($1::text[])'",
        )
        .fetch_optional(&mut *conn)
        .await
        .unwrap();
        let (g, c) = counts.unwrap_or_default();
        (generic, custom) = (generic + g, custom + c);
        held.push(conn);
    }
    assert_eq!((generic, custom), (12, 0));
}

#[test]
fn the_data_directory_and_database_are_private_whatever_the_umask() {
    let parent = tollgate_testkit::private_tempdir();
    let dir = parent.path().join("data");
    SqliteStore::open(&dir).unwrap();
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir), 0o700);
    for f in ["tollgate.db", "tollgate.db-wal", "tollgate.db-shm"] {
        assert_eq!(mode(&dir.join(f)), 0o600, "{f}");
    }
}

#[test]
fn a_directory_others_can_read_is_refused_unless_allowed() {
    let dir = tollgate_testkit::private_tempdir();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let e = SqliteStore::open(dir.path()).err().unwrap();
    let text = chain(&e);
    assert!(matches!(e, StoreError::Unavailable { .. }), "{e:?}");
    assert!(text.contains(&dir.path().display().to_string()) && text.contains("chmod 700"), "{text}");
    assert!(!dir.path().join("tollgate.db").exists(), "nothing written");
    SqliteStore::open_with(dir.path(), Permissions::AllowShared).unwrap();
    // A database file others can read is refused too.
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
    std::fs::set_permissions(dir.path().join("tollgate.db"), std::fs::Permissions::from_mode(0o644)).unwrap();
    let e = SqliteStore::open(dir.path()).err().unwrap();
    assert!(chain(&e).contains("chmod 600"), "{}", chain(&e));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_folded_log_leaves_every_write_in_the_database_file() {
    use std::time::{Duration, Instant};
    use tollgate_store::sqlite::{fold_log, Folded};
    use tollgate_store::{ProjectStore, ResourceStore};
    let dir = tollgate_testkit::private_tempdir();
    assert_eq!(fold_log(dir.path()).unwrap(), Folded::NoDatabase);
    assert!(!dir.path().join("tollgate.db").exists(), "none is created");
    let store = SqliteStore::open(dir.path()).unwrap();
    let project = store.ensure_project("fold").await.unwrap().id;
    let mut ids = Vec::new();
    for i in 0..20 {
        ids.push(
            store.create_resource(project, crate::support::machine(&format!("m{i}"), "eu"), None).await.unwrap().id,
        );
    }
    let wal = dir.path().join("tollgate.db-wal");
    assert!(std::fs::metadata(&wal).unwrap().len() > 0, "the writes are in the log");

    // Another connection inside a read transaction: the log stays, and the call waits briefly.
    let reader = rusqlite::Connection::open(dir.path().join("tollgate.db")).unwrap();
    reader.execute_batch("BEGIN").unwrap();
    let seen: i64 = reader.query_row("SELECT count(*) FROM resources", [], |r| r.get(0)).unwrap();
    assert_eq!(seen, 20);
    let started = Instant::now();
    assert_eq!(fold_log(dir.path()).unwrap(), Folded::Busy);
    let waited = started.elapsed();
    assert!(waited >= tollgate_store::sqlite::PATIENCE / 2 && waited < Duration::from_secs(1), "{waited:?}");
    reader.execute_batch("COMMIT").unwrap();
    drop(reader);

    // Idle connections (the store's own) do not stop it.
    assert_eq!(fold_log(dir.path()).unwrap(), Folded::Emptied);
    assert_eq!(std::fs::metadata(&wal).unwrap().len(), 0);
    // The database file alone now holds every write.
    let copy = tollgate_testkit::private_tempdir();
    std::fs::copy(dir.path().join("tollgate.db"), copy.path().join("tollgate.db")).unwrap();
    let alone = SqliteStore::open(copy.path()).unwrap();
    for id in &ids {
        alone.get_resource(project, *id).await.unwrap();
    }
    // And the store whose log was emptied under it goes on reading and writing.
    let more = store.create_resource(project, crate::support::machine("after", "eu"), None).await.unwrap();
    assert_eq!(store.get_resource(project, more.id).await.unwrap(), more);
    assert_eq!(store.get_resource(project, ids[0]).await.unwrap().id, ids[0]);
}

/// SQLite's automatic checkpoint runs every 8,000 log pages, not at its default 1,000: about
/// 5 MiB of writes (1,300 pages) stay in the log, and `tollgate.db` does not grow until a fold.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_holds_thousands_of_pages_before_a_checkpoint() {
    use tollgate_store::{ProjectStore, ResourceStore};
    let dir = tollgate_testkit::private_tempdir();
    let store = SqliteStore::open(dir.path()).unwrap();
    let project = store.ensure_project("log").await.unwrap().id;
    let size = |f: &str| std::fs::metadata(dir.path().join(f)).unwrap().len();
    let before = size("tollgate.db");
    // 40 resources of 100-150 KB of data each (under the 256 KiB a body may carry).
    for i in 0..40 {
        let mut r = crate::support::machine(&format!("m{i}"), "eu");
        r.data = serde_json::json!({"text": format!("{i} ").repeat(50_000)}).into();
        store.create_resource(project, r, None).await.unwrap();
    }
    let (wal, db) = (size("tollgate.db-wal"), size("tollgate.db"));
    assert!(wal > 5 * 1024 * 1024, "the writes are in the log ({wal} bytes)");
    assert_eq!(db, before, "no checkpoint copied them into the database file");
}

/// The bundled SQLite is compiled as `.cargo/config.toml` asks: without memory statistics and
/// without one page-cache group for every connection, each a global mutex taken many times per
/// statement. A build that lost those flags (another config, `cargo` run from elsewhere) fails
/// here instead of only running slower.
#[test]
fn sqlite_is_built_without_its_global_mutexes() {
    let conn = rusqlite::Connection::open_in_memory().unwrap();
    let mut stmt = conn.prepare("PRAGMA compile_options").unwrap();
    let options: Vec<String> = stmt.query_map([], |row| row.get(0)).unwrap().collect::<Result<_, _>>().unwrap();
    assert!(options.iter().any(|o| o == "DEFAULT_MEMSTATUS=0"), "{options:?}");
    assert!(!options.iter().any(|o| o == "ENABLE_MEMORY_MANAGEMENT"), "{options:?}");
}
