//! One mapping per row type, from the columns a statement selects to the domain type, shared by
//! both backends and by readers, export and import, so every path checks stored data the same
//! way. Each type's column list is a macro beside its mapping, so that statements select
//! exactly the columns, in the order, that the mapping reads.

use time::OffsetDateTime;
use tollgate_core::event_log::LoggedEvent;
use tollgate_core::time_fmt::from_unix_micros;
use tollgate_core::webhook::{Delivery, DeliveryJob, Event, WebhookEndpoint};
use tollgate_core::{Credential, CredentialId, CredentialLimits, Limit, Project, ProjectId, Resource, Scopes};

use crate::conn::{FromRow, Row};
use crate::export::{hex, ExportCredential, ExportProject, ExportSecret};
use crate::{CredentialMatch, IdempotencyRecord, StoreError, StoredSigningKey};

/// The columns of a resource, in [`RawResource`]'s order.
macro_rules! resource_columns {
    () => {
        "id, project_id, name, type, status, attributes, data, created_at, updated_at, version"
    };
}
/// The columns of a credential `c`, in [`RawCredential`]'s order.
macro_rules! credential_columns {
    () => {
        "c.id, c.project_id, c.name, c.scopes, c.hint, c.created_at, c.rotated_at, c.expires_at, c.last_used_at, \
         c.revoked_at, c.limit_read, c.limit_write"
    };
}
/// The columns of a webhook endpoint.
macro_rules! endpoint_columns {
    () => {
        "id, project_id, url, event_types, secret, created_at, disabled_at"
    };
}
/// The columns of a signing key.
macro_rules! signing_key_columns {
    () => {
        "kid, algorithm, private_der, public_jwk, created_at, retire_at"
    };
}
/// The columns of a logged event, in [`LoggedEvent`]'s order.
macro_rules! event_log_columns {
    () => {
        "seq, id, project_id, type, resource_id, resource_type, created_at, payload"
    };
}
pub(crate) use {credential_columns, endpoint_columns, event_log_columns, resource_columns, signing_key_columns};

pub use crate::raw_resource::{RawResource, ResourceFields, ResourceRecord};

impl FromRow for Resource {
    fn from_row(r: &impl Row) -> Result<Self, StoreError> {
        RawResource::from_row(r)?.into_resource()
    }
}

/// A credential row as stored (also part of the export format's credential record).
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

impl FromRow for RawCredential {
    fn from_row(r: &impl Row) -> Result<Self, StoreError> {
        Ok(Self {
            id: r.text(0)?,
            project_id: r.text(1)?,
            name: r.text(2)?,
            scopes: r.text(3)?,
            hint: r.text(4)?,
            created_at: r.int(5)?,
            rotated_at: r.int(6)?,
            expires_at: r.opt_int(7)?,
            last_used_at: r.opt_int(8)?,
            revoked_at: r.opt_int(9)?,
            limit_read: r.opt_text(10)?,
            limit_write: r.opt_text(11)?,
        })
    }
}

