//! Schemas of bodies the handlers parse by hand (to name every bad field at once) and of the
//! error bodies, for the OpenAPI document. The handlers' parsers are the truth; these describe
//! them, and Schemathesis checks the description against the live server.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

/// `POST /v1/resource`.
#[derive(Serialize, ToSchema)]
pub struct CreateResourceRequest {
    /// 1-200 characters.
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    /// A lower-case identifier: `[a-z][a-z0-9_]*`, at most 64 characters.
    #[serde(rename = "type")]
    #[schema(pattern = "^[a-z][a-z0-9_]{0,63}$")]
    pub kind: String,
    /// `active` (default) or `archived`.
    #[schema(pattern = "^(active|archived)$")]
    pub status: Option<String>,
    /// At most 50 string pairs; keys 1-40 of `[A-Za-z0-9_.-]`, values at most 500 characters.
    pub attributes: Option<BTreeMap<String, String>>,
    /// Any JSON, at most 256 KiB.
    pub data: Option<Value>,
}

/// `PATCH /v1/resource/{id}`: a JSON Merge Patch (RFC 7396) of the writable fields; `null`
/// removes an attribute (or empties `data`).
#[derive(Serialize, ToSchema)]
pub struct PatchResourceRequest {
    /// New name.
    pub name: Option<String>,
    /// New type.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// New status.
    pub status: Option<String>,
    /// Attributes to set (string) or remove (`null`).
    pub attributes: Option<BTreeMap<String, Option<String>>>,
    /// New data.
    pub data: Option<Value>,
}

/// A page of resources.
#[derive(Serialize, ToSchema)]
pub struct ResourcePageDoc {
    /// The resources, oldest first.
    pub items: Vec<tollgate_core::view::ResourceView>,
    /// The page number, or `null` when paging by cursor.
    pub page: Option<u32>,
    /// Items per page.
    pub per_page: u32,
    /// Whether another page follows.
    pub has_next: bool,
    /// Pass as `cursor` for the next page.
    pub next_cursor: Option<String>,
}

/// The error envelope every non-2xx answer outside `/oauth` uses.
#[derive(Serialize, ToSchema)]
pub struct ErrorEnvelope {
    /// The error.
    pub error: ErrorBody,
}

/// The error itself.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    /// Machine-readable code, e.g. `VALIDATION_FAILED`.
    pub code: String,
    /// For people.
    pub message: String,
    /// Field -> reason for validation errors; other facts otherwise.
    pub details: BTreeMap<String, Value>,
    /// Also in `X-Request-Id`.
    pub request_id: String,
}

/// RFC 6749 section 5.2 error, answered by `/oauth/*`.
#[derive(Serialize, ToSchema)]
pub struct OAuthErrorBody {
    /// `invalid_request`, `invalid_client`, `invalid_scope`, `unsupported_grant_type`.
    pub error: String,
    /// For people.
    pub error_description: Option<String>,
}

/// `POST /oauth/token` form (or JSON) parameters.
#[derive(Serialize, ToSchema)]
pub struct TokenRequest {
    /// `client_credentials`.
    pub grant_type: String,
    /// Space-separated subset of the client's scopes.
    pub scope: Option<String>,
    /// With client_secret, instead of HTTP Basic.
    pub client_id: Option<String>,
    /// With client_id, instead of HTTP Basic.
    pub client_secret: Option<String>,
}

/// A token.
#[derive(Serialize, ToSchema)]
pub struct TokenResponse {
    /// The RFC 9068 JWT.
    pub access_token: String,
    /// `Bearer`.
    pub token_type: String,
    /// Seconds.
    pub expires_in: i64,
    /// Granted scopes.
    pub scope: String,
}

/// `POST /oauth/revoke` and `/oauth/introspect` parameters.
#[derive(Serialize, ToSchema)]
pub struct TokenParam {
    /// The access token.
    pub token: String,
    /// Optional hint.
    pub token_type_hint: Option<String>,
}

/// `POST /v1/keys`, `POST /v1/clients`.
#[derive(Serialize, ToSchema)]
pub struct CreateCredentialRequest {
    /// 1-100 characters.
    pub name: String,
    /// Some of `resource:read`, `resource:write`, `admin`.
    pub scopes: Vec<String>,
    /// Lifetime such as `90d`.
    pub expires_in: Option<String>,
    /// Own limits, e.g. `{"read": "5000/h", "write": "unlimited"}`.
    pub limits: Option<BTreeMap<String, String>>,
}

/// `POST .../rotate` (the body is optional).
#[derive(Serialize, ToSchema)]
pub struct RotateRequest {
    /// How long the old secret keeps working (default `24h`).
    pub grace: Option<String>,
}

/// `PATCH /v1/keys/{id}`, `PATCH /v1/clients/{id}`.
#[derive(Serialize, ToSchema)]
pub struct UpdateCredentialRequest {
    /// New limits per route class.
    pub limits: BTreeMap<String, String>,
}

/// A credential with its secret, shown once.
#[derive(Serialize, ToSchema)]
pub struct CredentialWithSecret {
    /// The key (for /v1/keys).
    pub key: Option<Value>,
    /// The client (for /v1/clients).
    pub client: Option<Value>,
    /// The API key secret (for /v1/keys).
    pub secret: Option<String>,
    /// The client id (for /v1/clients).
    pub client_id: Option<String>,
    /// The client secret (for /v1/clients).
    pub client_secret: Option<String>,
}

/// `POST /v1/webhooks`.
#[derive(Serialize, ToSchema)]
pub struct CreateWebhookRequest {
    /// http(s) URL, not resolving to internal addresses unless allowed.
    pub url: String,
    /// Default: every resource event type.
    pub event_types: Option<Vec<String>>,
}
