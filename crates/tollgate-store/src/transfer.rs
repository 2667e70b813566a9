//! Export and import: reading everything out in the export format, and the rules of writing a
//! file back in one transaction. Importing the same file twice changes nothing; a project whose
//! name exists under another id is merged into it; and a credential keeps its later state: an
//! import never clears a revocation, never restores a secret over a newer rotation, and never
//! extends an expiry.

use std::collections::HashMap;

use async_trait::async_trait;
use tollgate_core::{ProjectId, ValidationErrors};

use crate::attribute_counts::Tally;
use crate::conn::{Arg, Conn, Row, Sql};
use crate::db::{Backend, Db, WriteCtx};
use crate::export::{remap_projects, unhex, Counts, ExportCredential, ExportProject, ExportRecord, ExportSecret};
use crate::export_line::ResourceLines;
use crate::import_check::{check_credential, check_project, check_setting, checked_resource, digest};
use crate::rows::{credential_columns, resource_columns, RawCredential, ResourceRecord};
use crate::{changes, credentials, types, StoreError};

/// What an import wrote, and where it kept the installation's own, later state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportSummary {
    /// Records written, by type.
    pub counts: Counts,
    /// Each credential whose later state in this installation was kept over the file's.
    pub kept: Vec<KeptState>,
}

/// A credential whose state in the installation is later than the file's, and what of it was kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeptState {
    /// The credential's id.
    pub credential: String,
    /// What was kept: `revoked`, `newer rotation`, `earlier expiry`.
    pub kept: Vec<&'static str>,
}

/// Everything, in and out.
#[async_trait]
pub trait TransferStore: Send + Sync {
    /// Projects, settings and credentials (with digests) for an export, of one project or all.
    async fn export_meta(&self, project: Option<ProjectId>) -> Result<Vec<ExportRecord>, StoreError>;
    /// Up to `limit` resources after `after` (by id), of one project or all, as the export
    /// format's lines, written into `buffer` (see [`ResourceLines::new`]).
    async fn export_resources(
        &self,
        project: Option<ProjectId>,
        after: Option<String>,
        limit: u32,
        buffer: Vec<u8>,
    ) -> Result<ResourceLines, StoreError>;
    /// Writes `records` in one transaction (see the module's rules).
    async fn import(&self, records: Vec<ExportRecord>) -> Result<ImportSummary, StoreError>;
}

const PROJECTS: Sql = Sql::each(
    "SELECT id, name, created_at FROM projects WHERE $1 IS NULL OR id = $1 ORDER BY id",
    "SELECT id, name, created_at FROM projects WHERE $1 IS NULL OR id = $1 ORDER BY id COLLATE \"C\"",
);
const SETTINGS: Sql = Sql::each(
    "SELECT key, value FROM settings ORDER BY key",
    "SELECT key, value FROM settings ORDER BY key COLLATE \"C\"",
);
const CREDENTIALS: Sql = Sql::each(
    concat!(
        "SELECT ",
        credential_columns!(),
        ", c.kind FROM credentials c WHERE $1 IS NULL OR c.project_id = $1 ORDER BY c.id"
    ),
    concat!(
        "SELECT ",
        credential_columns!(),
        ", c.kind FROM credentials c WHERE $1 IS NULL OR c.project_id = $1 ORDER BY c.id COLLATE \"C\""
    ),
);
const SECRETS: Sql = Sql::same(
    "SELECT digest, created_at, expires_at FROM credential_secrets WHERE credential_id = $1 ORDER BY created_at, digest",
);
// A page starts after the previous page's last id (the first after "", which sorts before every
// id), a range each backend seeks in an index: `$2 IS NULL OR id > $2` (and the same for the
// project) was not, so every page scanned the index from the first id and an export's cost
// grew with the square of its size.
const RESOURCES: Sql =
    Sql::same(concat!("SELECT ", resource_columns!(), " FROM resources WHERE id > $1 ORDER BY id LIMIT $2"));
