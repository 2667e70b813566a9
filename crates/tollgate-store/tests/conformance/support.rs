//! A fresh store of either backend, with raw SQL access for the few tests that must see or
//! break what the store wrote.

use std::sync::Arc;

use serde_json::json;
use tollgate_core::{NewResource, ProjectId, ResourceStatus};
use tollgate_store::export::ExportRecord;
use tollgate_store::rows::RawResource;
use tollgate_store::{PgStore, SqliteStore, Store};
use tollgate_testkit::{psql, TestDatabase};

/// Which backend a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A store and what keeps its database alive.
pub struct Fixture {
    pub store: Arc<dyn Store>,
    pub backend: Backend,
    dir: tempfile::TempDir,
    db: Option<TestDatabase>,
}

impl Backend {
    /// A fresh store, publishing events (so the outbox's unpublished events are visible).
    pub async fn open(self) -> Fixture {
        let dir = tollgate_testkit::private_tempdir();
        let (store, db): (Arc<dyn Store>, _) = match self {
            Backend::Sqlite => (Arc::new(SqliteStore::open(dir.path()).unwrap().with_event_publishing(true)), None),
            Backend::Postgres => {
                let db = TestDatabase::create();
                // Reads by id coalesced, as a server opens PostgreSQL.
                let store = PgStore::connect(&db.url, 8).await.unwrap().with_event_publishing(true);
                (Arc::new(store.with_read_coalescing()), Some(db))
            }
        };
        Fixture { store, backend: self, dir, db }
    }
}

impl Fixture {
    /// A second, empty store of the same backend.
    pub async fn another(&self) -> Fixture {
        self.backend.open().await
    }

    /// Runs `sql` on the database directly; rows as `a|b|c` lines.
    pub fn sql(&self, sql: &str) -> Vec<String> {
        match &self.db {
            Some(db) => psql(&db.url, sql),
            None => {
                let c = rusqlite::Connection::open(self.dir.path().join("tollgate.db")).unwrap();
                let mut stmt = c.prepare(sql).unwrap();
                let n = stmt.column_count();
                let rows = stmt
                    .query_map([], |r| {
                        (0..n)
                            .map(|i| {
                                Ok(match r.get_ref(i)? {
                                    rusqlite::types::ValueRef::Null => String::new(),
                                    rusqlite::types::ValueRef::Integer(i) => i.to_string(),
                                    rusqlite::types::ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned(),
                                    other => format!("{other:?}"),
                                })
                            })
                            .collect::<rusqlite::Result<Vec<_>>>()
                            .map(|v| v.join("|"))
                    })
                    .unwrap();
                rows.map(Result::unwrap).collect()
            }
        }
    }

    /// Another handle on the same database, as a second node opens it: keeping credentials in
    /// memory and watching for their changes, as a server's store does.
    pub async fn caching_node(&self) -> Arc<dyn Store> {
        match &self.db {
            Some(db) => {
                let s = PgStore::connect(&db.url, 4).await.unwrap().with_auth_cache();
                s.spawn_credential_watch();
                Arc::new(s)
            }
            None => {
                let s = SqliteStore::open(self.dir.path()).unwrap().with_auth_cache();
                s.spawn_credential_watch();
                Arc::new(s)
            }
        }
    }

    /// Another handle on the same database that folds concurrent reads by id into one query, on
    /// either backend (its folding counts are `coalescer_stats`).
    pub async fn coalescing_node(&self) -> Arc<dyn Store> {
        match &self.db {
            Some(db) => Arc::new(PgStore::connect(&db.url, 8).await.unwrap().with_read_coalescing()),
            None => Arc::new(SqliteStore::open(self.dir.path()).unwrap().with_read_coalescing()),
        }
    }

    /// The PostgreSQL database's URL (`None` on SQLite).
    pub fn database_url(&self) -> Option<String> {
        self.db.as_ref().map(|db| db.url.clone())
    }

    /// The number of rows of `table`.
    pub fn count(&self, table: &str) -> i64 {
        self.sql(&format!("SELECT count(*) FROM {table}"))[0].parse().unwrap()
    }

    /// A project of its own.
    pub async fn project(&self, name: &str) -> ProjectId {
        self.store.ensure_project(name).await.unwrap().id
    }
}

/// A resource's content.
pub fn machine(name: &str, region: &str) -> NewResource {
    NewResource {
        name: name.into(),
        kind: "machine".into(),
        status: ResourceStatus::Active,
        attributes: [("region".to_owned(), region.to_owned())].into_iter().collect(),
        data: json!({"cpus": 8, "tags": ["a", "b"]}).into(),
    }
}

/// The resources an export of `project` (or of all) holds, page by page of `per`, each page's
/// lines parsed; the page's count and last id are checked against them.
pub async fn exported_resources(s: &dyn Store, project: Option<ProjectId>, per: u32) -> Vec<RawResource> {
    let (mut all, mut after, mut buffer) = (Vec::new(), None, Vec::new());
    loop {
        let page = s.export_resources(project, after.take(), per, buffer).await.unwrap();
        let text = std::str::from_utf8(&page.text).unwrap();
        assert!(text.is_empty() || text.ends_with('\n'), "{text}");
        let rows: Vec<RawResource> = text
            .lines()
            .map(|line| match serde_json::from_str(line).unwrap() {
                ExportRecord::Resource(r) => r,
                other => panic!("not a resource: {other:?}"),
            })
            .collect();
        assert_eq!(rows.len(), page.count);
        assert_eq!(rows.last().map(|r| r.id().to_owned()), page.last_id);
        all.extend(rows);
        if page.count < per as usize {
            return all;
        }
        (after, buffer) = (page.last_id, page.text);
    }
}
