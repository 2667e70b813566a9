//! Discovery: `GET /.well-known/oauth-authorization-server` (RFC 8414) and
//! `GET /.well-known/jwks.json` (the JWK Set, linked from the metadata as `jwks_uri`).

use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use tollgate_core::Scope;

use crate::error::ApiError;
use crate::state::AppState;

/// The authorization server's metadata.
pub async fn server_metadata(State(state): State<AppState>) -> Json<Value> {
    let issuer = &state.settings.oauth.issuer;
    let scopes: Vec<&str> = Scope::ALL.iter().map(|s| s.as_str()).collect();
    let methods = ["client_secret_basic", "client_secret_post"];
    Json(json!({
        "issuer": issuer,
        "token_endpoint": format!("{issuer}/oauth/token"),
        "jwks_uri": format!("{issuer}/.well-known/jwks.json"),
        "revocation_endpoint": format!("{issuer}/oauth/revoke"),
        "introspection_endpoint": format!("{issuer}/oauth/introspect"),
        "grant_types_supported": ["client_credentials"],
        "response_types_supported": [],
        "token_endpoint_auth_methods_supported": methods,
        "revocation_endpoint_auth_methods_supported": methods,
        "introspection_endpoint_auth_methods_supported": methods,
        "scopes_supported": scopes,
        "token_endpoint_auth_signing_alg_values_supported": [state.token_keys.algorithm().as_str()],
    }))
}

/// The public keys tokens are signed with, including ones kept until their tokens expire.
pub async fn jwks(State(state): State<AppState>) -> Result<Response, ApiError> {
    // The published keys as they are: this unauthenticated endpoint never makes one.
    let keys = state.token_keys.current().await?;
    let mut response = Json(keys.jwks().clone()).into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/jwk-set+json"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=60"));
    Ok(response)
}
