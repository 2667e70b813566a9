//! Export and import on PostgreSQL.

use std::collections::HashMap;

use sqlx::{PgPool, Postgres, Row, Transaction};

use crate::export::{hex, remap_projects, unhex, Counts, ExportCredential, ExportProject, ExportRecord, ExportSecret};
use crate::rows::{RawCredential, RawResource};
use crate::StoreError;

const CRED_COLUMNS: &str = "id, project_id, name, scopes, hint, created_at, rotated_at, expires_at, last_used_at, \
     revoked_at, limit_read, limit_write, kind";
const RES_COLUMNS: &str = "id, project_id, name, type, status, attributes, data, created_at, updated_at, version";

pub(super) async fn export_meta(pool: &PgPool, project: Option<String>) -> Result<Vec<ExportRecord>, StoreError> {
    let mut out = Vec::new();
    for r in sqlx::query(
        "SELECT id, name, created_at FROM projects WHERE $1::text IS NULL OR id = $1 ORDER BY id COLLATE \"C\"",
    )
    .bind(&project)
    .fetch_all(pool)
    .await?
    {
        out.push(ExportRecord::Project(ExportProject {
            id: r.try_get("id")?,
            name: r.try_get("name")?,
            created_at: r.try_get("created_at")?,
        }));
    }
    for r in sqlx::query("SELECT key, value FROM settings ORDER BY key COLLATE \"C\"").fetch_all(pool).await? {
        out.push(ExportRecord::Setting { key: r.try_get("key")?, value: r.try_get("value")? });
    }
    let creds = sqlx::query(&format!(
        "SELECT {CRED_COLUMNS} FROM credentials WHERE $1::text IS NULL OR project_id = $1 ORDER BY id COLLATE \"C\""
    ))
    .bind(&project)
    .fetch_all(pool)
    .await?;
    for r in creds {
        let row = RawCredential {
            id: r.try_get("id")?,
            project_id: r.try_get("project_id")?,
            name: r.try_get("name")?,
            scopes: r.try_get("scopes")?,
            hint: r.try_get("hint")?,
            created_at: r.try_get("created_at")?,
            rotated_at: r.try_get("rotated_at")?,
            expires_at: r.try_get("expires_at")?,
            last_used_at: r.try_get("last_used_at")?,
            revoked_at: r.try_get("revoked_at")?,
            limit_read: r.try_get("limit_read")?,
            limit_write: r.try_get("limit_write")?,
        };
        let secrets = sqlx::query(
            "SELECT digest, created_at, expires_at FROM credential_secrets WHERE credential_id = $1
             ORDER BY created_at, digest",
        )
        .bind(&row.id)
        .fetch_all(pool)
        .await?
        .iter()
        .map(|s| {
            Ok(ExportSecret {
                digest: hex(&s.try_get::<Vec<u8>, _>("digest")?),
                created_at: s.try_get("created_at")?,
                expires_at: s.try_get("expires_at")?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
        out.push(ExportRecord::Credential(ExportCredential { row, kind: r.try_get("kind")?, secrets }));
    }
    Ok(out)
}

pub(super) async fn export_resources(
    pool: &PgPool,
    project: Option<String>,
    after: Option<String>,
    limit: u32,
) -> Result<Vec<RawResource>, StoreError> {
    let rows = sqlx::query(&format!(
        "SELECT {RES_COLUMNS} FROM resources WHERE ($1::text IS NULL OR project_id = $1)
         AND ($2::text IS NULL OR id > $2) ORDER BY id COLLATE \"C\" LIMIT $3"
    ))
    .bind(project)
    .bind(after)
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(RawResource {
                id: r.try_get("id")?,
                project_id: r.try_get("project_id")?,
                name: r.try_get("name")?,
                kind: r.try_get("type")?,
                status: r.try_get("status")?,
                attributes: r.try_get("attributes")?,
                data: r.try_get("data")?,
                created_at: r.try_get("created_at")?,
                updated_at: r.try_get("updated_at")?,
                version: r.try_get("version")?,
            })
        })
        .collect()
}

pub(super) async fn import(pool: &PgPool, records: Vec<ExportRecord>) -> Result<Counts, StoreError> {
    let mut tx = pool.begin().await?;
    let existing: HashMap<String, String> = sqlx::query("SELECT name, id FROM projects")
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|r| Ok((r.try_get("name")?, r.try_get("id")?)))
        .collect::<Result<_, StoreError>>()?;
    let mut counts = Counts::default();
    for r in remap_projects(records, &existing) {
        counts.add(&r);
        match r {
            ExportRecord::Project(p) => {
                sqlx::query(
                    "INSERT INTO projects (id, name, created_at) VALUES ($1, $2, $3)
                     ON CONFLICT (id) DO UPDATE SET name = excluded.name, created_at = excluded.created_at",
                )
                .bind(&p.id)
                .bind(&p.name)
                .bind(p.created_at)
                .execute(&mut *tx)
                .await?;
            }
            ExportRecord::Setting { key, value } => {
                sqlx::query("INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
                    .bind(key)
                    .bind(value)
                    .execute(&mut *tx)
                    .await?;
            }
            ExportRecord::Credential(cred) => import_credential(&mut tx, &cred).await?,
            ExportRecord::Resource(res) => import_resource(&mut tx, &res).await?,
            ExportRecord::Header { .. } | ExportRecord::Footer { .. } => {}
        }
    }
    tx.commit().await?;
    Ok(counts)
}

async fn import_credential(tx: &mut Transaction<'_, Postgres>, cred: &ExportCredential) -> Result<(), StoreError> {
    let r = &cred.row;
    sqlx::query(&format!(
        "INSERT INTO credentials ({CRED_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
         ON CONFLICT (id) DO UPDATE SET project_id = excluded.project_id, name = excluded.name,
         scopes = excluded.scopes, hint = excluded.hint, created_at = excluded.created_at,
         rotated_at = excluded.rotated_at, expires_at = excluded.expires_at, last_used_at = excluded.last_used_at,
         revoked_at = excluded.revoked_at, limit_read = excluded.limit_read, limit_write = excluded.limit_write,
         kind = excluded.kind"
    ))
    .bind(&r.id)
    .bind(&r.project_id)
    .bind(&r.name)
    .bind(&r.scopes)
    .bind(&r.hint)
    .bind(r.created_at)
    .bind(r.rotated_at)
    .bind(r.expires_at)
    .bind(r.last_used_at)
    .bind(r.revoked_at)
    .bind(&r.limit_read)
    .bind(&r.limit_write)
    .bind(&cred.kind)
    .execute(&mut **tx)
    .await?;
    for s in &cred.secrets {
        let digest = unhex(&s.digest).filter(|d| d.len() == 32).ok_or_else(|| {
            StoreError::Validation(tollgate_core::ValidationErrors::single("digest", "must be 64 hex characters"))
        })?;
        sqlx::query(
            "INSERT INTO credential_secrets (digest, credential_id, created_at, expires_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (digest) DO UPDATE SET credential_id = excluded.credential_id,
             created_at = excluded.created_at, expires_at = excluded.expires_at",
        )
        .bind(digest)
        .bind(&r.id)
        .bind(s.created_at)
        .bind(s.expires_at)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

async fn import_resource(tx: &mut Transaction<'_, Postgres>, r: &RawResource) -> Result<(), StoreError> {
    let resource = r.clone().into_resource()?;
    sqlx::query("DELETE FROM resource_attributes WHERE resource_id = $1").bind(&r.id).execute(&mut **tx).await?;
    sqlx::query(&format!(
        "INSERT INTO resources ({RES_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         ON CONFLICT (id) DO UPDATE SET project_id = excluded.project_id, name = excluded.name, type = excluded.type,
         status = excluded.status, attributes = excluded.attributes, data = excluded.data,
         created_at = excluded.created_at, updated_at = excluded.updated_at, version = excluded.version"
    ))
    .bind(&r.id)
    .bind(&r.project_id)
    .bind(&r.name)
    .bind(&r.kind)
    .bind(&r.status)
    .bind(&r.attributes)
    .bind(&r.data)
    .bind(r.created_at)
    .bind(r.updated_at)
    .bind(r.version)
    .execute(&mut **tx)
    .await?;
    for (k, v) in &resource.content.attributes {
        sqlx::query("INSERT INTO resource_attributes (resource_id, project_id, key, value) VALUES ($1, $2, $3, $4)")
            .bind(&r.id)
            .bind(&r.project_id)
            .bind(k)
            .bind(v)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}
