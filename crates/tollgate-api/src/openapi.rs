//! The OpenAPI 3.1 document, served at `/openapi.json` and checked in as `docs/openapi.json`.
//! Each operation is described on its handler (`#[utoipa::path]` in `routes/`, operationId =
//! the handler's name) and each schema is derived from the type the handler parses or answers
//! with; this file only lists the handlers. The e2e test checks that every operation is routed.

use utoipa::openapi::schema::{AdditionalProperties, Schema};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::RefOr;
use utoipa::{Modify, OpenApi};

use crate::routes::credentials::{create, get, list, revoke, rotate, update};
use crate::routes::webhooks::{create as webhook_create, deliveries, manage};
use crate::routes::{events, health, history, oauth, resources, types, usage};

/// The document.
#[derive(OpenApi)]
#[openapi(
    info(title = "Tollgate", description = "Typed resources behind a REST API, with API keys, OAuth 2.0 client credentials, quotas and webhooks."),
    paths(
        health::health, health::ready,
        resources::create::create_resource, resources::batch::apply_batch,
        types::manage::create_type, types::manage::list_types, types::manage::get_type, types::manage::update_type,
        types::manage::delete_type, types::project::get_project, types::project::update_project, resources::list::list_resources, resources::get::get_resource,
        resources::update::update_resource, resources::delete::delete_resource,
        create::create_api_key, list::list_api_keys, get::get_api_key, update::update_api_key, revoke::revoke_api_key,
        rotate::rotate_api_key,
        create::create_client, list::list_clients, get::get_client, update::update_client, revoke::revoke_client,
        rotate::rotate_client,
        usage::get_usage, usage::list_credential_usage, history::usage::get_credential_hourly_usage,
        history::metrics::get_metrics_history,
        webhook_create::create_webhook, manage::list_webhooks, manage::get_webhook, manage::delete_webhook,
        manage::test_webhook, deliveries::list_deliveries, deliveries::replay_delivery,
        oauth::token::issue_token, oauth::revoke::revoke_token, oauth::introspect::introspect_token,
        oauth::metadata::server_metadata, oauth::metadata::jwks,
        events::list::list_events, events::get::get_event, events::stream::stream_events,
    ),
    modifiers(&Security),
    security(("api_key" = []), ("bearer" = [])),
    tags(
        (name = "resources", description = "Typed resources"),
        (name = "types", description = "Resource types: JSON Schemas for data, attribute rules (admin)"),
        (name = "keys", description = "API keys of the caller's project (admin)"),
        (name = "clients", description = "OAuth clients of the caller's project (admin)"),
        (name = "oauth", description = "OAuth 2.0 authorization server"),
        (name = "usage", description = "Quota usage"),
        (name = "webhooks", description = "Webhook endpoints and deliveries (admin)"),
        (name = "events", description = "The project's events: a list, one by one, and live as Server-Sent Events"),
        (name = "operations", description = "Health, readiness and the recent request metrics"),
    )
)]
pub struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components
            .add_security_scheme("api_key", SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-API-Key"))));
        components.add_security_scheme("bearer", SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)));
    }
}

/// The document as pretty JSON (what `docs/openapi.json` holds).
pub fn json() -> String {
    let mut doc = ApiDoc::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    doc.to_pretty_json().unwrap_or_default() + "\n"
}

/// `T`'s derived schema with `additionalProperties` set to `extra` on each object branch of its
/// `oneOf` or `allOf`: a derived schema leaves a body open, where its parser says what else a
/// body may hold (nothing, or only strings).
pub(crate) fn with_additional_properties<T: utoipa::PartialSchema>(
    extra: AdditionalProperties<Schema>,
) -> RefOr<Schema> {
    let mut schema = T::schema();
    let branches = match &mut schema {
        RefOr::T(Schema::OneOf(one_of)) => &mut one_of.items,
        RefOr::T(Schema::AllOf(all_of)) => &mut all_of.items,
        _ => return schema,
    };
    for branch in branches {
        if let RefOr::T(Schema::Object(object)) = branch {
            object.additional_properties = Some(Box::new(extra.clone()));
        }
    }
    schema
}

