//! Create a resource with attributes: `cargo run --example create`
use serde_json::json;
use tollgate_client::{Client, NewResource};

#[tokio::main]
async fn main() -> Result<(), tollgate_client::Error> {
    let client = Client::from_env()?;
    let server = NewResource::new("Build server", "machine")
        .attribute("region", "eu-west-1")
        .attribute("team", "platform")
        .data(json!({"cpus": 8, "tags": ["ci", "linux"]}));
    // Sent with an Idempotency-Key: a retried create never makes two resources.
    let created = client.create(&server).await?;
    println!("created {} (version {})", created.id, created.version);
    Ok(())
}
