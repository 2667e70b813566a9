//! `GET /v1/usage` (the caller's own quota per route class) and `GET /v1/usage/credentials`
//! (admin: every credential of the project, most used first, flagged at the integration
//! guide's 80% warning and 90% alert thresholds).

use axum::extract::State;
use axum::Json;
use serde::Serialize;
use tollgate_core::time_fmt::{now, rfc3339};
use tollgate_core::{CredentialKind, CredentialLimits, CredentialState, Limit, RouteClass};

use crate::error::{ApiError, ErrorEnvelope};
use crate::extract::rate_limit::{effective_limit, limiter_key, KEY_BUF};
use crate::extract::{Admin, Any, Auth, NoQuery};
use crate::state::AppState;

/// One route class's quota and its use. An unlimited class has `unlimited: true` and `null`
/// counts; a limited one has `window_seconds` and `ratio` instead of `unlimited`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ClassUsage {
    /// Requests admitted per window (`null`: unlimited).
    pub limit: Option<u32>,
    /// Present (and true) only when the class is unlimited.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unlimited: Option<bool>,
    /// The window's length.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window_seconds: Option<u64>,
    /// Requests counted in the current window.
    pub used: Option<u32>,
    /// Requests left in the window.
    pub remaining: Option<u32>,
    /// When a slot frees up (RFC 3339).
    pub reset: Option<String>,
    /// `used / limit`, to three decimals.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ratio: Option<f64>,
}

/// `GET /v1/usage`: the caller's own usage.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Usage {
    /// The calling credential's id.
    pub credential: String,
    /// Reads (GET).
    pub read: ClassUsage,
    /// Writes (POST, PATCH, DELETE).
    pub write: ClassUsage,
}

/// One credential's usage, for `GET /v1/usage/credentials`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CredentialUsage {
    /// Its id.
    pub credential: String,
    /// `api_key` or `oauth_client`.
    #[schema(value_type = String)]
    pub kind: &'static str,
    /// Its label.
    pub name: String,
    /// Reads (GET).
    pub read: ClassUsage,
    /// Writes (POST, PATCH, DELETE).
    pub write: ClassUsage,
    /// `ok`, `warning` (over 80% of a quota) or `alert` (over 90%).
    #[schema(value_type = String)]
    pub level: &'static str,
}

/// `GET /v1/usage/credentials`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CredentialUsageList {
    /// Active credentials, most used first.
    pub items: Vec<CredentialUsage>,
}

/// One class's usage, and the fraction used (0 when unlimited).
async fn class_usage(
    state: &AppState,
    id: &str,
    limits: CredentialLimits,
    class: RouteClass,
) -> Result<(ClassUsage, f64), ApiError> {
    let Limit::Quota(quota) = effective_limit(state, limits, class) else {
        let unlimited = ClassUsage {
            limit: None,
            unlimited: Some(true),
            window_seconds: None,
            used: None,
            remaining: None,
            reset: None,
            ratio: None,
        };
        return Ok((unlimited, 0.0));
    };
    let d =
        state.limiter.peek(&limiter_key(id, class, &mut [0; KEY_BUF]), quota).await.map_err(|e| {
            ApiError::new(tollgate_core::ErrorCode::ServiceUnavailable).detail("limiter", e.to_string())
        })?;
    let reset = rfc3339(now() + time::Duration::try_from(d.reset_after).unwrap_or_default());
    let ratio = f64::from(d.used) / f64::from(quota.limit);
    let usage = ClassUsage {
        limit: Some(quota.limit),
        unlimited: None,
        window_seconds: Some(quota.window.as_secs()),
        used: Some(d.used),
        remaining: Some(d.remaining()),
        reset: Some(reset),
        ratio: Some((ratio * 1000.0).round() / 1000.0),
    };
    Ok((usage, ratio))
}

/// The caller's own usage.
#[utoipa::path(get, path = "/v1/usage", tag = "usage",
    responses((status = 200, description = "Limit, used, remaining and reset per route class", body = Usage),
              (status = 400, body = ErrorEnvelope), (status = 401, body = ErrorEnvelope), (status = 429, body = ErrorEnvelope), (status = 503, body = ErrorEnvelope)))]
pub async fn get_usage(
    auth: Auth<Any>,
    State(state): State<AppState>,
    _query: NoQuery,
) -> Result<Json<Usage>, ApiError> {
    let p = &auth.principal;
    let id = p.credential.to_string();
    let (read, _) = class_usage(&state, &id, p.limits, RouteClass::Read).await?;
    let (write, _) = class_usage(&state, &id, p.limits, RouteClass::Write).await?;
    Ok(Json(Usage { credential: id, read, write }))
}

/// Every active credential of the project, sorted by the larger of its two ratios.
#[utoipa::path(get, path = "/v1/usage/credentials", tag = "usage",
    responses((status = 200, body = CredentialUsageList), (status = 400, body = ErrorEnvelope), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
              (status = 429, body = ErrorEnvelope), (status = 503, body = ErrorEnvelope)))]
pub async fn list_credential_usage(
    auth: Auth<Admin>,
    State(state): State<AppState>,
    _query: NoQuery,
) -> Result<Json<CredentialUsageList>, ApiError> {
    let project = auth.principal.project_id;
    let mut rows = Vec::new();
    for kind in [CredentialKind::ApiKey, CredentialKind::OAuthClient] {
        for cred in state.store.list_credentials(kind, project).await? {
            if cred.state(now()) != CredentialState::Active {
                continue;
            }
            let id = cred.id.to_string();
            let (read, r) = class_usage(&state, &id, cred.limits, RouteClass::Read).await?;
            let (write, w) = class_usage(&state, &id, cred.limits, RouteClass::Write).await?;
            let ratio = r.max(w);
            let level = if ratio > 0.9 {
                "alert"
            } else if ratio > 0.8 {
                "warning"
            } else {
                "ok"
            };
            let row = CredentialUsage { credential: id, kind: kind.as_str(), name: cred.name, read, write, level };
            rows.push((ratio, row));
        }
    }
    rows.sort_by(|a, b| b.0.total_cmp(&a.0));
    Ok(Json(CredentialUsageList { items: rows.into_iter().map(|(_, v)| v).collect() }))
}
