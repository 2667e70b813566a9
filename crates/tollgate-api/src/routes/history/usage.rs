//! `GET /v1/usage/credentials/{id}/hourly`: one credential's requests per hour over the last
//! days (7 by default, at most the 30 kept), every hour present (zeros included), oldest
//! first. The stored counts of every node plus this node's counts not yet flushed.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::Json;
use serde::Serialize;
use time::{Duration, OffsetDateTime};
use tollgate_core::time_fmt::{now, rfc3339};
use tollgate_store::usage::hour_of;

use crate::error::{ApiError, ErrorEnvelope};
use crate::extract::{Admin, Auth, CredentialPath, QueryPairs};
use crate::state::AppState;

/// Requests in one hour.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct HourCount {
    /// The hour's start (RFC 3339).
    pub start: String,
    /// Requests the credential made (authenticated) in that hour, on every node.
    pub requests: u64,
}

/// `GET /v1/usage/credentials/{id}/hourly`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CredentialHourlyUsage {
    /// The credential's id.
    pub credential: String,
    /// Every hour of the period, oldest first; the last one is the current hour.
    pub hours: Vec<HourCount>,
}

/// Reads a credential's requests per hour.
#[utoipa::path(get, path = "/v1/usage/credentials/{id}/hourly", tag = "usage",
    params(("id" = String, Path, description = "An API key (`key_...`) or OAuth client (`tgc_...`) of the project"),
           ("days" = Option<u32>, Query, minimum = 1, maximum = 30, description = "How many days back (default 7)")),
    responses((status = 200, body = CredentialHourlyUsage), (status = 400, body = ErrorEnvelope), (status = 401, body = ErrorEnvelope),
              (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope), (status = 429, body = ErrorEnvelope)))]
pub async fn get_credential_hourly_usage(
    auth: Auth<Admin>,
    State(state): State<AppState>,
    CredentialPath(id): CredentialPath,
    query: QueryPairs,
) -> Result<Json<CredentialHourlyUsage>, ApiError> {
    let [days] = query.ints([("days", 7, 1, 30)])?;
    let project = auth.principal.project_id;
    // Another project's credential is not found, like a missing one.
    state.store.get_credential(project, id.clone()).await?;
    let last = hour_of(now());
    let first = last - Duration::hours(i64::from(days) * 24 - 1);
    let mut hours: BTreeMap<OffsetDateTime, u64> =
        (0..i64::from(days) * 24).map(|i| (first + Duration::hours(i), 0)).collect();
    let stored = state.store.hourly_counts(project, id.clone(), first).await?;
    for (hour, n) in stored.into_iter().chain(state.hourly.unflushed(&id)) {
        if let Some(total) = hours.get_mut(&hour) {
            *total += n;
        }
    }
    let hours = hours.into_iter().map(|(h, requests)| HourCount { start: rfc3339(h), requests }).collect();
    Ok(Json(CredentialHourlyUsage { credential: id.to_string(), hours }))
}
