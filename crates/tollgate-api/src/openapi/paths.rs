//! The operations of the OpenAPI document, one function per operation named like the handler
//! it documents (`operationId`). The bodies are empty: handlers live in `routes/`, and
//! `openapi_routes_exist` checks that every operation here is served by the router.

#![allow(dead_code)]

use tollgate_core::view::ResourceView;

use super::schemas::*;

#[utoipa::path(get, path = "/health", tag = "operations", security(),
    responses((status = 200, description = "The process answers", body = Object, example = json!({"status": "ok", "version": "0.1.0"}))))]
fn health() {}

#[utoipa::path(get, path = "/ready", tag = "operations", security(),
    responses((status = 200, description = "The database answers", body = Object),
              (status = 503, description = "The database does not answer", body = ErrorEnvelope)))]
fn ready() {}

#[utoipa::path(post, path = "/v1/resource", tag = "resources", request_body = CreateResourceRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "1-255 of [A-Za-z0-9_-]; a retry with the same key and body replays the first answer")),
    responses((status = 201, description = "Created; `Location` and `ETag` headers", body = ResourceView),
              (status = 400, body = ErrorEnvelope), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
              (status = 409, body = ErrorEnvelope), (status = 413, body = ErrorEnvelope), (status = 415, body = ErrorEnvelope),
              (status = 422, body = ErrorEnvelope), (status = 429, body = ErrorEnvelope)))]
fn create_resource() {}

#[utoipa::path(get, path = "/v1/resource", tag = "resources",
    params(("page" = Option<u32>, Query, minimum = 1, maximum = 1000000), ("per_page" = Option<u32>, Query, minimum = 1, maximum = 100),
           ("cursor" = Option<String>, Query, description = "Empty for the first page, then `next_cursor`"),
           ("type" = Option<String>, Query), ("status" = Option<String>, Query)),
    responses((status = 200, body = ResourcePageDoc), (status = 400, body = ErrorEnvelope), (status = 401, body = ErrorEnvelope),
              (status = 403, body = ErrorEnvelope), (status = 429, body = ErrorEnvelope)))]
fn list_resources() {}

#[utoipa::path(get, path = "/v1/resource/{id}", tag = "resources", params(("id" = String, Path, description = "res_ + ULID")),
    responses((status = 200, description = "With `ETag`", body = ResourceView), (status = 304, description = "Matches If-None-Match"),
              (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
              (status = 429, body = ErrorEnvelope)))]
fn get_resource() {}

#[utoipa::path(patch, path = "/v1/resource/{id}", tag = "resources", request_body(content = PatchResourceRequest, content_type = "application/merge-patch+json"),
    params(("id" = String, Path), ("If-Match" = Option<String>, Header), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 200, body = ResourceView), (status = 400, body = ErrorEnvelope), (status = 401, body = ErrorEnvelope),
              (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope),
              (status = 412, body = ErrorEnvelope), (status = 413, body = ErrorEnvelope), (status = 415, body = ErrorEnvelope),
              (status = 422, body = ErrorEnvelope), (status = 429, body = ErrorEnvelope)))]
fn update_resource() {}

#[utoipa::path(delete, path = "/v1/resource/{id}", tag = "resources", params(("id" = String, Path), ("If-Match" = Option<String>, Header)),
    responses((status = 204, description = "Deleted"), (status = 400, body = ErrorEnvelope), (status = 401, body = ErrorEnvelope),
              (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope), (status = 412, body = ErrorEnvelope),
              (status = 429, body = ErrorEnvelope)))]
fn delete_resource() {}

macro_rules! credential_paths {
    ($base:literal, $tag:literal, $create:ident, $list:ident, $get:ident, $update:ident, $revoke:ident, $rotate:ident) => {
        #[utoipa::path(post, path = $base, tag = $tag, request_body = CreateCredentialRequest,
            responses((status = 201, description = "The secret is in this answer only", body = CredentialWithSecret),
                      (status = 400, body = ErrorEnvelope), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
                      (status = 413, body = ErrorEnvelope), (status = 415, body = ErrorEnvelope), (status = 429, body = ErrorEnvelope)))]
        fn $create() {}

        #[utoipa::path(get, path = $base, tag = $tag,
            responses((status = 200, body = Object), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
                      (status = 429, body = ErrorEnvelope)))]
        fn $list() {}

        #[utoipa::path(get, path = concat!($base, "/{id}"), tag = $tag, params(("id" = String, Path)),
            responses((status = 200, body = Object), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
                      (status = 404, body = ErrorEnvelope), (status = 429, body = ErrorEnvelope)))]
        fn $get() {}

        #[utoipa::path(patch, path = concat!($base, "/{id}"), tag = $tag, params(("id" = String, Path)), request_body = UpdateCredentialRequest,
            responses((status = 200, body = Object), (status = 400, body = ErrorEnvelope), (status = 401, body = ErrorEnvelope),
                      (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope), (status = 413, body = ErrorEnvelope),
                      (status = 415, body = ErrorEnvelope), (status = 429, body = ErrorEnvelope)))]
        fn $update() {}

        #[utoipa::path(delete, path = concat!($base, "/{id}"), tag = $tag, params(("id" = String, Path)),
            responses((status = 200, description = "Revoked", body = Object), (status = 401, body = ErrorEnvelope),
                      (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope), (status = 429, body = ErrorEnvelope)))]
        fn $revoke() {}

        #[utoipa::path(post, path = concat!($base, "/{id}/rotate"), tag = $tag, params(("id" = String, Path)), request_body = Option<RotateRequest>,
            responses((status = 200, body = CredentialWithSecret), (status = 400, body = ErrorEnvelope), (status = 401, body = ErrorEnvelope),
                      (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope), (status = 413, body = ErrorEnvelope),
                      (status = 415, body = ErrorEnvelope), (status = 429, body = ErrorEnvelope)))]
        fn $rotate() {}
    };
}

