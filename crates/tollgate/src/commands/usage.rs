//! `tollgate usage`: quota use per credential, most used first, marking those above the
//! integration guide's warning (80%) and alert (90%) thresholds. The counters live in the
//! server's limiter (its memory, or Redis), so this asks the server.

use anyhow::{anyhow, Context};
use serde_json::Value;

use super::credentials::print_table;
use crate::cli::{Output, UsageArgs};
use crate::config::Config;

/// Runs `usage`.
pub async fn run(config: &Config, args: UsageArgs) -> anyhow::Result<i32> {
    let url = endpoint(args.endpoint, config);
    let response = reqwest::Client::new()
        .get(format!("{url}/v1/usage/credentials"))
        .header("x-api-key", &args.api_key)
        .send()
        .await
        .with_context(|| format!("asking the server at {url}"))?;
    let status = response.status();
    let body: Value = response.json().await.context("reading the server's answer")?;
    if !status.is_success() {
        return Err(anyhow!("the server answered {status}: {}", body["error"]["message"]));
    }
    if args.output == Output::Json {
        println!("{body}");
        return Ok(0);
    }
    let cell = |v: &Value| match v["limit"].as_u64() {
        Some(limit) => format!("{}/{} ({:.0}%)", v["used"], limit, v["ratio"].as_f64().unwrap_or(0.0) * 100.0),
        None => "unlimited".into(),
    };
    let mut rows = vec![["CREDENTIAL", "NAME", "READ", "WRITE", "LEVEL"].map(String::from)];
    for item in body["items"].as_array().into_iter().flatten() {
        let level = match item["level"].as_str() {
            Some("alert") => "ALERT (>90%)",
            Some("warning") => "warning (>80%)",
            _ => "ok",
        };
        rows.push([
            item["credential"].as_str().unwrap_or("").to_owned(),
            item["name"].as_str().unwrap_or("").to_owned(),
            cell(&item["read"]),
            cell(&item["write"]),
            level.to_owned(),
        ]);
    }
    print_table(&rows);
    Ok(0)
}

/// `--endpoint` / `TOLLGATE_ENDPOINT`, else the deprecated `TOLLGATE_URL` (with a warning), else
/// the configured listen address; without a trailing `/` or `/v1`, as the SDKs take it.
fn endpoint(given: Option<String>, config: &Config) -> String {
    let deprecated = || {
        let url = std::env::var("TOLLGATE_URL").ok().filter(|v| !v.is_empty())?;
        eprintln!(
            "warning: TOLLGATE_URL is deprecated and goes away in the next minor release; set TOLLGATE_ENDPOINT \
             instead (CHANGELOG.md, \"Deprecated\")"
        );
        Some(url)
    };
    let url = given.or_else(deprecated).unwrap_or_else(|| format!("http://{}", config.listen));
    let url = url.trim().trim_end_matches('/');
    url.strip_suffix("/v1").unwrap_or(url).to_owned()
}
