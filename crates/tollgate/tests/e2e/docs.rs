//! Docs are code: every ```` ```bash doctest ```` block of the README runs, in order, in one
//! shell, against a live server, with `tollgate` on the PATH.

use std::path::Path;
use std::process::Command;

use crate::{bin, server};

/// The blocks of `markdown` whose fence reads ```` ```bash doctest ````, in order.
pub fn doctest_blocks(markdown: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<Vec<&str>> = None;
    for line in markdown.lines() {
        match current.as_mut() {
            None if line.trim_start().starts_with("```bash doctest") => current = Some(Vec::new()),
            Some(_) if line.trim_start().starts_with("```") => blocks.push(current.take().unwrap().join("\n")),
            Some(lines) => lines.push(line),
            None => {}
        }
    }
    blocks
}

#[tokio::test]
async fn readme_examples_run() {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md")).unwrap();
    let blocks = doctest_blocks(&readme);
    assert!(blocks.len() >= 5, "found only {} doctest blocks", blocks.len());
    let s = server().await;
    let work = tollgate_testkit::private_tempdir();
    let bin_dir = Path::new(bin()).parent().unwrap();
    let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap_or_default());
    let script = blocks.join("\n");
    let mut cmd = Command::new("bash");
    if let Some(url) = s.database_url() {
        cmd.env("TOLLGATE_DATABASE_URL", url);
    }
    let out = cmd
        .args(["-euo", "pipefail", "-c", &script])
        .current_dir(work.path())
        .env("PATH", path)
        .env("TOLLGATE_ENDPOINT", &s.base_url)
        .env("TOLLGATE_API_KEY", &s.admin_key)
        .env("TOLLGATE_DATA_DIR", s.data_dir())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "README examples failed\n--- stdout\n{}\n--- stderr\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