credential_paths!(
    "/v1/keys",
    "keys",
    create_api_key,
    list_api_keys,
    get_api_key,
    update_api_key,
    revoke_api_key,
    rotate_api_key
);
credential_paths!(
    "/v1/clients",
    "clients",
    create_client,
    list_clients,
    get_client,
    update_client,
    revoke_client,
    rotate_client
);

#[utoipa::path(get, path = "/v1/usage", tag = "usage",
    responses((status = 200, description = "Limit, used, remaining and reset per route class", body = Object),
              (status = 401, body = ErrorEnvelope), (status = 429, body = ErrorEnvelope), (status = 503, body = ErrorEnvelope)))]
fn get_usage() {}

#[utoipa::path(get, path = "/v1/usage/credentials", tag = "usage",
    responses((status = 200, body = Object), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
              (status = 429, body = ErrorEnvelope), (status = 503, body = ErrorEnvelope)))]
fn list_credential_usage() {}

#[utoipa::path(post, path = "/v1/webhooks", tag = "webhooks", request_body = CreateWebhookRequest,
    responses((status = 201, description = "The signing secret is in this answer only", body = Object),
              (status = 400, body = ErrorEnvelope), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
              (status = 413, body = ErrorEnvelope), (status = 415, body = ErrorEnvelope), (status = 429, body = ErrorEnvelope)))]
fn create_webhook() {}

#[utoipa::path(get, path = "/v1/webhooks", tag = "webhooks",
    responses((status = 200, body = Object), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope), (status = 429, body = ErrorEnvelope)))]
fn list_webhooks() {}

#[utoipa::path(get, path = "/v1/webhooks/{id}", tag = "webhooks", params(("id" = String, Path)),
    responses((status = 200, body = Object), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
              (status = 404, body = ErrorEnvelope), (status = 429, body = ErrorEnvelope)))]
fn get_webhook() {}

#[utoipa::path(delete, path = "/v1/webhooks/{id}", tag = "webhooks", params(("id" = String, Path)),
    responses((status = 204, description = "Removed"), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
              (status = 404, body = ErrorEnvelope), (status = 429, body = ErrorEnvelope)))]
fn delete_webhook() {}

#[utoipa::path(post, path = "/v1/webhooks/{id}/test", tag = "webhooks", params(("id" = String, Path)),
    responses((status = 202, body = Object), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
              (status = 404, body = ErrorEnvelope), (status = 429, body = ErrorEnvelope)))]
fn test_webhook() {}

#[utoipa::path(get, path = "/v1/webhooks/{id}/deliveries", tag = "webhooks", params(("id" = String, Path)),
    responses((status = 200, body = Object), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
              (status = 404, body = ErrorEnvelope), (status = 429, body = ErrorEnvelope)))]
fn list_deliveries() {}

#[utoipa::path(post, path = "/v1/webhooks/{id}/deliveries/{delivery}/replay", tag = "webhooks",
    params(("id" = String, Path), ("delivery" = String, Path)),
    responses((status = 202, body = Object), (status = 400, body = ErrorEnvelope), (status = 401, body = ErrorEnvelope),
              (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope), (status = 429, body = ErrorEnvelope)))]
fn replay_delivery() {}

#[utoipa::path(post, path = "/oauth/token", tag = "oauth", security(),
    request_body(content = TokenRequest, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, body = TokenResponse), (status = 400, body = OAuthErrorBody), (status = 401, body = OAuthErrorBody)))]
fn issue_token() {}

#[utoipa::path(post, path = "/oauth/revoke", tag = "oauth", security(),
    request_body(content = TokenParam, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, description = "Revoked (or nothing to revoke)"), (status = 400, body = OAuthErrorBody), (status = 401, body = OAuthErrorBody)))]
fn revoke_token() {}

#[utoipa::path(post, path = "/oauth/introspect", tag = "oauth", security(),
    request_body(content = TokenParam, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, body = Object), (status = 400, body = OAuthErrorBody), (status = 401, body = OAuthErrorBody)))]
fn introspect_token() {}

#[utoipa::path(get, path = "/.well-known/oauth-authorization-server", tag = "oauth", security(),
    responses((status = 200, description = "RFC 8414 metadata", body = Object)))]
fn server_metadata() {}

#[utoipa::path(get, path = "/.well-known/jwks.json", tag = "oauth", security(),
    responses((status = 200, description = "The JWK Set", body = Object, content_type = "application/jwk-set+json")))]
fn jwks() {}