const PROJECT_RESOURCES: Sql = Sql::same(concat!(
    "SELECT ",
    resource_columns!(),
    " FROM resources WHERE project_id = $1 AND id > $2 ORDER BY id LIMIT $3"
));
const PROJECT_NAMES: Sql = Sql::same("SELECT name, id FROM projects");
const UPSERT_PROJECT: Sql = Sql::same(
    "INSERT INTO projects (id, name, created_at) VALUES ($1, $2, $3)
     ON CONFLICT (id) DO UPDATE SET name = excluded.name, created_at = excluded.created_at",
);
const UPSERT_SETTING: Sql = Sql::same(
    "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
);
const UPSERT_CREDENTIAL: Sql = Sql::same(
    "INSERT INTO credentials (id, project_id, name, scopes, hint, created_at, rotated_at, expires_at, last_used_at,
     revoked_at, limit_read, limit_write, kind) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
     ON CONFLICT (id) DO UPDATE SET project_id = excluded.project_id, name = excluded.name,
     scopes = excluded.scopes, hint = excluded.hint, created_at = excluded.created_at,
     rotated_at = excluded.rotated_at, expires_at = excluded.expires_at, last_used_at = excluded.last_used_at,
     revoked_at = excluded.revoked_at, limit_read = excluded.limit_read, limit_write = excluded.limit_write,
     kind = excluded.kind",
);
const UPSERT_SECRET: Sql = Sql::same(
    "INSERT INTO credential_secrets (digest, credential_id, created_at, expires_at) VALUES ($1, $2, $3, $4)
     ON CONFLICT (digest) DO UPDATE SET credential_id = excluded.credential_id,
     created_at = excluded.created_at, expires_at = excluded.expires_at",
);
const END_SECRET: Sql = Sql::same("UPDATE credential_secrets SET expires_at = $1 WHERE digest = $2");

#[async_trait]
impl<B: Backend> TransferStore for Db<B> {
    async fn export_meta(&self, project: Option<ProjectId>) -> Result<Vec<ExportRecord>, StoreError> {
        self.read("export_meta", move |c| Box::pin(export_meta(c, project.map(|p| p.to_string())))).await
    }

    async fn export_resources(
        &self,
        project: Option<ProjectId>,
        after: Option<String>,
        limit: u32,
        buffer: Vec<u8>,
    ) -> Result<ResourceLines, StoreError> {
        self.read("export_resources", move |c| {
            Box::pin(async move {
                // Each row is written out as it is read, borrowed from the statement.
                let mut page = ResourceLines::new(buffer);
                let mut each = |r: &dyn Row| page.push(&ResourceRecord::from_row(r)?);
                let (after, limit) = (Arg::Text(after.as_deref().unwrap_or_default()), Arg::Int(limit.into()));
                match project {
                    Some(p) => {
                        c.for_each(&PROJECT_RESOURCES, &[Arg::Text(&p.to_string()), after, limit], &mut each).await
                    }
                    None => c.for_each(&RESOURCES, &[after, limit], &mut each).await,
                }?;
                Ok(page)
            })
        })
        .await
    }

    async fn import(&self, records: Vec<ExportRecord>) -> Result<ImportSummary, StoreError> {
        let ctx = self.ctx.clone();
        let out = self.write("import", move |tx| Box::pin(async move { import(tx, records, &ctx).await })).await;
        self.credentials_changed();
        out
    }
}

async fn export_meta(c: &mut impl Conn, project: Option<String>) -> Result<Vec<ExportRecord>, StoreError> {
    let project = Arg::OptText(project.as_deref());
    let mut out: Vec<ExportRecord> = Vec::new();
    let projects: Vec<ExportProject> = c.fetch_all(&PROJECTS, &[project]).await?;
    out.extend(projects.into_iter().map(ExportRecord::Project));
    let settings: Vec<(String, String)> = c.fetch_all(&SETTINGS, &[]).await?;
    out.extend(settings.into_iter().map(|(key, value)| ExportRecord::Setting { key, value }));
    let credentials: Vec<ExportCredential> = c.fetch_all(&CREDENTIALS, &[project]).await?;
    for mut cred in credentials {
        cred.secrets = c.fetch_all(&SECRETS, &[Arg::Text(&cred.row.id)]).await?;
        out.push(ExportRecord::Credential(Box::new(cred)));
    }
    Ok(out)
}

