//! Requests per credential and hour: the history behind the console's 7-day charts. A node
//! counts requests in memory and adds each batch here in one short write, so no request pays a
//! write; the upsert adds to what is stored, so several nodes sharing a database add up. Rows are
//! kept [`USAGE_RETENTION`] and pruned by the retention pass (`retention.rs`).

use async_trait::async_trait;
use time::{Duration, OffsetDateTime};
use tollgate_core::time_fmt::{from_unix_micros, to_unix_micros};
use tollgate_core::{CredentialId, ProjectId};

use crate::conn::{Arg, Conn, Sql};
use crate::db::{Backend, Db};
use crate::StoreError;

/// How long hourly counts are kept.
pub const USAGE_RETENTION: Duration = Duration::days(30);

/// Requests one credential made in one hour, as counted by one node since its last flush.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HourlyCount {
    /// The credential's project (the rows are read per project).
    pub project_id: ProjectId,
    /// The credential.
    pub credential: CredentialId,
    /// The start of the hour.
    pub hour: OffsetDateTime,
    /// Requests to add.
    pub requests: u64,
}

/// Per-credential hourly request counts.
#[async_trait]
pub trait UsageStore: Send + Sync {
    /// Adds each count to its (credential, hour) row, creating it if needed, in one transaction.
    async fn add_hourly_counts(&self, counts: Vec<HourlyCount>) -> Result<(), StoreError>;
    /// The hours since `since` in which `credential` of `project` made requests, oldest first:
    /// `(hour start, requests)`. Another project's credential has no rows, like a missing one.
    async fn hourly_counts(
        &self,
        project: ProjectId,
        credential: CredentialId,
        since: OffsetDateTime,
    ) -> Result<Vec<(OffsetDateTime, u64)>, StoreError>;
}

/// The start of the hour `at` falls in.
pub fn hour_of(at: OffsetDateTime) -> OffsetDateTime {
    at.replace_minute(0).and_then(|t| t.replace_second(0)).and_then(|t| t.replace_nanosecond(0)).unwrap_or(at)
}

const ADD: Sql = Sql::same(
    "INSERT INTO credential_usage_hours (credential_id, hour, project_id, requests) VALUES ($1, $2, $3, $4)
     ON CONFLICT (credential_id, hour) DO UPDATE SET requests = credential_usage_hours.requests + excluded.requests",
);
const LIST: Sql = Sql::same(
    "SELECT hour, requests FROM credential_usage_hours WHERE project_id = $1 AND credential_id = $2 AND hour >= $3
     ORDER BY hour",
);
/// Used by the retention pass: up to `$2` rows older than `$1`.
pub(crate) const DELETE_OLD: Sql = Sql::same(
    "DELETE FROM credential_usage_hours WHERE (credential_id, hour) IN
     (SELECT credential_id, hour FROM credential_usage_hours WHERE hour < $1 LIMIT $2)",
);
pub(crate) const COUNT_OLD: Sql = Sql::same("SELECT COUNT(*) FROM credential_usage_hours WHERE hour < $1");

#[async_trait]
impl<B: Backend> UsageStore for Db<B> {
    async fn add_hourly_counts(&self, counts: Vec<HourlyCount>) -> Result<(), StoreError> {
        if counts.is_empty() {
            return Ok(());
        }
        self.write("add_hourly_counts", move |tx| Box::pin(add_counts(tx, counts))).await
    }

    async fn hourly_counts(
        &self,
        project: ProjectId,
        credential: CredentialId,
        since: OffsetDateTime,
    ) -> Result<Vec<(OffsetDateTime, u64)>, StoreError> {
        self.read("hourly_counts", move |c| {
            Box::pin(async move {
                let (project, credential) = (project.to_string(), credential.to_string());
                let args = [Arg::Text(&project), Arg::Text(&credential), Arg::Int(to_unix_micros(since))];
                let rows: Vec<(i64, i64)> = c.fetch_all(&LIST, &args).await?;
                Ok(rows.into_iter().map(|(hour, n)| (from_unix_micros(hour), u64::try_from(n).unwrap_or(0))).collect())
            })
        })
        .await
    }
}

async fn add_counts(tx: &mut impl Conn, counts: Vec<HourlyCount>) -> Result<(), StoreError> {
    for c in &counts {
        let (credential, project) = (c.credential.to_string(), c.project_id.to_string());
        let requests = i64::try_from(c.requests).unwrap_or(i64::MAX);
        let args = [
            Arg::Text(&credential),
            Arg::Int(to_unix_micros(hour_of(c.hour))),
            Arg::Text(&project),
            Arg::Int(requests),
        ];
        tx.execute(&ADD, &args).await?;
    }
    Ok(())
}
