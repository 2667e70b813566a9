//! The export format: JSON Lines, one record per line, opened by a header and closed by a
//! footer that counts what came before (so a truncated file is recognised). Credentials carry
//! only their secrets' SHA-256 digests; signing keys are never exported (a new installation
//! mints its own, and tokens issued before the move must be fetched again).

use serde::{Deserialize, Serialize};

use crate::rows::{RawCredential, RawResource};

/// The format's name in the header.
pub const FORMAT: &str = "tollgate-export";
/// The format's version.
pub const VERSION: u32 = 1;

/// One stored secret digest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportSecret {
    /// SHA-256 of the secret, hex.
    pub digest: String,
    /// Microseconds since the epoch.
    pub created_at: i64,
    /// End of a rotation's grace period, if any.
    pub expires_at: Option<i64>,
}

/// A project.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportProject {
    /// `prj_...`.
    pub id: String,
    /// Name.
    pub name: String,
    /// Microseconds since the epoch.
    pub created_at: i64,
}

/// A credential with its digests.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportCredential {
    /// The row.
    #[serde(flatten)]
    pub row: RawCredential,
    /// `api_key` or `oauth_client`.
    pub kind: String,
    /// Its secrets' digests.
    pub secrets: Vec<ExportSecret>,
}

/// What a file (or an import) holds, by record type.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Projects.
    pub projects: u64,
    /// Settings.
    pub settings: u64,
    /// API keys and OAuth clients.
    pub credentials: u64,
    /// Resources.
    pub resources: u64,
}

/// One line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ExportRecord {
    /// First line.
    Header {
        /// Always [`FORMAT`].
        format: String,
        /// [`VERSION`].
        version: u32,
        /// RFC 3339.
        exported_at: String,
        /// The project exported, or `null` for all.
        project: Option<String>,
    },
    /// A project.
    Project(ExportProject),
    /// A setting.
    Setting {
        /// Key.
        key: String,
        /// Value.
        value: String,
    },
    /// A credential.
    Credential(Box<ExportCredential>),
    /// A resource.
    Resource(RawResource),
    /// Last line.
    Footer {
        /// How many records of each type came before.
        counts: Counts,
    },
}

impl Counts {
    /// Counts one record.
    pub fn add(&mut self, r: &ExportRecord) {
        match r {
            ExportRecord::Project(_) => self.projects += 1,
            ExportRecord::Setting { .. } => self.settings += 1,
            ExportRecord::Credential(_) => self.credentials += 1,
            ExportRecord::Resource(_) => self.resources += 1,
            ExportRecord::Header { .. } | ExportRecord::Footer { .. } => {}
        }
    }
}

/// Hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Bytes of hex.
pub fn unhex(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok()).collect()
}

/// Rewrites project ids so that a project whose name already exists (under another id) in the
/// target is merged into it. `existing` maps names to the target's ids.
pub fn remap_projects(
    records: Vec<ExportRecord>,
    existing: &std::collections::HashMap<String, String>,
) -> Vec<ExportRecord> {
    let mut map = std::collections::HashMap::new();
    for r in &records {
        if let ExportRecord::Project(p) = r {
            if let Some(id) = existing.get(&p.name).filter(|id| **id != p.id) {
                map.insert(p.id.clone(), id.clone());
            }
        }
    }
    let fix = |id: &mut String| {
        if let Some(new) = map.get(id) {
            *id = new.clone();
        }
    };
    records
        .into_iter()
        .map(|mut r| {
            match &mut r {
                ExportRecord::Project(p) => fix(&mut p.id),
                ExportRecord::Credential(c) => fix(&mut c.row.project_id),
                ExportRecord::Resource(res) => *res = res.with(|f| fix(&mut f.project_id)),
                _ => {}
            }
            r
        })
        .collect()
}
