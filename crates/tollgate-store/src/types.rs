//! Resource types: registrations per project ([`TypeStore`]) and the check every resource write
//! makes against its type, inside the write's transaction. Compiled validators are cached per
//! (project, type, version, created_at); each write reads only the type's version and creation
//! time (one indexed row), so a new schema registered through any node applies on every node at
//! once, a type deleted and registered again (at version 1 again) included.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use tollgate_core::resource_type::{CompiledType, ResourceType, TypeDefinition, Violation};
use tollgate_core::time_fmt::{from_unix_micros, now, to_unix_micros};
use tollgate_core::{NewResource, ProjectId};

use crate::conn::{Arg, Conn, FromRow, Row, Sql};
use crate::db::{Backend, Db};
use crate::StoreError;

/// Resource types of a project, and the project's rule for unregistered ones.
#[async_trait]
pub trait TypeStore: Send + Sync {
    /// Registers a type at version 1; `Conflict` when the name is registered already.
    async fn create_type(
        &self,
        project: ProjectId,
        name: String,
        definition: TypeDefinition,
    ) -> Result<ResourceType, StoreError>;
    /// The project's types, by name.
    async fn list_types(&self, project: ProjectId) -> Result<Vec<ResourceType>, StoreError>;
    /// One type.
    async fn get_type(&self, project: ProjectId, name: String) -> Result<ResourceType, StoreError>;
    /// A new definition: the next version. Existing resources are not re-checked; their next write is.
    async fn update_type(
        &self,
        project: ProjectId,
        name: String,
        definition: TypeDefinition,
    ) -> Result<ResourceType, StoreError>;
    /// Removes a type; `Conflict` while resources of it exist.
    async fn delete_type(&self, project: ProjectId, name: String) -> Result<(), StoreError>;
    /// Whether writes of an unregistered type are refused in the project.
    async fn require_registered_types(&self, project: ProjectId) -> Result<bool, StoreError>;
    /// Sets that rule.
    async fn set_require_registered_types(&self, project: ProjectId, required: bool) -> Result<(), StoreError>;
}

macro_rules! type_columns {
    () => {
        "project_id, name, version, schema, attributes, description, created_at, updated_at"
    };
}

const INSERT: Sql = Sql::same(concat!(
    "INSERT INTO resource_types (",
    type_columns!(),
    ") VALUES ($1, $2, 1, $3, $4, $5, $6, $6) ON CONFLICT (project_id, name) DO NOTHING"
));
const GET: Sql =
    Sql::same(concat!("SELECT ", type_columns!(), " FROM resource_types WHERE project_id = $1 AND name = $2"));
const LIST: Sql =
    Sql::same(concat!("SELECT ", type_columns!(), " FROM resource_types WHERE project_id = $1 ORDER BY name"));
const UPDATE: Sql = Sql::same(
    "UPDATE resource_types SET version = version + 1, schema = $1, attributes = $2, description = $3, updated_at = $4
     WHERE project_id = $5 AND name = $6",
);
const IN_USE: Sql = Sql::same("SELECT count(*) FROM resources WHERE project_id = $1 AND type = $2");
const DELETE: Sql = Sql::same("DELETE FROM resource_types WHERE project_id = $1 AND name = $2");
const RULE: Sql = Sql::same("SELECT require_registered_types FROM projects WHERE id = $1");
const SET_RULE: Sql = Sql::same("UPDATE projects SET require_registered_types = $1 WHERE id = $2");
/// What a write needs to know first: the project's rule and whether the type is registered, in
/// one indexed read (a plain read: see [`rule`]).
const VERSION: Sql = Sql::same(
    "SELECT p.require_registered_types, t.version FROM projects p
     LEFT JOIN resource_types t ON t.project_id = p.id AND t.name = $1 WHERE p.id = $2",
);
/// A registered type's version and creation time, its row key-share-locked until the write
/// commits: `delete_type` deletes the row before it counts the type's resources, so it waits
/// for the write and then counts its resource. `FOR KEY SHARE` conflicts with that DELETE but
/// not with `update_type`'s UPDATE (no key column changes), which `FOR SHARE` would hold behind
/// every write of the type in flight. SQLite has no row locks and needs none: its writer runs
/// one write transaction at a time, and this read (the plain read's row again) is inside it.
const LOCK_VERSION: Sql = Sql::each(
    "SELECT version, created_at FROM resource_types WHERE project_id = $1 AND name = $2",
    "SELECT version, created_at FROM resource_types WHERE project_id = $1 AND name = $2 FOR KEY SHARE",
);

