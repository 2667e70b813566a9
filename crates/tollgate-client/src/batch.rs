//! `POST /v1/batch`: up to 100 creates, merge patches and deletes applied in one transaction,
//! all or none; a failure is the failing operation's error, with its position in
//! [`crate::Error::operation_index`].

use reqwest::Method;
use serde::{Deserialize, Serialize};

use crate::resources::{new_idempotency_key, to_json, IDEMPOTENCY_KEY};
use crate::transport::Call;
use crate::{Client, Error, NewResource, Resource, ResourcePatch};

/// The most operations one batch holds.
pub const MAX_BATCH_OPERATIONS: usize = 100;

/// One operation of a batch, in the API's form.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum BatchOp {
    /// Create a resource.
    Create {
        /// What [`Client::create`] takes.
        body: NewResource,
    },
    /// Merge-patch resource `id`, only at version `if_match` when given.
    Update {
        /// `res_...`.
        id: String,
        /// The version the patch was made against.
        #[serde(skip_serializing_if = "Option::is_none")]
        if_match: Option<u64>,
        /// What [`Client::update`] takes.
        body: ResourcePatch,
    },
    /// Delete resource `id`, only at version `if_match` when given.
    Delete {
        /// `res_...`.
        id: String,
        /// The version the deletion was decided on.
        #[serde(skip_serializing_if = "Option::is_none")]
        if_match: Option<u64>,
    },
}

impl BatchOp {
    /// Creates `resource`.
    pub fn create(resource: NewResource) -> Self {
        BatchOp::Create { body: resource }
    }

    /// Patches resource `id`, only if it is at `if_version` (when given).
    pub fn update(id: impl Into<String>, patch: ResourcePatch, if_version: Option<u64>) -> Self {
        BatchOp::Update { id: id.into(), if_match: if_version, body: patch }
    }

    /// Deletes resource `id`, only if it is at `if_version` (when given).
    pub fn delete(id: impl Into<String>, if_version: Option<u64>) -> Self {
        BatchOp::Delete { id: id.into(), if_match: if_version }
    }
}

/// What one operation did.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct BatchItem {
    /// `create`, `update` or `delete`.
    pub op: String,
    /// The status its single form answers with: 201, 200 or 204.
    pub status: u16,
    /// The resource after a create or update.
    #[serde(default)]
    pub resource: Option<Resource>,
    /// The deleted resource's id.
    #[serde(default)]
    pub id: Option<String>,
}

/// Every operation applied; `results[i]` is operation `i`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct BatchResult {
    /// One result per operation, in order.
    pub results: Vec<BatchItem>,
}

impl Client {
    /// `POST /v1/batch` with a fresh `Idempotency-Key` reused across retries.
    pub async fn batch(&self, operations: &[BatchOp]) -> Result<BatchResult, Error> {
        self.batch_with_key(operations, &new_idempotency_key()).await
    }

    /// `POST /v1/batch` with the caller's `Idempotency-Key`: the same key and operations within
    /// 24 hours return the first answer instead of applying them again.
    pub async fn batch_with_key(&self, operations: &[BatchOp], idempotency_key: &str) -> Result<BatchResult, Error> {
        if operations.is_empty() || operations.len() > MAX_BATCH_OPERATIONS {
            return Err(Error::Config(format!("a batch holds 1 to {MAX_BATCH_OPERATIONS} operations")));
        }
        let mut call = Call::new(Method::POST, "/v1/batch");
        call.header(IDEMPOTENCY_KEY, idempotency_key);
        call.body = Some(("application/json", to_json(&serde_json::json!({ "operations": operations }))?));
        self.call(call).await
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn operations_serialize_as_the_api_takes_them() {
        let ops = [
            BatchOp::create(NewResource::new("a", "m")),
            BatchOp::update("res_1", ResourcePatch::new().name("b"), Some(3)),
            BatchOp::delete("res_2", None),
        ];
        assert_eq!(
            serde_json::to_value(ops).unwrap(),
            json!([
                {"op": "create", "body": {"name": "a", "type": "m"}},
                {"op": "update", "id": "res_1", "if_match": 3, "body": {"name": "b"}},
                {"op": "delete", "id": "res_2"}
            ])
        );
    }
}