impl RawCredential {
    /// Checks the row back into a [`Credential`].
    pub fn into_credential(self) -> Result<Credential, StoreError> {
        let corrupt = |what: &str| StoreError::corrupt("credentials", &self.id, what);
        let time = |t: Option<i64>| t.map(from_unix_micros);
        // Parsed once per distinct text: this runs on every authenticated request.
        let limit =
            |l: Option<String>, what: &str| l.map(|l| Limit::parse_stored(&l)).transpose().map_err(|_| corrupt(what));
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

impl FromRow for Credential {
    fn from_row(r: &impl Row) -> Result<Self, StoreError> {
        RawCredential::from_row(r)?.into_credential()
    }
}

/// Credential columns followed by the matched secret's digest and end.
impl FromRow for CredentialMatch {
    fn from_row(r: &impl Row) -> Result<Self, StoreError> {
        let credential = Credential::from_row(r)?;
        let stored: [u8; 32] = r
            .blob(12)?
            .try_into()
            .map_err(|_| StoreError::corrupt("credential_secrets", &credential.id.to_string(), "digest"))?;
        Ok(CredentialMatch {
            credential,
            stored_digest: tollgate_auth::SecretDigest(stored),
            secret_expires_at: r.opt_int(13)?.map(from_unix_micros),
        })
    }
}

/// Credential columns followed by `c.kind`; the secrets are read separately.
impl FromRow for ExportCredential {
    fn from_row(r: &impl Row) -> Result<Self, StoreError> {
        Ok(ExportCredential { row: RawCredential::from_row(r)?, kind: r.text(12)?, secrets: Vec::new() })
    }
}

/// `digest, created_at, expires_at`.
impl FromRow for ExportSecret {
    fn from_row(r: &impl Row) -> Result<Self, StoreError> {
        Ok(ExportSecret { digest: hex(&r.blob(0)?), created_at: r.int(1)?, expires_at: r.opt_int(2)? })
    }
}

/// `id, name, created_at`.
impl FromRow for ExportProject {
    fn from_row(r: &impl Row) -> Result<Self, StoreError> {
        Ok(ExportProject { id: r.text(0)?, name: r.text(1)?, created_at: r.int(2)? })
    }
}

/// `id, name, created_at`.
impl FromRow for Project {
    fn from_row(r: &impl Row) -> Result<Self, StoreError> {
        let row = ExportProject::from_row(r)?;
        Ok(Project {
            id: ProjectId::parse(&row.id).ok_or_else(|| StoreError::corrupt("projects", &row.id, "id"))?,
            name: row.name,
            created_at: from_unix_micros(row.created_at),
        })
    }
}

/// [`endpoint_columns`].
impl FromRow for WebhookEndpoint {
    fn from_row(r: &impl Row) -> Result<Self, StoreError> {
        let id = r.text(0)?;
        Ok(WebhookEndpoint {
            project_id: project_of("webhook_endpoints", &id, r.text(1)?)?,
            url: r.text(2)?,
            event_types: r.text(3)?.split_whitespace().map(str::to_owned).collect(),
            secret: r.text(4)?,
            created_at: from_unix_micros(r.int(5)?),
            disabled_at: r.opt_int(6)?.map(from_unix_micros),
            id,
        })
    }
}

/// `id, project_id, type, payload`.
impl FromRow for Event {
    fn from_row(r: &impl Row) -> Result<Self, StoreError> {
        let id = r.text(0)?;
        Ok(Event {
            project_id: project_of("events", &id, r.text(1)?)?,
            kind: r.text(2)?,
            payload: r.text(3)?,
            id,
            resource: None,
        })
    }
}

/// [`event_log_columns`].
impl FromRow for LoggedEvent {
    fn from_row(r: &impl Row) -> Result<Self, StoreError> {
        let id = r.text(1)?;
        Ok(LoggedEvent {
            seq: r.int(0)?,
            project_id: project_of("events", &id, r.text(2)?)?,
            kind: r.text(3)?,
            resource_id: r.opt_text(4)?,
            resource_type: r.opt_text(5)?,
            created_at: from_unix_micros(r.int(6)?),
            payload: r.text(7)?,
            id,
        })
    }
}

/// A logged event and whether it is settled (a ninth column, 1 or 0).
pub(crate) struct Settling {
    pub event: LoggedEvent,
    pub settled: bool,
}

impl FromRow for Settling {
    fn from_row(r: &impl Row) -> Result<Self, StoreError> {
        Ok(Settling { event: LoggedEvent::from_row(r)?, settled: r.int(8)? == 1 })
    }
}

/// `d.id, d.endpoint_id, w.url, w.secret, d.attempts` followed by the event's four columns.
impl FromRow for DeliveryJob {
    fn from_row(r: &impl Row) -> Result<Self, StoreError> {
        let event_id = r.text(5)?;
        Ok(DeliveryJob {
            id: r.text(0)?,
            endpoint_id: r.text(1)?,
            url: r.text(2)?,
            secret: r.text(3)?,
            attempts: count(r.int(4)?),
            event: Event {
                project_id: project_of("events", &event_id, r.text(6)?)?,
                kind: r.text(7)?,
                payload: r.text(8)?,
                id: event_id,
                resource: None,
            },
        })
    }
}

/// `d.id, d.event_id, e.type, d.status, d.attempts, d.next_attempt_at, d.created_at`; the
/// attempts are read separately.
impl FromRow for Delivery {
    fn from_row(r: &impl Row) -> Result<Self, StoreError> {
        let status = r.text(3)?;
        Ok(Delivery {
            id: r.text(0)?,
            event_id: r.text(1)?,
            event_type: r.text(2)?,
            attempts: count(r.int(4)?),
            next_attempt_at: (status == "pending").then_some(from_unix_micros(r.int(5)?)),
            created_at: from_unix_micros(r.int(6)?),
            status,
            history: Vec::new(),
        })
    }
}

/// One attempt of a delivery: `at, status_code, error, duration_ms`.
pub(crate) struct AttemptRow(pub(crate) (OffsetDateTime, Option<u16>, Option<String>, u64));

impl FromRow for AttemptRow {
    fn from_row(r: &impl Row) -> Result<Self, StoreError> {
        let code = r.opt_int(1)?.map(|c| u16::try_from(c).unwrap_or(0));
        Ok(AttemptRow((from_unix_micros(r.int(0)?), code, r.opt_text(2)?, u64::try_from(r.int(3)?).unwrap_or(0))))
    }
}

/// [`signing_key_columns`].
impl FromRow for StoredSigningKey {
    fn from_row(r: &impl Row) -> Result<Self, StoreError> {
        let kid = r.text(0)?;
        Ok(StoredSigningKey {
            algorithm: r.text(1)?,
            private_der: r.blob(2)?,
            public_jwk: serde_json::from_str(&r.text(3)?)
                .map_err(|_| StoreError::corrupt("signing_keys", &kid, "public_jwk"))?,
            created_at: from_unix_micros(r.int(4)?),
            retire_at: r.opt_int(5)?.map(from_unix_micros),
            kid,
        })
    }
}

/// `fingerprint, response`.
impl FromRow for IdempotencyRecord {
    fn from_row(r: &impl Row) -> Result<Self, StoreError> {
        let corrupt = |what| StoreError::corrupt("idempotency_keys", "", what);
        Ok(IdempotencyRecord {
            fingerprint: r.blob(0)?.try_into().map_err(|_| corrupt("fingerprint"))?,
            response: serde_json::from_str(&r.text(1)?).map_err(|_| corrupt("response"))?,
        })
    }
}

fn project_of(table: &'static str, id: &str, project: String) -> Result<ProjectId, StoreError> {
    ProjectId::parse(&project).ok_or_else(|| StoreError::corrupt(table, id, "project_id"))
}

fn count(n: i64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Microseconds, or `None`.
pub fn micros(t: Option<OffsetDateTime>) -> Option<i64> {
    t.map(tollgate_core::time_fmt::to_unix_micros)
}