/// `project_id, name, version, schema, attributes, description, created_at, updated_at`.
impl FromRow for ResourceType {
    fn from_row(r: &impl Row) -> Result<Self, StoreError> {
        let name = r.text(1)?;
        let corrupt = |what| StoreError::corrupt("resource_types", &name, what);
        Ok(ResourceType {
            project_id: ProjectId::parse(&r.text(0)?).ok_or_else(|| corrupt("project_id"))?,
            version: r.int(2)?,
            definition: TypeDefinition {
                schema: serde_json::from_str(&r.text(3)?).map_err(|_| corrupt("schema"))?,
                attributes: serde_json::from_str(&r.text(4)?).map_err(|_| corrupt("attributes"))?,
                description: r.text(5)?,
            },
            created_at: from_unix_micros(r.int(6)?),
            updated_at: from_unix_micros(r.int(7)?),
            name,
        })
    }
}

/// `require_registered_types`, and whether the type is registered (its `version` is not null).
struct TypeVersion(bool, bool);

impl FromRow for TypeVersion {
    fn from_row(r: &impl Row) -> Result<Self, StoreError> {
        Ok(TypeVersion(r.int(0)? != 0, r.opt_int(1)?.is_some()))
    }
}

/// Which registration of a type, and which version of it: `(version, created_at)` (micros). A
/// type deleted and registered again has version 1 again but another creation time.
type Stamp = (i64, i64);

/// A compiled type and the registration and version it was compiled from.
type Compiled = (Stamp, Arc<CompiledType>);

/// Compiled validators by (project, type).
#[derive(Default)]
pub struct TypeCache {
    compiled: Mutex<HashMap<(ProjectId, String), Compiled>>,
}

impl TypeCache {
    fn get(&self, project: ProjectId, name: &str, stamp: Stamp) -> Option<Arc<CompiledType>> {
        let compiled = self.compiled.lock().unwrap_or_else(|p| p.into_inner());
        compiled.get(&(project, name.to_owned())).filter(|(s, _)| *s == stamp).map(|(_, c)| c.clone())
    }

    fn put(&self, project: ProjectId, name: &str, stamp: Stamp, compiled: Arc<CompiledType>) {
        let mut all = self.compiled.lock().unwrap_or_else(|p| p.into_inner());
        // Types are few per project; bound the cache anyway against a flood of registrations.
        if all.len() >= 10_000 {
            all.clear();
        }
        all.insert((project, name.to_owned()), (stamp, compiled));
    }
}

/// Checks `content` against its type, if registered (or refuses an unregistered type where the
/// project requires registration). Runs inside the write's transaction.
pub(crate) async fn check(
    tx: &mut impl Conn,
    cache: &TypeCache,
    project: ProjectId,
    content: &NewResource,
) -> Result<(), StoreError> {
    rule(tx, cache, project, &content.kind).await?.check(content)
}

/// What a write of one type must satisfy in a project, read once for every resource of that
/// type a transaction writes.
pub(crate) enum Rule {
    /// Not registered, and the project does not require registration: anything goes.
    Free,
    /// Not registered, and the project requires registration: refused.
    Unregistered,
    /// Registered: the compiled schema.
    Schema(Arc<CompiledType>),
}

impl Rule {
    /// Checks `content` (of this rule's type).
    pub(crate) fn check(&self, content: &NewResource) -> Result<(), StoreError> {
        let violations = match self {
            Rule::Free => return Ok(()),
            Rule::Unregistered => {
                let message =
                    format!("type `{}` is not registered, and this project requires registered types", content.kind);
                vec![Violation { pointer: "/type".into(), message }]
            }
            Rule::Schema(compiled) => compiled.check(content),
        };
        if violations.is_empty() {
            Ok(())
        } else {
            Err(StoreError::SchemaViolations(violations))
        }
    }
}

