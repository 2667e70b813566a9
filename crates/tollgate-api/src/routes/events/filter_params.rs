//! The filters that the event list and the live stream share, as the OpenAPI document describes
//! them: one declaration for both routes (`tollgate_core::event_log` parses them for both).

/// Filters of `GET /v1/events` and `GET /v1/events/stream`.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // Read by the document only; the handlers take the raw pairs.
pub struct EventFilterParams {
    /// Event types among `resource.created`, `resource.updated` and `resource.deleted`,
    /// comma-separated (at most 20)
    #[param(
        rename = "type",
        pattern = r"^[\t-\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*resource\.(created|updated|deleted)[\t-\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*(,[\t-\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*resource\.(created|updated|deleted)[\t-\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*){0,19}$"
    )]
    kind: Option<String>,
    /// The id of a resource (`res_` + ULID)
    #[param(pattern = "^res_[0-7][0-9A-HJKMNP-TV-Z]{25}$")]
    resource_id: Option<String>,
    #[param(pattern = "^[a-z][a-z0-9_]{0,63}$")]
    resource_type: Option<String>,
    #[param(format = DateTime)]
    after: Option<String>,
    /// Later than `after`
    #[param(format = DateTime)]
    before: Option<String>,
}
