//! List the latest events and follow the live stream: `cargo run --example events`
use futures::TryStreamExt;
use tollgate_client::{Client, EventParams, StreamParams};

#[tokio::main]
async fn main() -> Result<(), tollgate_client::Error> {
    let client = Client::from_env()?;
    let page = client.events().list(&EventParams::new().r#type("resource.created").limit(2)).await?;
    for event in &page.items {
        println!("{} {} {}", event.id, event.r#type, event.timestamp);
    }
    let [newest, older] = &page.items[..] else { return Ok(()) };
    // Resumed after the older one: the newer one is replayed at once, then live events follow.
    // It reconnects by itself after a drop; a 410 (older than the retention) is ErrorKind::Gone.
    let mut stream = client.events().stream(StreamParams::new().r#type("resource.created").last_event_id(&older.id));
    if let Some(event) = stream.try_next().await? {
        println!("streamed {} about {}", event.id, event.data["id"]);
        assert_eq!(event.id, newest.id);
    }
    Ok(()) // dropping the stream closes its connection
}