/// The rule of type `kind` in `project`, read by the write (one indexed row; the schema is
/// compiled once per version and cached). A plain read: on PostgreSQL a create reads it before its
/// transaction begins, which, under READ COMMITTED, sees what a read inside it would. A type
/// that is not registered costs nothing more (the benchmarks' creates: two round trips). A
/// registered one is then locked inside the transaction ([`LOCK_VERSION`]), and the rule is what the
/// locked row says.
pub(crate) async fn rule(
    tx: &mut impl Conn,
    cache: &TypeCache,
    project: ProjectId,
    kind: &str,
) -> Result<Rule, StoreError> {
    let project_text = project.to_string();
    let Some(TypeVersion(required, registered)) =
        tx.fetch_optional_plain(&VERSION, &[Arg::Text(kind), Arg::Text(&project_text)]).await?
    else {
        return Ok(Rule::Free);
    };
    let unregistered = if required { Rule::Unregistered } else { Rule::Free };
    if !registered {
        return Ok(unregistered);
    }
    // Held until the write commits; deleted since the plain read: as if never registered.
    let locked: Option<Stamp> = tx.fetch_optional(&LOCK_VERSION, &[Arg::Text(&project_text), Arg::Text(kind)]).await?;
    let Some(stamp) = locked else {
        return Ok(unregistered);
    };
    if let Some(compiled) = cache.get(project, kind, stamp) {
        return Ok(Rule::Schema(compiled));
    }
    let t: ResourceType = tx
        .fetch_optional_plain(&GET, &[Arg::Text(&project_text), Arg::Text(kind)])
        .await?
        .ok_or(StoreError::NotFound)?;
    let compiled = Arc::new(
        CompiledType::new(&t.definition).map_err(|e| StoreError::internal("compiling a stored resource type", e))?,
    );
    cache.put(project, kind, (t.version, to_unix_micros(t.created_at)), compiled.clone());
    Ok(Rule::Schema(compiled))
}

fn encode(d: &TypeDefinition) -> Result<(String, String), StoreError> {
    let err = |e| StoreError::internal("encoding a type", e);
    Ok((serde_json::to_string(&d.schema).map_err(err)?, serde_json::to_string(&d.attributes).map_err(err)?))
}

#[async_trait]
impl<B: Backend> TypeStore for Db<B> {
    async fn create_type(
        &self,
        project: ProjectId,
        name: String,
        definition: TypeDefinition,
    ) -> Result<ResourceType, StoreError> {
        self.write("create_type", move |tx| {
            Box::pin(async move {
                let (schema, attributes) = encode(&definition)?;
                let p = project.to_string();
                let args = [
                    Arg::Text(&p),
                    Arg::Text(&name),
                    Arg::Text(&schema),
                    Arg::Text(&attributes),
                    Arg::Text(&definition.description),
                    Arg::Int(to_unix_micros(now())),
                ];
                if tx.execute(&INSERT, &args).await? == 0 {
                    return Err(StoreError::Conflict(format!(
                        "type `{name}` is registered already; PUT a new version"
                    )));
                }
                tx.fetch_one(&GET, &[Arg::Text(&p), Arg::Text(&name)]).await
            })
        })
        .await
    }

    async fn list_types(&self, project: ProjectId) -> Result<Vec<ResourceType>, StoreError> {
        self.read("list_types", move |c| {
            Box::pin(async move { c.fetch_all(&LIST, &[Arg::Text(&project.to_string())]).await })
        })
        .await
    }

    async fn get_type(&self, project: ProjectId, name: String) -> Result<ResourceType, StoreError> {
        self.read("get_type", move |c| {
            Box::pin(async move { c.fetch_one(&GET, &[Arg::Text(&project.to_string()), Arg::Text(&name)]).await })
        })
        .await
    }

    async fn update_type(
        &self,
        project: ProjectId,
        name: String,
        definition: TypeDefinition,
    ) -> Result<ResourceType, StoreError> {
        self.write("update_type", move |tx| {
            Box::pin(async move {
                let (schema, attributes) = encode(&definition)?;
                let p = project.to_string();
                let args = [
                    Arg::Text(&schema),
                    Arg::Text(&attributes),
                    Arg::Text(&definition.description),
                    Arg::Int(to_unix_micros(now())),
                    Arg::Text(&p),
                    Arg::Text(&name),
                ];
                if tx.execute(&UPDATE, &args).await? == 0 {
                    return Err(StoreError::NotFound);
                }
                tx.fetch_one(&GET, &[Arg::Text(&p), Arg::Text(&name)]).await
            })
        })
        .await
    }

    async fn delete_type(&self, project: ProjectId, name: String) -> Result<(), StoreError> {
        self.write("delete_type", move |tx| {
            Box::pin(async move {
                let p = project.to_string();
                let args = [Arg::Text(&p), Arg::Text(&name)];
                // The row first, then the count. On PostgreSQL the DELETE waits for every write
                // that holds the row (`rule`), and the count, a statement of its own under READ
                // COMMITTED, then sees what they wrote. A conflict rolls the deletion back.
                if tx.execute(&DELETE, &args).await? == 0 {
                    return Err(StoreError::NotFound);
                }
                let in_use: i64 = tx.fetch_one(&IN_USE, &args).await?;
                if in_use > 0 {
                    return Err(StoreError::Conflict(format!(
                        "{in_use} resources of type `{name}` exist; delete them first"
                    )));
                }
                Ok(())
            })
        })
        .await
    }