async fn import(tx: &mut impl Conn, records: Vec<ExportRecord>, ctx: &WriteCtx) -> Result<ImportSummary, StoreError> {
    let existing: HashMap<String, String> = tx.fetch_all(&PROJECT_NAMES, &[]).await?.into_iter().collect();
    let mut summary = ImportSummary::default();
    // The attribute counters change once, in their fixed order, after every record.
    let mut tally = Tally::default();
    for r in remap_projects(records, &existing) {
        summary.counts.add(&r);
        match r {
            ExportRecord::Project(p) => {
                check_project(&p).map_err(StoreError::Validation)?;
                let args = [Arg::Text(&p.id), Arg::Text(&p.name), Arg::Int(p.created_at)];
                tx.execute(&UPSERT_PROJECT, &args).await?;
            }
            ExportRecord::Setting { key, value } => {
                check_setting(&key, &value).map_err(StoreError::Validation)?;
                tx.execute(&UPSERT_SETTING, &[Arg::Text(&key), Arg::Text(&value)]).await?;
            }
            ExportRecord::Credential(cred) => {
                if let Some(kept) = import_credential(tx, *cred).await? {
                    summary.kept.push(kept);
                }
            }
            ExportRecord::Resource(raw) => {
                // Checked as the API checks a write, so an import never stores what the API
                // would refuse (see `import_check`).
                let resource = checked_resource(&raw).map_err(StoreError::Validation)?;
                types::check(tx, &ctx.types, resource.project_id, &resource.content).await?;
                tally.remove_stored(tx, &resource.id.to_string()).await?;
                tally.add(&resource);
                changes::overwrite(tx, &resource).await?;
            }
            ExportRecord::Header { .. } | ExportRecord::Footer { .. } => {}
        }
    }
    tally.apply(tx).await?;
    Ok(summary)
}