/// The property names of `T`'s object schema and the required ones, each sorted: what the
/// request-body tests compare with the members their parsers read.
#[cfg(test)]
pub(crate) fn schema_fields<T: utoipa::PartialSchema>() -> (Vec<String>, Vec<String>) {
    let RefOr::T(Schema::Object(object)) = T::schema() else {
        panic!("{} is not an object schema", std::any::type_name::<T>());
    };
    let mut fields: Vec<String> = object.properties.keys().cloned().collect();
    let mut required = object.required;
    fields.sort();
    required.sort();
    (fields, required)
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    /// The schema of parameter `name` of `method path`, or of a component property.
    fn parameter(doc: &Value, path: &str, method: &str, name: &str) -> Value {
        let params = doc["paths"][path][method]["parameters"].as_array().expect(path);
        let p = params.iter().find(|p| p["name"] == name).unwrap_or_else(|| panic!("{method} {path} {name}"));
        p["schema"].clone()
    }

    /// Whether `value` is valid by `schema`, read as schemathesis reads it (JSON Schema 2020-12,
    /// ECMA-262 patterns).
    fn valid(schema: &Value, value: &str) -> bool {
        let schema = json!({"type": "string", "pattern": schema["pattern"], "minLength": schema["minLength"].as_u64().unwrap_or(0),
                            "maxLength": schema["maxLength"].as_u64().unwrap_or(u64::MAX)});
        jsonschema::validator_for(&schema).expect("a pattern the validator compiles").is_valid(&json!(value))
    }

    /// Each pattern added to say what a parser refuses agrees with that parser, edge cases
    /// included: a stricter pattern would have clients' valid values refused, a looser one
    /// would let schemathesis' valid values be refused by the server.
    #[test]
    fn patterns_agree_with_the_parsers() {
        use axum::http::{HeaderMap, HeaderValue};
        use tollgate_core::query::{parse_fields, parse_sort};
        use tollgate_core::{Limit, Precondition};
        let doc: Value = serde_json::from_str(&super::json()).unwrap();
        let check = |schema: &Value, samples: &[&str], accepts: &dyn Fn(&str) -> bool| {
            for s in samples {
                assert_eq!(valid(schema, s), accepts(s), "{s:?} against {}", schema["pattern"]);
            }
        };
        let if_match = parameter(&doc, "/v1/resource/{id}", "patch", "If-Match");
        check(
            &if_match,
            &[
                "*",
                " * ",
                "\"3\"",
                "\"3\", \"4\"",
                "W/\"3\"",
                "W/x, \"1\"",
                "\"\"",
                "",
                "3",
                "*, \"1\"",
                "\"a",
                "\"1\",",
                ",\"1\"",
                "\"a\" x",
                "\"a\" x\"",
            ],
            &|s| Precondition::parse_if_match(s).is_some(),
        );
        let key = parameter(&doc, "/v1/resource", "post", "Idempotency-Key");
        let parse_key = |s: &str| {
            let mut h = HeaderMap::new();
            h.insert("idempotency-key", HeaderValue::from_str(s).unwrap());
            crate::idempotency::parse_key(&h).is_ok()
        };
        let long = "k".repeat(255);
        let too_long = "k".repeat(256);
        check(&key, &["abc", "\"abc\"", "\"abc", "abc\"", "\"\"", "", "a b", "a_-Z9", &long, &too_long], &parse_key);
        let sort = parameter(&doc, "/v1/resource", "get", "sort");
        check(
            &sort,
            &[
                "name",
                "-name",
                "--name",
                "name,-created_at",
                "attributes.a.b-c",
                "attributes.",
                "a,b",
                "",
                "name,",
                "size",
                "type,status,name,updated_at",
                "type,status,name,updated_at,created_at",
            ],
            &|s| parse_sort(s).is_ok(),
        );
        let fields = parameter(&doc, "/v1/resource", "get", "fields");
        check(
            &fields,
            &[
                "id",
                "name,data.x y",
                "attributes.k",
                "attributes.",
                "data.",
                "",
                "name,,type",
                "version,attributes",
                "nope",
            ],
            &|s| parse_fields(s).is_ok(),
        );
        let last = parameter(&doc, "/v1/events/stream", "get", "last_event_id");
        check(
            &last,
            &[
                "evt_01M96QYE5V61BKND6XBP0NPSXT",
                "evt_01m96qye5v61bknd6xbp0npsxt",
                "evt_ZZZZZZZZZZZZZZZZZZZZZZZZZZ",
                "evt_01M96QYE5V61BKND6XBP0NPSXU",
                "evt_01M96QYE5V61BKND6XBP0NPSX",
                "evt_x",
                "",
            ],
            &tollgate_core::event_log::is_event_id,
        );
        let types = parameter(&doc, "/v1/events", "get", "type");
        let twenty = vec!["resource.created"; 20].join(",");
        let twenty_one = vec!["resource.created"; 21].join(",");
        check(
            &types,
            &[
                "resource.created",
                " resource.created , resource.deleted\u{3000}",
                "resource.created,",
                "",
                "webhook.test",
                &twenty,
                &twenty_one,
            ],
            &|s| tollgate_core::event_log::EventQuery::parse(&[("type".to_owned(), s.to_owned())]).is_ok(),
        );
        let limit = &doc["components"]["schemas"]["Limit"];
        check(
            limit,
            &[
                "1000/h",
                "UnLimited",
                " 5 / 30s ",
                "+5/m",
                "0/h",
                "1/0s",
                "1/604800s",
                "1/604801s",
                "1/10080m",
                "1/10081m",
                "1/168h",
                "1/169h",
                "1/7d",
                "1/8d",
                "4294967295/s",
                "4294967296/s",
                "0004294967295/s",
                "1/000007day",
                "1/hour",
                "1/sec",
                "1/min",
                "1/H",
                "1/",
                "/h",
                "1/d1",
                "\u{2003}1/h",
            ],
            &|s| Limit::parse(s).is_ok(),
        );
        let name = &doc["components"]["schemas"]["NewResource"]["properties"]["name"];
        check(
            name,
            &["a", "a\u{7}", "\u{0}", "a\u{7f}", "a\u{85}", "a\u{9f}b", "a\u{a0}", "\u{e9}\u{1f680}", ""],
            &|s| tollgate_core::NewResource::parse(&json!({"name": s, "type": "t"})).is_ok(),
        );
        // A webhook URL: the pattern says what the text may hold, the parser the rest, so
        // these samples are ones whose form alone decides.
        let url = &doc["components"]["schemas"]["CreateWebhookRequest"]["properties"]["url"];
        let allow = tollgate_events::target::TargetPolicy { allow_loopback: true, allow_private: true };
        check(
            url,
            &[
                "https://x.example/a?b=c%20d",
                "HTTP://x.example",
                " http://x.example/",
                "http://x.example/a\r\nb",
                "http://x.example/\tb",
                "http://x.example/a b",
                "http://x.example/\u{7f}",
                "http://x.example/\u{85}",
                "http://x.example/\u{a0}",
                "http://x.example/\u{3000}",
                "ftp://x.example/",
            ],
            &|s| tollgate_events::target::check_registered_url(s, allow).is_ok(),
        );
        // The derives spell the names' pattern out (utoipa takes only literals): each must be it.
        let key_name = &doc["components"]["schemas"]["CreateCredentialRequest"]["properties"]["name"];
        for schema in [name, key_name] {
            assert_eq!(schema["pattern"], tollgate_core::schema::NO_CONTROL_CHARS);
        }
        // Durations: the pattern is humantime's grammar; the range is said in words, so every
        // accepted value must match and the grammar's failures must not.
        let grace = &doc["components"]["schemas"]["RotateRequest"]["properties"]["grace"];
        for s in ["90d", "1h 30m", "1h30m", " 15min ", "1.5h", "2 weeks", "3\u{b5}s", "0s", "1y"] {
            assert!(tollgate_core::duration::parse_duration(s, true).is_ok() && valid(grace, s), "{s:?}");
        }
        for s in ["", "soon", "10", "h", "1 fortnight", "-1h"] {
            assert!(tollgate_core::duration::parse_duration(s, true).is_err() && !valid(grace, s), "{s:?}");
        }
    }
    /// `docs/openapi.json` must be what the code generates; regenerate with
    /// `cargo run -p tollgate -- openapi > docs/openapi.json`.
    #[test]
    fn checked_in_document_matches_the_code() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/openapi.json");
        let checked_in = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            checked_in == super::json(),
            "docs/openapi.json is stale: run `cargo run -p tollgate -- openapi > docs/openapi.json`"
        );
    }
}
