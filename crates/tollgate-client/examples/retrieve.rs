//! Retrieve a resource by id: `cargo run --example retrieve -- res_...`
use tollgate_client::Client;

#[tokio::main]
async fn main() -> Result<(), tollgate_client::Error> {
    // TOLLGATE_ENDPOINT and TOLLGATE_API_KEY come from the environment.
    let client = Client::from_env()?;
    let id = std::env::args().nth(1).or_else(|| std::env::var("RESOURCE_ID").ok()).expect("a resource id");
    let resource = client.get(&id).await?;
    println!("{} {} ({}) version {}", resource.id, resource.name, resource.r#type, resource.version);
    println!("attributes: {:?}", resource.attributes);
    Ok(())
}
