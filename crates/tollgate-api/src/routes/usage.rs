//! `GET /v1/usage` (the caller's own quota per route class) and `GET /v1/usage/credentials`
//! (admin: every credential of the project, most used first, flagged at the integration
//! guide's 80% warning and 90% alert thresholds).

use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};
use tollgate_core::time_fmt::{now, rfc3339};
use tollgate_core::{CredentialKind, CredentialLimits, CredentialState, Limit, RouteClass};

use crate::error::ApiError;
use crate::extract::rate_limit::effective_limit;
use crate::extract::{Admin, Any, Auth};
use crate::state::AppState;

/// One class's usage as JSON, and the fraction used (0 when unlimited).
async fn class_usage(
    state: &AppState,
    id: &str,
    limits: CredentialLimits,
    class: RouteClass,
) -> Result<(Value, f64), ApiError> {
    let Limit::Quota(quota) = effective_limit(state, limits, class) else {
        return Ok((json!({"limit": null, "unlimited": true, "used": null, "remaining": null, "reset": null}), 0.0));
    };
    let d =
        state.limiter.peek(&crate::extract::rate_limit::limiter_key(id, class), quota).await.map_err(|e| {
            ApiError::new(tollgate_core::ErrorCode::ServiceUnavailable).detail("limiter", e.to_string())
        })?;
    let reset = rfc3339(now() + time::Duration::try_from(d.reset_after).unwrap_or_default());
    let ratio = f64::from(d.used) / f64::from(quota.limit);
    Ok((
        json!({"limit": quota.limit, "window_seconds": quota.window.as_secs(), "used": d.used,
               "remaining": d.remaining(), "reset": reset, "ratio": (ratio * 1000.0).round() / 1000.0}),
        ratio,
    ))
}

/// The caller's own usage.
pub async fn get_usage(auth: Auth<Any>, State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let p = &auth.principal;
    let id = p.credential.to_string();
    let (read, _) = class_usage(&state, &id, p.limits, RouteClass::Read).await?;
    let (write, _) = class_usage(&state, &id, p.limits, RouteClass::Write).await?;
    Ok(Json(json!({"credential": id, "read": read, "write": write})))
}

/// Every active credential of the project, sorted by the larger of its two ratios.
pub async fn list_credential_usage(auth: Auth<Admin>, State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
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
            rows.push((
                ratio,
                json!({"credential": id, "kind": kind.as_str(), "name": cred.name,
                                     "read": read, "write": write, "level": level}),
            ));
        }
    }
    rows.sort_by(|a, b| b.0.total_cmp(&a.0));
    Ok(Json(json!({"items": rows.into_iter().map(|(_, v)| v).collect::<Vec<_>>()})))
}
