//! Helpers for the OpenAPI schemas of domain types whose wire form comes from a table in the
//! code (scopes, statuses, error codes), so that the document lists what the table holds.

use utoipa::openapi::schema::{ObjectBuilder, Schema, SchemaType, Type};
use utoipa::openapi::RefOr;

/// A string schema whose only values are `values`.
pub fn string_enum<'a>(values: impl IntoIterator<Item = &'a str>, description: &str) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(SchemaType::Type(Type::String))
        .enum_values(Some(values))
        .description(Some(description))
        .into()
}

/// Rust's `char::is_control` (Unicode `Cc`): what names refuse. The derives of named bodies
/// repeat it as a literal, since utoipa's `pattern` takes no constant; a test holds them to it.
pub const NO_CONTROL_CHARS: &str = r"^[^\u0000-\u001F\u007F-\u009F]*$";
/// [`crate::resource::is_attribute_key`].
pub const ATTRIBUTE_KEY: &str = r"^[A-Za-z0-9_.-]{1,40}$";
/// Rust's `char::is_whitespace` (Unicode `White_Space`), which `str::trim` strips: `\s` differs
/// between regex dialects, so the class is spelled out.
macro_rules! ws {
    () => {
        r"[\t-\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]"
    };
}
/// What [`crate::duration::parse_duration`] reads (humantime's grammar: numbers, optionally
/// with a fraction, each followed by a unit). The range (not zero, at most ten years) is said
/// in words: a pattern for it would be unreadable.
pub const DURATION: &str = concat!(
    "^",
    ws!(),
    r"*([0-9]+(\.[0-9]*)?",
    ws!(),
    r"*(nanos|nsec|ns|usec|us|\u00B5s|millis|msec|ms|seconds|second|secs|sec|s|minutes|minute|mins|min|m|hours|hour|hrs|hr|h|days|day|d|weeks|week|wks|wk|w|months|month|M|years|year|yrs|yr|y)",
    ws!(),
    "*)+$"
);
/// What [`crate::Limit::parse`] reads: `unlimited` in any case, or 1 to 2^32-1 requests per a
/// window of 1 second to 7 days (the count of each unit spelled out, leading zeros allowed).
pub const LIMIT: &str = concat!(
    "^",
    ws!(),
    r"*([Uu][Nn][Ll][Ii][Mm][Ii][Tt][Ee][Dd]|\+?0*([1-9][0-9]{0,8}|[1-3][0-9]{9}|4[01][0-9]{8}|42[0-8][0-9]{7}|429[0-3][0-9]{6}|4294[0-8][0-9]{5}|42949[0-5][0-9]{4}|429496[0-6][0-9]{3}|4294967[01][0-9]{2}|42949672[0-8][0-9]|429496729[0-5])",
    ws!(),
    "*/",
    ws!(),
    r"*((0*([1-9][0-9]{0,4}|[1-5][0-9]{5}|60[0-3][0-9]{3}|604[0-7][0-9]{2}|604800))?(s|sec)|(0*([1-9][0-9]{0,3}|100[0-7][0-9]|10080))?(m|min)|(0*([1-9][0-9]?|1[0-5][0-9]|16[0-8]))?(h|hour)|(0*[1-7])?(d|day)))",
    ws!(),
    "*$"
);

/// A resource's `attributes` as [`crate::NewResource::parse`] reads them: at most 50 entries,
/// keys of [`ATTRIBUTE_KEY`], values of at most 500 characters without NUL; `null` is none.
pub fn attributes() -> Schema {
    use crate::resource::{MAX_ATTRIBUTES, MAX_ATTRIBUTE_VALUE_CHARS};
    let value = ObjectBuilder::new()
        .schema_type(SchemaType::Type(Type::String))
        .max_length(Some(MAX_ATTRIBUTE_VALUE_CHARS))
        .pattern(Some(r"^[^\u0000]*$"));
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::Object, Type::Null]))
        .description(Some(
            "At most 50 filterable string pairs; keys 1-40 of `[A-Za-z0-9_.-]`, values at most 500 characters, \
             without NUL (`null`: none).",
        ))
        .property_names(Some(
            ObjectBuilder::new().schema_type(SchemaType::Type(Type::String)).pattern(Some(ATTRIBUTE_KEY)),
        ))
        .additional_properties(Some(value))
        .max_properties(Some(MAX_ATTRIBUTES))
        .into()
}
