//! Discovery: `GET /.well-known/oauth-authorization-server` (RFC 8414) and
//! `GET /.well-known/jwks.json` (the JWK Set, linked from the metadata as `jwks_uri`).

use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use tollgate_core::Scope;

use crate::error::ApiError;
use crate::state::AppState;

/// The client authentication methods every endpoint accepts.
const AUTH_METHODS: [&str; 2] = ["client_secret_basic", "client_secret_post"];

/// RFC 8414 authorization server metadata.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ServerMetadata {
    /// The `iss` of every token.
    pub issuer: String,
    /// `POST` the client credentials grant here.
    pub token_endpoint: String,
    /// The public keys.
    pub jwks_uri: String,
    /// RFC 7009 revocation.
    pub revocation_endpoint: String,
    /// RFC 7662 introspection.
    pub introspection_endpoint: String,
    /// `client_credentials`.
    #[schema(value_type = Vec<String>)]
    pub grant_types_supported: [&'static str; 1],
    /// Empty: no authorization endpoint.
    #[schema(value_type = Vec<String>)]
    pub response_types_supported: [&'static str; 0],
    /// `client_secret_basic`, `client_secret_post`.
    #[schema(value_type = Vec<String>)]
    pub token_endpoint_auth_methods_supported: [&'static str; 2],
    /// As for the token endpoint.
    #[schema(value_type = Vec<String>)]
    pub revocation_endpoint_auth_methods_supported: [&'static str; 2],
    /// As for the token endpoint.
    #[schema(value_type = Vec<String>)]
    pub introspection_endpoint_auth_methods_supported: [&'static str; 2],
    /// Every scope.
    pub scopes_supported: Vec<Scope>,
    /// The algorithm tokens are signed with.
    #[schema(value_type = Vec<String>)]
    pub token_endpoint_auth_signing_alg_values_supported: [&'static str; 1],
}

/// The authorization server's metadata.
#[utoipa::path(get, path = "/.well-known/oauth-authorization-server", tag = "oauth", security(),
    responses((status = 200, description = "RFC 8414 metadata", body = ServerMetadata)))]
pub async fn server_metadata(State(state): State<AppState>) -> Json<ServerMetadata> {
    let issuer = &state.settings.oauth.issuer;
    Json(ServerMetadata {
        issuer: issuer.clone(),
        token_endpoint: format!("{issuer}/oauth/token"),
        jwks_uri: format!("{issuer}/.well-known/jwks.json"),
        revocation_endpoint: format!("{issuer}/oauth/revoke"),
        introspection_endpoint: format!("{issuer}/oauth/introspect"),
        grant_types_supported: ["client_credentials"],
        response_types_supported: [],
        token_endpoint_auth_methods_supported: AUTH_METHODS,
        revocation_endpoint_auth_methods_supported: AUTH_METHODS,
        introspection_endpoint_auth_methods_supported: AUTH_METHODS,
        scopes_supported: Scope::ALL.to_vec(),
        token_endpoint_auth_signing_alg_values_supported: [state.token_keys.algorithm().as_str()],
    })
}

/// The public keys tokens are signed with, including ones kept until their tokens expire.
#[utoipa::path(get, path = "/.well-known/jwks.json", tag = "oauth", security(),
    responses((status = 200, description = "The JWK Set (RFC 7517)", body = Object, content_type = "application/jwk-set+json")))]
pub async fn jwks(State(state): State<AppState>) -> Result<Response, ApiError> {
    // The published keys as they are: this unauthenticated endpoint never makes one.
    let keys = state.token_keys.current().await?;
    let mut response = Json(keys.jwks().clone()).into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/jwk-set+json"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=60"));
    Ok(response)
}
