//! `tollgate types ...`: the same operations as `/v1/types`, on the data store directly.

use anyhow::{anyhow, Context};
use tollgate_api::routes::types::TypeView;
use tollgate_core::resource_type::{parse_type_name, TypeDefinition};

use super::credentials::{open_store, project_named};
use crate::cli::TypesCommand;
use crate::config::Config;

fn definition(path: &std::path::Path) -> anyhow::Result<TypeDefinition> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let body: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))?;
    // A file holding only a schema is taken as `{"schema": ...}`.
    let body = if body.get("schema").is_some() { body } else { serde_json::json!({"schema": body}) };
    TypeDefinition::parse(&body, false).map(|(_, d)| d).map_err(|e| anyhow!("{}: {e}", path.display()))
}

fn print(view: impl serde::Serialize) -> anyhow::Result<i32> {
    println!("{}", serde_json::to_string_pretty(&view)?);
    Ok(0)
}

/// Runs one `types` command.
pub async fn run(config: &Config, command: TypesCommand) -> anyhow::Result<i32> {
    let store = open_store(config).await?;
    let store = store.as_ref();
    let name_of = |n: &str| parse_type_name(n).map_err(|e| anyhow!("{e}"));
    match command {
        TypesCommand::Create { name, schema, project } => {
            let project = project_named(store, &project).await?;
            let created = store.create_type(project.id, name_of(&name)?, definition(&schema)?).await?;
            print(TypeView::from(created))
        }
        TypesCommand::List { project } => {
            let project = project_named(store, &project).await?;
            let types: Vec<TypeView> = store.list_types(project.id).await?.into_iter().map(TypeView::from).collect();
            print(types)
        }
        TypesCommand::Get { name, project } => {
            let project = project_named(store, &project).await?;
            print(TypeView::from(store.get_type(project.id, name_of(&name)?).await?))
        }
        TypesCommand::Update { name, schema, project } => {
            let project = project_named(store, &project).await?;
            print(TypeView::from(store.update_type(project.id, name_of(&name)?, definition(&schema)?).await?))
        }
        TypesCommand::Delete { name, project } => {
            let project = project_named(store, &project).await?;
            store.delete_type(project.id, name_of(&name)?).await?;
            eprintln!("deleted type {name}");
            Ok(0)
        }
    }
}
