//! `tollgate projects create|list`.

use anyhow::anyhow;
use serde_json::json;
use tollgate_core::time_fmt::rfc3339;
use tollgate_core::ProjectName;
use tollgate_store::StoreError;

use super::credentials::{open_store, print_table};
use crate::cli::{Output, ProjectsCommand};
use crate::config::Config;

/// Runs one `projects` command.
pub async fn run(config: &Config, command: ProjectsCommand) -> anyhow::Result<i32> {
    let store = open_store(config).await?;
    match command {
        ProjectsCommand::Create { name } => {
            let name = ProjectName::parse(&name).map_err(|e| anyhow!(e))?;
            let p = store.create_project(name.as_str()).await.map_err(|e| match e {
                StoreError::Conflict(m) => anyhow!(m),
                other => other.into(),
            })?;
            println!("created project {} ({})", p.name, p.id);
        }
        ProjectsCommand::List { output } => {
            store.ensure_project(tollgate_core::project::DEFAULT_PROJECT).await?;
            let projects = store.list_projects().await?;
            if output == Output::Json {
                let items: Vec<_> = projects
                    .iter()
                    .map(|p| json!({"id": p.id.to_string(), "name": p.name, "created_at": rfc3339(p.created_at)}))
                    .collect();
                println!("{}", json!(items));
            } else {
                let mut rows = vec![["NAME", "ID", "CREATED"].map(String::from)];
                rows.extend(projects.iter().map(|p| [p.name.clone(), p.id.to_string(), rfc3339(p.created_at)]));
                print_table(&rows);
            }
        }
    }
    Ok(0)
}
