//! Resource types (register, validate, update, delete) and full-text search, against a real server.

mod common;

use futures::TryStreamExt;
use serde_json::json;
use tollgate_client::{AttributeRule, ErrorKind, ListParams, NewResource, TypeDefinition};

fn machine_schema(max_cpus: u64) -> serde_json::Value {
    json!({"type": "object", "required": ["cpus"],
           "properties": {"cpus": {"type": "integer", "minimum": 1, "maximum": max_cpus}}})
}

#[tokio::test]
async fn a_registered_type_validates_writes_and_is_versioned() {
    let s = common::server().await;
    let c = common::admin(&s);
    let definition = TypeDefinition::new()
        .schema(machine_schema(64))
        .attribute("region", AttributeRule::required().one_of(["eu", "us"]))
        .description("A machine");
    let created = c.create_type("machine", &definition).await.unwrap();
    assert_eq!((created.name.as_str(), created.version, created.description.as_str()), ("machine", 1, "A machine"));
    assert_eq!(created.attributes["region"], AttributeRule::required().one_of(["eu", "us"]));
    assert_eq!(created.schema, machine_schema(64));
    let again = c.create_type("machine", &definition).await.unwrap_err();
    assert_eq!(again.kind(), ErrorKind::Conflict);

    let good =
        c.create(&NewResource::new("m1", "machine").attribute("region", "eu").data(json!({"cpus": 4}))).await.unwrap();
    let bad = c
        .create(&NewResource::new("m2", "machine").attribute("region", "mars").data(json!({"cpus": 0})))
        .await
        .unwrap_err();
    assert_eq!((bad.kind(), bad.code()), (ErrorKind::Validation, Some("VALIDATION_FAILED")));
    let mut pointers: Vec<String> = bad.errors().into_iter().map(|e| e.pointer).collect();
    pointers.sort();
    assert_eq!(pointers, ["/attributes/region", "/data/cpus"]);
    assert!(bad.errors().iter().all(|e| !e.message.is_empty()));
    let text = bad.to_string();
    assert!(text.contains("/data/cpus: ") && text.contains("/attributes/region: "), "{text}");

    let updated = c.update_type("machine", &definition.clone().schema(machine_schema(2))).await.unwrap();
    assert_eq!((updated.version, updated.created_at.as_str()), (2, created.created_at.as_str()));
    assert_eq!(c.get_type("machine").await.unwrap(), updated);
    let names: Vec<String> = c.list_types().await.unwrap().into_iter().map(|t| t.name).collect();
    assert_eq!(names, ["machine"]);
    let too_big = c
        .create(&NewResource::new("m3", "machine").attribute("region", "us").data(json!({"cpus": 4})))
        .await
        .unwrap_err();
    assert_eq!(too_big.errors()[0].pointer, "/data/cpus", "checked against version 2");

    let refused = c.delete_type("machine").await.unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::Conflict, "{refused}");
    c.delete(&good.id, None).await.unwrap();
    c.delete_type("machine").await.unwrap();
    assert_eq!(c.get_type("machine").await.unwrap_err().kind(), ErrorKind::NotFound);
    assert!(c.list_types().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_refused_schema_names_the_schema() {
    let s = common::server().await;
    let c = common::admin(&s);
    let remote = TypeDefinition::new().schema(json!({"$ref": "https://schemas.invalid/x.json"}));
    let e = c.create_type("remote", &remote).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Validation);
    assert!(e.api().unwrap().fields().iter().any(|(field, _)| field == "schema"), "{e}");
}

#[tokio::test]
async fn q_finds_resources_by_the_words_in_their_data() {
    let s = common::server().await;
    let c = common::admin(&s);
    let note = |name: &str, text: &str| NewResource::new(name, "note").data(json!({"text": text}));
    let first = c.create(&note("first", "penguins waddle on the ice")).await.unwrap();
    c.create(&note("second", "a camel crosses the desert")).await.unwrap();
    let third = c.create(&note("third", "a penguin colony")).await.unwrap();
    let page = c.list(&ListParams::new().q("penguin").include_total()).await.unwrap();
    let mut ids: Vec<&str> = page.items.iter().map(|r| r.id.as_str()).collect();
    ids.sort();
    assert_eq!((ids, page.total), (vec![first.id.as_str(), third.id.as_str()], Some(2)));
    // By relevance the stream pages by number; with a sort, by cursor.
    let mut by_rank: Vec<String> =
        c.list_all(ListParams::new().q("penguin").per_page(1)).map_ok(|r| r.name).try_collect().await.unwrap();
    by_rank.sort();
    assert_eq!(by_rank, ["first", "third"]);
    let by_name: Vec<String> = c
        .list_all(ListParams::new().q("penguin").sort("-name").per_page(1))
        .map_ok(|r| r.name)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(by_name, ["third", "first"]);
    let nothing = c.list(&ListParams::new().q("walrus")).await.unwrap();
    assert!(nothing.items.is_empty());
}
