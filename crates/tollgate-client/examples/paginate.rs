//! Page through every resource of a type: `cargo run --example paginate`
use futures::TryStreamExt;
use tollgate_client::{Client, ListParams};

#[tokio::main]
async fn main() -> Result<(), tollgate_client::Error> {
    let client = Client::from_env()?;
    // One page of 100 at a time, following next_cursor until the last page.
    let mut machines = client.list_all(ListParams::new().r#type("machine").per_page(100));
    let mut count = 0;
    while let Some(resource) = machines.try_next().await? {
        count += 1;
        println!("{} {}", resource.id, resource.name);
    }
    println!("{count} machines");
    Ok(())
}
