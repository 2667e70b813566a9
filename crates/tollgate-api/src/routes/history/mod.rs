//! Short histories for the console's charts: the node's request metrics per minute over the
//! last 24 hours (`metrics.rs`) and a credential's requests per hour over the last days
//! (`usage.rs`). Both are admin reads with small integer query parameters.

pub mod metrics;
pub mod usage;

use tollgate_core::ValidationErrors;

use crate::error::ApiError;

/// Reads the integer parameters `allowed` (name, default, least, most) from `pairs`, refusing
/// any other parameter, a repeated one and a value out of range.
pub(crate) fn int_params<const N: usize>(
    pairs: &[(String, String)],
    allowed: [(&str, u32, u32, u32); N],
) -> Result<[u32; N], ApiError> {
    let mut values = allowed.map(|(_, default, _, _)| default);
    let mut seen = [false; N];
    let mut errors = ValidationErrors::new();
    for (name, value) in pairs {
        let Some(i) = allowed.iter().position(|(n, ..)| n == name) else {
            errors.add(name.clone(), "is not a parameter of this endpoint");
            continue;
        };
        let (_, _, least, most) = allowed[i];
        if std::mem::replace(&mut seen[i], true) {
            errors.add(name.clone(), "is given more than once");
        }
        match value.parse::<u32>() {
            Ok(v) if (least..=most).contains(&v) => values[i] = v,
            _ => errors.add(name.clone(), format!("must be a whole number from {least} to {most}")),
        }
    }
    errors.into_result(values).map_err(ApiError::validation)
}
