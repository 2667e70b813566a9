//! `tollgate webhooks ...`: the same operations as `/v1/webhooks`, on the data store directly.

use anyhow::anyhow;
use serde_json::json;
use tollgate_api::routes::webhooks::create::parse_registration;
use tollgate_api::routes::webhooks::view::{delivery, endpoint};
use tollgate_core::time_fmt::now;
use tollgate_core::webhook::WebhookEndpoint;
use tollgate_events::signing::generate_secret;
use tollgate_store::StoreError;

use super::credentials::{open_store, print_table, project_named};
use crate::cli::WebhooksCommand;
use crate::config::Config;

fn not_found(e: StoreError, what: &str) -> anyhow::Error {
    match e {
        StoreError::NotFound => anyhow!("no {what} in this project"),
        StoreError::Conflict(m) => anyhow!(m),
        other => other.into(),
    }
}

/// Runs one `webhooks` command.
pub async fn run(config: &Config, command: WebhooksCommand) -> anyhow::Result<i32> {
    let store = open_store(config).await?;
    let store = store.as_ref();
    match command {
        WebhooksCommand::Create { url, events, project } => {
            let project = project_named(store, &project).await?;
            let types: Option<Vec<&str>> = events.as_deref().map(|e| e.split(',').map(str::trim).collect());
            let body = json!({"url": url, "event_types": types});
            let registration = parse_registration(&body, config.webhook_policy()).await.map_err(|e| anyhow!("{e}"))?;
            let (url, event_types) = (registration.url, registration.event_types);
            let secret = generate_secret();
            let e = WebhookEndpoint {
                id: format!("whk_{}", ulid::Ulid::new()),
                project_id: project.id,
                url,
                event_types,
                secret: secret.clone(),
                created_at: now(),
                disabled_at: None,
            };
            let e = store.create_webhook(e).await?;
            println!("{}", json!({"webhook": endpoint(&e), "secret": secret}));
            eprintln!("Store the signing secret now: it is never shown again.");
        }
        WebhooksCommand::List { project } => {
            let project = project_named(store, &project).await?;
            let mut rows = vec![["ID", "URL", "EVENTS", "STATUS"].map(String::from)];
            for e in store.list_webhooks(project.id).await? {
                let status = if e.disabled_at.is_some() { "disabled" } else { "active" };
                rows.push([e.id, e.url, e.event_types.join(","), status.into()]);
            }
            print_table(&rows);
        }
        WebhooksCommand::Delete { id, project } => {
            let project = project_named(store, &project).await?;
            store
                .delete_webhook(project.id, id.clone())
                .await
                .map_err(|e| not_found(e, &format!("endpoint `{id}`")))?;
            println!("deleted {id}");
        }
        WebhooksCommand::Test { id, project } => {
            let project = project_named(store, &project).await?;
            let event = store
                .send_test_event(project.id, id.clone())
                .await
                .map_err(|e| not_found(e, &format!("endpoint `{id}`")))?;
            println!("queued {} ({}) for {id}", event.id, event.kind);
        }
        WebhooksCommand::Deliveries { id, project } => {
            let project = project_named(store, &project).await?;
            let items: Vec<_> = store
                .list_deliveries(project.id, id.clone(), 100)
                .await
                .map_err(|e| not_found(e, &format!("endpoint `{id}`")))?
                .iter()
                .map(delivery)
                .collect();
            println!("{}", json!({ "items": items }));
        }
        WebhooksCommand::Replay { id, delivery, project } => {
            let project = project_named(store, &project).await?;
            store
                .replay_delivery(project.id, id.clone(), delivery.clone())
                .await
                .map_err(|e| not_found(e, &format!("delivery `{delivery}` of endpoint `{id}`")))?;
            println!("{delivery} is pending again");
        }
    }
    Ok(0)
}