/// The earlier of two optional instants, where `None` is "never".
fn earliest(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Merges the file's credential with the installation's: the later state of each part wins.
fn merge(file: RawCredential, current: Option<&RawCredential>) -> (RawCredential, Vec<&'static str>) {
    let Some(cur) = current else { return (file, Vec::new()) };
    let mut row = file;
    let mut kept = Vec::new();
    if cur.revoked_at.is_some() && (row.revoked_at.is_none() || cur.revoked_at < row.revoked_at) {
        row.revoked_at = cur.revoked_at;
        kept.push("revoked");
    }
    if cur.rotated_at > row.rotated_at {
        row.rotated_at = cur.rotated_at;
        row.hint.clone_from(&cur.hint);
        kept.push("newer rotation");
    }
    let expires_at = earliest(cur.expires_at, row.expires_at);
    if expires_at != row.expires_at {
        row.expires_at = expires_at;
        kept.push("earlier expiry");
    }
    row.last_used_at = row.last_used_at.max(cur.last_used_at);
    (row, kept)
}

async fn import_credential(tx: &mut impl Conn, cred: ExportCredential) -> Result<Option<KeptState>, StoreError> {
    check_credential(&cred).map_err(StoreError::Validation)?;
    let current: Option<RawCredential> = tx.fetch_optional(&credentials::GET_ANY, &[Arg::Text(&cred.row.id)]).await?;
    let current_secrets: Vec<ExportSecret> = match &current {
        Some(_) => tx.fetch_all(&SECRETS, &[Arg::Text(&cred.row.id)]).await?,
        None => Vec::new(),
    };
    let file_rotated_at = cred.row.rotated_at;
    let (row, kept) = merge(cred.row, current.as_ref());
    // Checked the way reads check it.
    row.clone().into_credential()?;
    let args = [
        Arg::Text(&row.id),
        Arg::Text(&row.project_id),
        Arg::Text(&row.name),
        Arg::Text(&row.scopes),
        Arg::Text(&row.hint),
        Arg::Int(row.created_at),
        Arg::Int(row.rotated_at),
        Arg::OptInt(row.expires_at),
        Arg::OptInt(row.last_used_at),
        Arg::OptInt(row.revoked_at),
        Arg::OptText(row.limit_read.as_deref()),
        Arg::OptText(row.limit_write.as_deref()),
        Arg::Text(&cred.kind),
    ];
    tx.execute(&UPSERT_CREDENTIAL, &args).await?;
    let stored: HashMap<&str, Option<i64>> =
        current_secrets.iter().map(|s| (s.digest.as_str(), s.expires_at)).collect();
    for (i, s) in cred.secrets.iter().enumerate() {
        let digest = secret_digest(i, s)?;
        let expires_at = match stored.get(s.digest.as_str()) {
            // Never extend what this installation already ended.
            Some(current) => earliest(*current, s.expires_at),
            // A secret the file has from before this installation's later rotation ended then.
            None if row.rotated_at > file_rotated_at => earliest(Some(row.rotated_at), s.expires_at),
            None => s.expires_at,
        };
        let args = [Arg::Blob(&digest), Arg::Text(&row.id), Arg::Int(s.created_at), Arg::OptInt(expires_at)];
        tx.execute(&UPSERT_SECRET, &args).await?;
    }
    // The file's rotation is the later one: secrets it does not list ended with it.
    if current.is_some_and(|c| file_rotated_at > c.rotated_at) {
        let listed: Vec<&str> = cred.secrets.iter().map(|s| s.digest.as_str()).collect();
        for s in current_secrets.iter().filter(|s| !listed.contains(&s.digest.as_str())) {
            let Some(ended) = earliest(s.expires_at, Some(file_rotated_at)).filter(|e| Some(*e) != s.expires_at) else {
                continue;
            };
            let digest =
                unhex(&s.digest).ok_or_else(|| StoreError::corrupt("credential_secrets", &row.id, "digest"))?;
            tx.execute(&END_SECRET, &[Arg::Int(ended), Arg::Blob(&digest)]).await?;
        }
    }
    Ok((!kept.is_empty()).then_some(KeptState { credential: row.id, kept }))
}

/// The bytes of the file's `i`th secret's digest. [`check_credential`] has already refused a
/// digest that is not 64 hex characters; should it ever stop doing so, the record is refused
/// here rather than written with an empty digest.
fn secret_digest(i: usize, s: &ExportSecret) -> Result<Vec<u8>, StoreError> {
    digest(&s.digest).ok_or_else(|| {
        StoreError::Validation(ValidationErrors::single(format!("secrets[{i}].digest"), "must be 64 hex characters"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(rotated_at: i64, revoked_at: Option<i64>, expires_at: Option<i64>) -> RawCredential {
        RawCredential {
            id: "key_1".into(),
            project_id: "prj_1".into(),
            name: "k".into(),
            scopes: "resource:read".into(),
            hint: format!("hint{rotated_at}"),
            created_at: 0,
            rotated_at,
            expires_at,
            last_used_at: None,
            revoked_at,
            limit_read: None,
            limit_write: None,
        }
    }

    #[test]
    fn the_later_state_wins_part_by_part() {
        let (merged, kept) = merge(row(1, None, None), Some(&row(5, Some(7), Some(100))));
        assert_eq!((merged.rotated_at, merged.hint.as_str()), (5, "hint5"));
        assert_eq!((merged.revoked_at, merged.expires_at), (Some(7), Some(100)));
        assert_eq!(kept, ["revoked", "newer rotation", "earlier expiry"]);

        // The file is later: it wins, and nothing is reported.
        let (merged, kept) = merge(row(9, Some(3), Some(50)), Some(&row(5, None, Some(100))));
        assert_eq!((merged.rotated_at, merged.revoked_at, merged.expires_at), (9, Some(3), Some(50)));
        assert!(kept.is_empty());

        // A new credential is written as the file has it.
        assert_eq!(merge(row(1, None, None), None).0, row(1, None, None));
    }

    #[test]
    fn a_digest_that_is_not_64_hex_characters_is_refused_not_written_empty() {
        let secret = |digest: &str| ExportSecret { digest: digest.into(), created_at: 0, expires_at: None };
        assert_eq!(secret_digest(0, &secret(&"ab".repeat(32))).unwrap(), vec![0xab; 32]);
        for bad in ["", "zz", &"ab".repeat(31)] {
            match secret_digest(2, &secret(bad)) {
                Err(StoreError::Validation(e)) => assert!(e.fields().contains_key("secrets[2].digest"), "{bad:?}: {e}"),
                other => panic!("{bad:?}: {other:?}"),
            }
        }
    }
}
