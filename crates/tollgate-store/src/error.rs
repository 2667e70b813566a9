//! The one error type of the storage layer. Each variant is a kind of failure a caller can act
//! on; the two that wrap a driver's error (`Unavailable`, `Internal`) keep it as their source,
//! so the HTTP edge logs the whole chain once and sends none of it.

use tollgate_core::ValidationErrors;

/// A driver's or a decoder's error, kept whole.
pub type Source = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What can go wrong in storage, in terms a caller can act on.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No such row in the caller's project.
    #[error("not found")]
    NotFound,
    /// An `If-Match` precondition failed; carries the current version.
    #[error("precondition failed (current version {0})")]
    PreconditionFailed(i64),
    /// The change would break a rule of the domain.
    #[error("validation failed: {0}")]
    Validation(ValidationErrors),
    /// The resource breaks its registered type: every violation, each with its JSON Pointer.
    #[error("the resource breaks its type ({} violations)", .0.len())]
    SchemaViolations(Vec<tollgate_core::resource_type::Violation>),
    /// The change conflicts with the row's state (rotating a revoked key, a taken name); the
    /// message is meant for the caller.
    #[error("conflict: {0}")]
    Conflict(String),
    /// Operation `index` of a batch failed, so none of the batch was written.
    #[error("operation {index} of the batch failed")]
    Batch {
        /// Its position in the batch, from 0.
        index: usize,
        /// Why it failed.
        #[source]
        error: Box<StoreError>,
    },
    /// Another request with the same idempotency key committed first.
    #[error("idempotency key already used")]
    IdempotencyConflict,
    /// The database is busy or unreachable; the request may be retried.
    #[error("storage unavailable while {context}")]
    Unavailable {
        /// What the store was doing.
        context: &'static str,
        /// Why it could not.
        #[source]
        source: Source,
    },
    /// Anything else: a bug, a corrupt row, a failed migration. Logged once at the edge.
    #[error("storage failure while {context}")]
    Internal {
        /// What the store was doing.
        context: &'static str,
        /// Why it failed.
        #[source]
        source: Source,
    },
}

impl StoreError {
    /// An internal failure with `source`.
    pub fn internal(context: &'static str, source: impl Into<Source>) -> Self {
        StoreError::Internal { context, source: source.into() }
    }

    /// A retryable failure with `source`.
    pub fn unavailable(context: &'static str, source: impl Into<Source>) -> Self {
        StoreError::Unavailable { context, source: source.into() }
    }

    /// A stored row that does not decode back into its domain type.
    pub fn corrupt(table: &'static str, id: &str, what: &str) -> Self {
        Self::internal("reading a row", CorruptRow { table, id: id.to_owned(), what: what.to_owned() })
    }

    /// Whether this is a stored row's fault ([`StoreError::corrupt`]): another query of other
    /// rows would not fail the same way.
    pub fn is_corrupt_row(&self) -> bool {
        matches!(self, StoreError::Internal { source, .. } if source.is::<CorruptRow>())
    }
}

/// A row whose stored value breaks its type's rules (written by hand, or by a bug).
#[derive(Debug, thiserror::Error)]
#[error("corrupt {table} row {id}: bad {what}")]
pub struct CorruptRow {
    table: &'static str,
    id: String,
    what: String,
}

/// The full chain of an error, `outer: inner: innermost`, for the one log line that reports it.
pub fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut next = e.source();
    while let Some(cause) = next {
        out.push_str(": ");
        out.push_str(&cause.to_string());
        next = cause.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chain_reaches_the_driver() {
        let e = StoreError::corrupt("resources", "res_1", "status");
        assert_eq!(chain(&e), "storage failure while reading a row: corrupt resources row res_1: bad status");
        assert!(e.is_corrupt_row());
        assert!(!StoreError::internal("reading a row", "statement timeout").is_corrupt_row());
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let e = StoreError::unavailable("connecting", io);
        assert!(std::error::Error::source(&e).is_some());
        assert_eq!(chain(&e), "storage unavailable while connecting: refused");
    }
}
