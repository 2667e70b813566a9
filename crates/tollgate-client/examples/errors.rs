//! Handle errors and rate limits: `cargo run --example errors`
use std::process::ExitCode;

use tollgate_client::{Client, ErrorKind};

#[tokio::main]
async fn main() -> ExitCode {
    let client = match Client::from_env() {
        Ok(client) => client,
        Err(e) => {
            eprintln!("configuration: {e}");
            return ExitCode::FAILURE;
        }
    };
    // 429s, 5xx and dropped connections were already retried with backoff; what is left is
    // for the caller to decide.
    match client.get("res_01JD3Z9T6W4X8Y2K5M7N9P1Q3R").await {
        Ok(resource) => println!("found {}", resource.name),
        Err(e) => match e.kind() {
            ErrorKind::NotFound => println!("not found: {} (request {})", e, e.request_id().unwrap_or("-")),
            ErrorKind::RateLimit => println!("rate limited: retry in {:?}", e.retry_after()),
            ErrorKind::Authentication => {
                eprintln!("check TOLLGATE_API_KEY: {e}");
                return ExitCode::FAILURE;
            }
            ErrorKind::Permission => {
                eprintln!("missing scope: {}", e.api().map(|a| a.details.to_string()).unwrap_or_default());
                return ExitCode::FAILURE;
            }
            _ => {
                eprintln!("failed: {e}");
                return ExitCode::FAILURE;
            }
        },
    }
    ExitCode::SUCCESS
}
