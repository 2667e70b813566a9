//! The resource endpoints: paths, bodies and headers in one place.

use reqwest::Method;
use serde::de::DeserializeOwned;

use crate::transport::Call;
use crate::{Client, Error, ListParams, NewResource, Resource, ResourcePage, ResourcePatch};

const JSON: &str = "application/json";
const MERGE_PATCH: &str = "application/merge-patch+json";
pub(crate) const IDEMPOTENCY_KEY: &str = "idempotency-key";

impl Client {
    /// `GET /v1/resource/{id}`.
    pub async fn get(&self, id: &str) -> Result<Resource, Error> {
        self.call(Call::new(Method::GET, resource_path(id)?)).await
    }

    /// `POST /v1/resource`, with a fresh `Idempotency-Key` reused across retries.
    pub async fn create(&self, resource: &NewResource) -> Result<Resource, Error> {
        self.create_with_key(resource, &new_idempotency_key()).await
    }

    /// `POST /v1/resource` with the caller's `Idempotency-Key`: the same key and body within
    /// 24 hours return the first response instead of creating again.
    pub async fn create_with_key(&self, resource: &NewResource, idempotency_key: &str) -> Result<Resource, Error> {
        let mut call = Call::new(Method::POST, "/v1/resource");
        call.header(IDEMPOTENCY_KEY, idempotency_key);
        call.body = Some((JSON, to_json(resource)?));
        self.call(call).await
    }

    /// `PATCH /v1/resource/{id}` with a JSON Merge Patch; with `if_version`, only if the
    /// resource is still at that version (else a [`crate::ErrorKind::PreconditionFailed`]).
    pub async fn update(&self, id: &str, patch: &ResourcePatch, if_version: Option<u64>) -> Result<Resource, Error> {
        let mut call = Call::new(Method::PATCH, resource_path(id)?);
        call.header(IDEMPOTENCY_KEY, new_idempotency_key());
        if let Some(v) = if_version {
            call.header("if-match", format!("\"{v}\""));
        }
        call.body = Some((MERGE_PATCH, to_json(patch)?));
        self.call(call).await
    }

    /// `DELETE /v1/resource/{id}`, optionally only at version `if_version`.
    pub async fn delete(&self, id: &str, if_version: Option<u64>) -> Result<(), Error> {
        let mut call = Call::new(Method::DELETE, resource_path(id)?);
        if let Some(v) = if_version {
            call.header("if-match", format!("\"{v}\""));
        }
        self.inner.send(&call).await.map(drop)
    }

    /// `GET /v1/resource`: one page.
    pub async fn list(&self, params: &ListParams) -> Result<ResourcePage, Error> {
        self.list_as(params).await
    }

    /// `GET /v1/resource`: one page, its items read as `T`: for sparse fieldsets
    /// ([`ListParams::field`]), a `serde_json::Map` or a struct of the fields asked for.
    pub async fn list_as<T: DeserializeOwned>(&self, params: &ListParams) -> Result<ResourcePage<T>, Error> {
        let mut call = Call::new(Method::GET, "/v1/resource");
        call.query = params.query();
        self.call(call).await
    }

    pub(crate) async fn call<T: DeserializeOwned>(&self, call: Call) -> Result<T, Error> {
        let body = self.inner.send(&call).await?;
        serde_json::from_slice(&body).map_err(|e| Error::Decode(e.to_string()))
    }
}

fn resource_path(id: &str) -> Result<String, Error> {
    if id.is_empty() {
        return Err(Error::Config("a resource id must not be empty".into()));
    }
    let escaped: String = url::form_urlencoded::byte_serialize(id.as_bytes()).collect();
    Ok(format!("/v1/resource/{}", escaped.replace('+', "%20")))
}

pub(crate) fn to_json(value: &impl serde::Serialize) -> Result<Vec<u8>, Error> {
    serde_json::to_vec(value).map_err(|e| Error::Config(format!("body: {e}")))
}

/// A fresh random (version 4) UUID, as the Python and Node.js SDKs send.
pub(crate) fn new_idempotency_key() -> String {
    uuid::Uuid::new_v4().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idempotency_keys_are_fresh_v4_uuids() {
        let (a, b) = (new_idempotency_key(), new_idempotency_key());
        assert_ne!(a, b);
        let groups: Vec<usize> = a.split('-').map(str::len).collect();
        assert_eq!(groups, [8, 4, 4, 4, 12], "{a}");
        assert_eq!(&a[14..15], "4", "version 4: {a}");
        assert!(matches!(&a[19..20], "8" | "9" | "a" | "b"), "RFC 4122 variant: {a}");
        assert!(a.bytes().all(|c| c == b'-' || c.is_ascii_hexdigit()));
    }

    #[test]
    fn ids_are_escaped_into_the_path() {
        assert_eq!(resource_path("res_1").unwrap(), "/v1/resource/res_1");
        assert_eq!(resource_path("a b/c").unwrap(), "/v1/resource/a%20b%2Fc");
        assert!(resource_path("").is_err());
    }
}
