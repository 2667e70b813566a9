//! Export and import on SQLite.

use std::collections::HashMap;

use rusqlite::{params, Connection};

use crate::export::{hex, remap_projects, unhex, Counts, ExportCredential, ExportProject, ExportRecord, ExportSecret};
use crate::rows::RawResource;
use crate::StoreError;

const CRED_COLUMNS: &str = "id, project_id, name, scopes, hint, created_at, rotated_at, expires_at, last_used_at, \
     revoked_at, limit_read, limit_write, kind";

pub(super) fn export_meta(c: &Connection, project: Option<&str>) -> Result<Vec<ExportRecord>, StoreError> {
    let mut out = Vec::new();
    let mut stmt = c.prepare("SELECT id, name, created_at FROM projects WHERE ?1 IS NULL OR id = ?1 ORDER BY id")?;
    for p in
        stmt.query_map([project], |r| Ok(ExportProject { id: r.get(0)?, name: r.get(1)?, created_at: r.get(2)? }))?
    {
        out.push(ExportRecord::Project(p?));
    }
    let mut stmt = c.prepare("SELECT key, value FROM settings ORDER BY key")?;
    for s in stmt.query_map([], |r| Ok(ExportRecord::Setting { key: r.get(0)?, value: r.get(1)? }))? {
        out.push(s?);
    }
    let mut stmt =
        c.prepare(&format!("SELECT {CRED_COLUMNS} FROM credentials WHERE ?1 IS NULL OR project_id = ?1 ORDER BY id"))?;
    let mut secrets = c.prepare(
        "SELECT digest, created_at, expires_at FROM credential_secrets WHERE credential_id = ?1 ORDER BY created_at, digest",
    )?;
    let rows = stmt.query_map([project], |r| {
        Ok((
            crate::rows::RawCredential {
                id: r.get(0)?,
                project_id: r.get(1)?,
                name: r.get(2)?,
                scopes: r.get(3)?,
                hint: r.get(4)?,
                created_at: r.get(5)?,
                rotated_at: r.get(6)?,
                expires_at: r.get(7)?,
                last_used_at: r.get(8)?,
                revoked_at: r.get(9)?,
                limit_read: r.get(10)?,
                limit_write: r.get(11)?,
            },
            r.get::<_, String>(12)?,
        ))
    })?;
    for row in rows {
        let (row, kind) = row?;
        let list = secrets
            .query_map([&row.id], |r| {
                Ok(ExportSecret { digest: hex(&r.get::<_, Vec<u8>>(0)?), created_at: r.get(1)?, expires_at: r.get(2)? })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        out.push(ExportRecord::Credential(ExportCredential { row, kind, secrets: list }));
    }
    Ok(out)
}

pub(super) fn export_resources(
    c: &Connection,
    project: Option<&str>,
    after: Option<&str>,
    limit: u32,
) -> Result<Vec<RawResource>, StoreError> {
    let mut stmt = c.prepare_cached(
        "SELECT id, project_id, name, type, status, attributes, data, created_at, updated_at, version FROM resources
         WHERE (?1 IS NULL OR project_id = ?1) AND (?2 IS NULL OR id > ?2) ORDER BY id LIMIT ?3",
    )?;
    let rows = stmt.query_map(params![project, after, limit], |r| {
        Ok(RawResource {
            id: r.get(0)?,
            project_id: r.get(1)?,
            name: r.get(2)?,
            kind: r.get(3)?,
            status: r.get(4)?,
            attributes: r.get(5)?,
            data: r.get(6)?,
            created_at: r.get(7)?,
            updated_at: r.get(8)?,
            version: r.get(9)?,
        })
    })?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

pub(super) fn import(c: &Connection, records: Vec<ExportRecord>) -> Result<Counts, StoreError> {
    let mut stmt = c.prepare("SELECT name, id FROM projects")?;
    let existing: HashMap<String, String> =
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<Result<_, _>>()?;
    let mut counts = Counts::default();
    for r in remap_projects(records, &existing) {
        counts.add(&r);
        match r {
            ExportRecord::Project(p) => {
                c.execute(
                    "INSERT INTO projects (id, name, created_at) VALUES (?1, ?2, ?3)
                     ON CONFLICT (id) DO UPDATE SET name = excluded.name, created_at = excluded.created_at",
                    params![p.id, p.name, p.created_at],
                )?;
            }
            ExportRecord::Setting { key, value } => {
                c.execute("INSERT OR REPLACE INTO settings (key, value) VALUES (?1, ?2)", params![key, value])?;
            }
            ExportRecord::Credential(cred) => import_credential(c, &cred)?,
            ExportRecord::Resource(res) => import_resource(c, &res)?,
            ExportRecord::Header { .. } | ExportRecord::Footer { .. } => {}
        }
    }
    Ok(counts)
}

fn import_credential(c: &Connection, cred: &ExportCredential) -> Result<(), StoreError> {
    let r = &cred.row;
    c.execute(
        &format!("INSERT OR REPLACE INTO credentials ({CRED_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"),
        params![
            r.id, r.project_id, r.name, r.scopes, r.hint, r.created_at, r.rotated_at, r.expires_at, r.last_used_at,
            r.revoked_at, r.limit_read, r.limit_write, cred.kind
        ],
    )?;
    for s in &cred.secrets {
        let digest = unhex(&s.digest).filter(|d| d.len() == 32).ok_or_else(|| {
            StoreError::Validation(tollgate_core::ValidationErrors::single("digest", "must be 64 hex characters"))
        })?;
        c.execute(
            "INSERT OR REPLACE INTO credential_secrets (digest, credential_id, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
            params![digest, r.id, s.created_at, s.expires_at],
        )?;
    }
    Ok(())
}

fn import_resource(c: &Connection, r: &RawResource) -> Result<(), StoreError> {
    // Checks the row the same way reads do, so an import never stores what the API could not.
    let resource = r.clone().into_resource()?;
    c.execute("DELETE FROM resource_attributes WHERE resource_id = ?1", [&r.id])?;
    c.execute(
        "INSERT OR REPLACE INTO resources (id, project_id, name, type, status, attributes, data, created_at, updated_at, version)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![r.id, r.project_id, r.name, r.kind, r.status, r.attributes, r.data, r.created_at, r.updated_at, r.version],
    )?;
    for (k, v) in &resource.content.attributes {
        c.execute(
            "INSERT INTO resource_attributes (resource_id, project_id, key, value) VALUES (?1, ?2, ?3, ?4)",
            params![r.id, r.project_id, k, v],
        )?;
    }
    Ok(())
}
