//! Rows as the backends read them (plain strings and integers), and their one conversion back
//! into domain types, shared by every backend so that both check stored data the same way.

use time::OffsetDateTime;
use tollgate_core::time_fmt::from_unix_micros;
use tollgate_core::{
    Attributes, Credential, CredentialId, CredentialLimits, Limit, NewResource, ProjectId, Resource, ResourceId,
    ResourceStatus, Scopes,
};

use crate::StoreError;

/// A resource row.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RawResource {
    /// `res_...`.
    pub id: String,
    /// `prj_...`.
    pub project_id: String,
    /// Name.
    pub name: String,
    /// Type.
    #[serde(rename = "resource_type")]
    pub kind: String,
    /// `active` or `archived`.
    pub status: String,
    /// JSON object text.
    pub attributes: String,
    /// JSON text.
    pub data: String,
    /// Microseconds since the epoch.
    pub created_at: i64,
    /// Microseconds since the epoch.
    pub updated_at: i64,
    /// Version.
    pub version: i64,
}

impl RawResource {
    /// Checks the row back into a [`Resource`].
    pub fn into_resource(self) -> Result<Resource, StoreError> {
        let corrupt = |what: &str| StoreError::Internal(format!("corrupt resource row {}: {what}", self.id));
        let attributes: Attributes = serde_json::from_str(&self.attributes).map_err(|_| corrupt("attributes"))?;
        Ok(Resource {
            id: ResourceId::parse(&self.id).ok_or_else(|| corrupt("id"))?,
            project_id: ProjectId::parse(&self.project_id).ok_or_else(|| corrupt("project"))?,
            content: NewResource {
                status: ResourceStatus::parse(&self.status).ok_or_else(|| corrupt("status"))?,
                attributes,
                data: serde_json::from_str(&self.data).map_err(|_| corrupt("data"))?,
                name: self.name,
                kind: self.kind,
            },
            created_at: from_unix_micros(self.created_at),
            updated_at: from_unix_micros(self.updated_at),
            version: self.version,
        })
    }
}

/// A credential row.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RawCredential {
    /// `key_...` or `tgc_...`.
    pub id: String,
    /// `prj_...`.
    pub project_id: String,
    /// Label.
    pub name: String,
    /// Space-separated scopes.
    pub scopes: String,
    /// Display hint.
    pub hint: String,
    /// Microseconds since the epoch.
    pub created_at: i64,
    /// Microseconds since the epoch.
    pub rotated_at: i64,
    /// Microseconds since the epoch.
    pub expires_at: Option<i64>,
    /// Microseconds since the epoch.
    pub last_used_at: Option<i64>,
    /// Microseconds since the epoch.
    pub revoked_at: Option<i64>,
    /// Own read limit, as written by `Limit`'s `Display`.
    pub limit_read: Option<String>,
    /// Own write limit.
    pub limit_write: Option<String>,
}

impl RawCredential {
    /// Checks the row back into a [`Credential`].
    pub fn into_credential(self) -> Result<Credential, StoreError> {
        let corrupt = |what: &str| StoreError::Internal(format!("corrupt credential row {}: {what}", self.id));
        let time = |t: Option<i64>| t.map(from_unix_micros);
        let limit = |l: Option<String>, what: &str| l.map(|l| Limit::parse(&l)).transpose().map_err(|_| corrupt(what));
        Ok(Credential {
            id: CredentialId::parse(&self.id).ok_or_else(|| corrupt("id"))?,
            project_id: ProjectId::parse(&self.project_id).ok_or_else(|| corrupt("project"))?,
            scopes: Scopes::parse(&self.scopes).map_err(|_| corrupt("scopes"))?,
            limits: CredentialLimits {
                read: limit(self.limit_read, "limit_read")?,
                write: limit(self.limit_write, "limit_write")?,
            },
            name: self.name,
            hint: self.hint,
            created_at: from_unix_micros(self.created_at),
            rotated_at: from_unix_micros(self.rotated_at),
            expires_at: time(self.expires_at),
            last_used_at: time(self.last_used_at),
            revoked_at: time(self.revoked_at),
        })
    }
}

/// Microseconds, or `None`.
pub fn micros(t: Option<OffsetDateTime>) -> Option<i64> {
    t.map(tollgate_core::time_fmt::to_unix_micros)
}