    async fn require_registered_types(&self, project: ProjectId) -> Result<bool, StoreError> {
        self.read("require_registered_types", move |c| {
            Box::pin(async move { Ok(c.fetch_one::<i64>(&RULE, &[Arg::Text(&project.to_string())]).await? != 0) })
        })
        .await
    }

    async fn set_require_registered_types(&self, project: ProjectId, required: bool) -> Result<(), StoreError> {
        self.write("set_require_registered_types", move |tx| {
            Box::pin(async move {
                let args = [Arg::Int(i64::from(required)), Arg::Text(&project.to_string())];
                if tx.execute(&SET_RULE, &args).await? == 0 {
                    return Err(StoreError::NotFound);
                }
                Ok(())
            })
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use tollgate_core::resource_type::TypeDefinition;
    use tollgate_core::ProjectId;
    use tollgate_testkit::TestDatabase;

    use super::{rule, Rule, TypeCache, TypeStore};
    use crate::conn::{Conn, Sql};
    use crate::postgres::{PgConn, PgStore};
    use crate::projects::ProjectStore;

    /// A create of a type that is not registered reads the rule before its transaction begins
    /// on PostgreSQL, so that its writes, one statement, commit alone (two round trips;
    /// `postgres::conn`).
    #[tokio::test]
    async fn on_postgres_the_rule_is_read_before_the_transaction_begins() {
        let db = TestDatabase::create();
        let store = PgStore::connect(&db.url, 2).await.expect("connect");
        let pool = store.backend().pool().clone();
        let mut write = PgConn::begin(&pool).await.expect("a write");
        let read = rule(&mut write, &TypeCache::default(), ProjectId::generate(), "widget").await.expect("rule");
        assert!(matches!(read, Rule::Free));
        let pid: i64 = write
            .fetch_optional_plain(&Sql::same("SELECT pg_backend_pid()::bigint"), &[])
            .await
            .expect("pid")
            .expect("a row");
        let (state,): (String,) = sqlx::query_as("SELECT state FROM pg_stat_activity WHERE pid = $1::int")
            .bind(pid)
            .fetch_one(&pool)
            .await
            .expect("state");
        assert_eq!(state, "idle", "no BEGIN went before the rule");
    }

    /// A write of a registered type holds the type's row from its rule to its end, so that a
    /// deletion of the type waits for it (`delete_type`).
    #[tokio::test]
    async fn on_postgres_a_registered_types_row_is_held_until_the_write_ends() {
        let db = TestDatabase::create();
        let store = PgStore::connect(&db.url, 2).await.expect("connect");
        let project = store.ensure_project("p").await.expect("project").id;
        let definition = TypeDefinition::parse(&json!({"schema": {"type": "object"}}), false).expect("definition").1;
        store.create_type(project, "widget".into(), definition).await.expect("type");
        let pool = store.backend().pool().clone();
        let claim =
            || sqlx::query("SELECT 1 FROM resource_types WHERE name = 'widget' FOR UPDATE NOWAIT").execute(&pool);

        let mut write = PgConn::begin(&pool).await.expect("a write");
        let read = rule(&mut write, &TypeCache::default(), project, "widget").await.expect("rule");
        assert!(matches!(read, Rule::Schema(_)));
        assert!(claim().await.is_err(), "the write holds the type's row");
        write.commit().await.expect("commit");
        claim().await.expect("the commit let it go");
    }

    /// The row a write holds does not hold up a new version of the type (`LOCK_VERSION`'s `FOR
    /// KEY SHARE`): only a deletion waits for the write.
    #[tokio::test]
    async fn on_postgres_a_new_version_does_not_wait_for_writes_of_the_type() {
        let db = TestDatabase::create();
        let store = PgStore::connect(&db.url, 2).await.expect("connect");
        let project = store.ensure_project("p").await.expect("project").id;
        let definition = TypeDefinition::parse(&json!({"schema": {"type": "object"}}), false).expect("definition").1;
        store.create_type(project, "widget".into(), definition.clone()).await.expect("type");
        let pool = store.backend().pool().clone();

        let mut write = PgConn::begin(&pool).await.expect("a write");
        let read = rule(&mut write, &TypeCache::default(), project, "widget").await.expect("rule");
        assert!(matches!(read, Rule::Schema(_)));
        let update = store.update_type(project, "widget".into(), definition);
        let updated = tokio::time::timeout(std::time::Duration::from_secs(5), update).await;
        assert_eq!(updated.expect("not held up by the write").expect("updated").version, 2);
        write.commit().await.expect("commit");
    }
}
