//! The parameters of an OAuth request, from `application/x-www-form-urlencoded` (as RFC 6749
//! requires) or a JSON object of strings (as the integration guide's curl example sends).
//! A repeated parameter is `invalid_request`, as RFC 6749 section 3.2 says. The typed requests
//! below are what each endpoint reads from them, and their schemas are the document's.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::header;
use serde_json::Value;
use tollgate_core::ErrorCode;

use crate::error::OAuthError;
use crate::extract::json::{read_body, MAX_BODY_BYTES};
use crate::extract::single_header::{single_header, Repeated};

/// The request's parameters by name.
pub struct OAuthParams(pub HashMap<String, String>);

/// Client authentication in the body (`client_secret_post`), instead of HTTP Basic.
#[derive(Debug, Default, utoipa::ToSchema)]
pub struct ClientCredentials {
    /// The client id, with `client_secret`.
    #[schema(nullable = false)]
    pub client_id: Option<String>,
    /// The client secret, with `client_id`.
    #[schema(nullable = false)]
    pub client_secret: Option<String>,
}

impl ClientCredentials {
    /// The pair from the parameters (either may be missing).
    pub fn from_params(params: &OAuthParams) -> Self {
        Self {
            client_id: params.get("client_id").map(str::to_owned),
            client_secret: params.get("client_secret").map(str::to_owned),
        }
    }
}

/// `POST /oauth/token`: the client credentials grant.
#[derive(Debug, utoipa::ToSchema)]
pub struct TokenRequest {
    /// `client_credentials`.
    #[schema(example = "client_credentials", pattern = "^client_credentials$")]
    pub grant_type: String,
    /// Space-separated subset of the client's scopes (default: all of them).
    #[schema(nullable = false)]
    pub scope: Option<String>,
    /// Body client authentication.
    #[serde(flatten)]
    pub client: ClientCredentials,
}

impl TokenRequest {
    /// Reads the parameters; `grant_type` is required.
    pub fn from_params(params: &OAuthParams) -> Result<Self, OAuthError> {
        let grant_type =
            params.get("grant_type").ok_or_else(|| OAuthError::invalid_request("grant_type is required"))?;
        Ok(Self {
            grant_type: grant_type.to_owned(),
            scope: params.get("scope").map(str::to_owned),
            client: ClientCredentials::from_params(params),
        })
    }
}

/// `POST /oauth/revoke` and `POST /oauth/introspect`: one token.
#[derive(Debug, utoipa::ToSchema)]
pub struct TokenParams {
    /// The access token (required; checked after the client authenticates).
    #[schema(value_type = String, required = true, min_length = 1)]
    pub token: Option<String>,
    /// `access_token` (the only kind issued; other hints are ignored).
    #[schema(nullable = false)]
    pub token_type_hint: Option<String>,
    /// Body client authentication.
    #[serde(flatten)]
    pub client: ClientCredentials,
}

impl TokenParams {
    /// Reads the parameters.
    pub fn from_params(params: &OAuthParams) -> Self {
        Self {
            token: params.get("token").map(str::to_owned),
            token_type_hint: params.get("token_type_hint").map(str::to_owned),
            client: ClientCredentials::from_params(params),
        }
    }

    /// The token, or `invalid_request`.
    pub fn token(&self) -> Result<&str, OAuthError> {
        self.token.as_deref().ok_or_else(|| OAuthError::invalid_request("token is required"))
    }
}

impl OAuthParams {
    /// A parameter, if present and non-empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str).filter(|v| !v.is_empty())
    }
}

impl<S: Send + Sync> FromRequest<S> for OAuthParams {
    type Rejection = OAuthError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        // Two are a repeated parameter of the request (RFC 6749 section 3.2).
        let media = single_header(req.headers(), &header::CONTENT_TYPE)
            .map_err(|Repeated| OAuthError::invalid_request("Content-Type is given more than once"))?
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(';').next().unwrap_or("").trim().to_ascii_lowercase())
            .unwrap_or_default();
        // Read as every JSON body is: over the limit is a 413 (the rest drained, so that the
        // client reads the answer), in this endpoint's error format.
        let body: Bytes = read_body(req.into_body()).await.map_err(|e| match e.code() {
            ErrorCode::PayloadTooLarge => OAuthError::payload_too_large(MAX_BODY_BYTES),
            _ => OAuthError::invalid_request("the request body could not be read"),
        })?;
        let pairs: Vec<(String, String)> = match media.as_str() {
            "application/x-www-form-urlencoded" => serde_urlencoded::from_bytes(&body)
                .map_err(|_| OAuthError::invalid_request("the body is not valid form encoding"))?,
            "application/json" => json_pairs(&body)?,
            _ => {
                return Err(OAuthError::invalid_request(
                    "Content-Type must be application/x-www-form-urlencoded or application/json",
                ))
            }
        };
        let mut map = HashMap::new();
        for (k, v) in pairs {
            if map.insert(k.clone(), v).is_some() {
                return Err(OAuthError::invalid_request(format!("parameter `{k}` is repeated")));
            }
        }
        Ok(Self(map))
    }
}

fn json_pairs(body: &[u8]) -> Result<Vec<(String, String)>, OAuthError> {
    // A repeated member is a repeated parameter, as in the form encoding.
    use crate::extract::unique_members::{from_slice, Refused};
    let value = from_slice(body).map_err(|refused| match refused {
        Refused::Duplicate { member, .. } => OAuthError::invalid_request(format!("parameter `{member}` is repeated")),
        Refused::Syntax(_) | Refused::Inexact(_) => OAuthError::invalid_request("the body is not valid JSON"),
    })?;
    let obj = value.as_object().ok_or_else(|| OAuthError::invalid_request("the body must be a JSON object"))?;
    obj.iter()
        .map(|(k, v)| match v {
            Value::String(s) => Ok((k.clone(), s.clone())),
            _ => Err(OAuthError::invalid_request(format!("parameter `{k}` must be a string"))),
        })
        .collect()
}

/// `T`'s schema with every parameter a string, unknown ones included: a parameter given twice
/// (in a form, a list) or a JSON member that is not a string is `invalid_request`, while an
/// unknown parameter is ignored (RFC 6749 section 3.2), so the body stays open to other names.
fn strings_only<T: utoipa::PartialSchema>() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder, Schema, SchemaType, Type};
    let string = ObjectBuilder::new().schema_type(SchemaType::Type(Type::String)).build();
    crate::openapi::with_additional_properties::<T>(AdditionalProperties::RefOr(utoipa::openapi::RefOr::T(
        Schema::Object(string),
    )))
}

/// `T` in the document, under `T`'s name, with its schema through [`strings_only`].
pub struct StringsOnly<T>(std::marker::PhantomData<T>);

impl<T: utoipa::ToSchema> utoipa::PartialSchema for StringsOnly<T> {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        strings_only::<T>()
    }
}

impl<T: utoipa::ToSchema> utoipa::ToSchema for StringsOnly<T> {
    fn name() -> std::borrow::Cow<'static, str> {
        T::name()
    }

    fn schemas(schemas: &mut Vec<(String, utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>)>) {
        T::schemas(schemas);
    }
}

/// The document's `TokenRequest`.
pub type TokenRequestBody = StringsOnly<TokenRequest>;
/// The document's `TokenParams`.
pub type TokenParamsBody = StringsOnly<TokenParams>;
