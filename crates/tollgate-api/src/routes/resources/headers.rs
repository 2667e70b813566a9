//! The request headers that several resource routes take, as the OpenAPI document describes
//! them: one declaration each (the handlers read them with `crate::idempotency::parse_key` and
//! `Precondition::parse_if_match`).

/// `Idempotency-Key`, on the writes that replay a retried request's first answer.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)] // Read by the document only.
pub struct IdempotencyKeyHeader {
    /// 1-255 of [A-Za-z0-9_-], optionally in double quotes; a retry with the same key and body replays the first answer
    #[param(
        rename = "Idempotency-Key",
        nullable = false,
        min_length = 1,
        pattern = r#"^[ \t]*("[A-Za-z0-9_-]{1,255}"|[A-Za-z0-9_-]{1,255})[ \t]*$"#
    )]
    key: Option<String>,
}

/// `If-Match`, on the writes to one resource that can be made conditional on its version.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)] // Read by the document only.
pub struct IfMatchHeader {
    /// `*`, or ETags separated by commas: quoted (`"3"`, matching only that exact text) or weak (`W/...`, which never matches)
    #[param(
        rename = "If-Match",
        nullable = false,
        min_length = 1,
        pattern = r#"^[ \t]*(\*|[ \t]*("[\t\x20-\x2B\x2D-\x7E]*"|W/[\t\x20-\x2B\x2D-\x7E]*)[ \t]*(,[ \t]*("[\t\x20-\x2B\x2D-\x7E]*"|W/[\t\x20-\x2B\x2D-\x7E]*)[ \t]*)*)[ \t]*$"#
    )]
    if_match: Option<String>,
}
