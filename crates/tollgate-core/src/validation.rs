//! Field-level validation errors: a map from field path to the reason it was refused, sent as
//! the `details` of a `VALIDATION_FAILED` envelope.

use std::collections::BTreeMap;

/// Every bad field of one request, by path (`name`, `attributes.colour`, `per_page`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ValidationErrors(BTreeMap<String, String>);

impl ValidationErrors {
    /// No errors yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// One error.
    pub fn single(field: impl Into<String>, reason: impl Into<String>) -> Self {
        let mut e = Self::new();
        e.add(field, reason);
        e
    }

    /// Records that `field` is bad; the first reason given for a field wins.
    pub fn add(&mut self, field: impl Into<String>, reason: impl Into<String>) {
        self.0.entry(field.into()).or_insert_with(|| reason.into());
    }

    /// True when nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok(value)` when nothing was recorded, else the errors.
    pub fn into_result<T>(self, value: T) -> Result<T, Self> {
        if self.is_empty() {
            Ok(value)
        } else {
            Err(self)
        }
    }

    /// The errors as field -> reason.
    pub fn fields(&self) -> &BTreeMap<String, String> {
        &self.0
    }
}

impl std::fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self.0.iter().map(|(k, v)| format!("{k}: {v}")).collect();
        f.write_str(&parts.join("; "))
    }
}

impl std::error::Error for ValidationErrors {}
