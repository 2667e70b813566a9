//! `tollgate export` and `tollgate import`: move data between installations and backends as
//! JSON Lines (see `tollgate_store::export`). Import checks the whole file first (every line
//! parses, header first, footer last with matching counts, and every record passes the rules
//! the API applies to the same write, see `tollgate_store::import_check`) and then writes it in
//! one transaction, so a truncated, corrupted or crafted file writes nothing.

use std::io::{BufRead, BufReader, BufWriter, Read, Write};

use anyhow::{anyhow, Context};
use indicatif::{ProgressBar, ProgressStyle};
use tollgate_core::time_fmt::{now, rfc3339};
use tollgate_store::export::{Counts, ExportRecord, FORMAT, VERSION};
use tollgate_store::import_check::FileCheck;

use super::credentials::{open_store, project_named};
use crate::cli::{ExportArgs, ImportArgs};
use crate::config::Config;

const PAGE: u32 = 1000;
/// A page of resources of up to about 1 KiB each (a bigger page grows its buffer).
const PAGE_BYTES: usize = 1 << 20;

fn summary(c: &Counts) -> String {
    format!(
        "{} projects, {} settings, {} credentials, {} resources",
        c.projects, c.settings, c.credentials, c.resources
    )
}

/// Runs `export`.
pub async fn export(config: &Config, args: ExportArgs) -> anyhow::Result<i32> {
    let store = open_store(config).await?;
    let project = match &args.project {
        Some(name) => Some(project_named(store.as_ref(), name).await?),
        None => None,
    };
    let sink: Box<dyn Write> = match &args.output {
        Some(path) => Box::new(private_file(path).with_context(|| format!("creating {}", path.display()))?),
        None => Box::new(std::io::stdout().lock()),
    };
    let mut out = BufWriter::new(sink);
    let progress =
        ProgressBar::new_spinner().with_style(ProgressStyle::with_template("{spinner} exported {pos} records")?);
    let mut counts = Counts::default();
    let header = ExportRecord::Header {
        format: FORMAT.into(),
        version: VERSION,
        exported_at: rfc3339(now()),
        project: project.as_ref().map(|p| p.name.clone()),
    };
    write_record(&mut out, &header, &mut counts)?;
    let project_id = project.as_ref().map(|p| p.id);
    for r in store.export_meta(project_id).await? {
        write_record(&mut out, &r, &mut counts)?;
        progress.inc(1);
    }
    // Resources are nearly all of an export: the store writes each page's lines as it reads
    // the rows (see `tollgate_store::export_line`), into one buffer handed back page after
    // page (made at the size of a page of typical rows, so that the first page does not copy
    // itself as it grows), and the progress moves once per page.
    let (mut after, mut buffer) = (None, Vec::with_capacity(PAGE_BYTES));
    loop {
        let page = store.export_resources(project_id, after.take(), PAGE, buffer).await?;
        out.write_all(&page.text)?;
        counts.resources += page.count as u64;
        progress.inc(page.count as u64);
        if page.count < PAGE as usize {
            break;
        }
        (after, buffer) = (page.last_id, page.text);
    }
    write_record(&mut out, &ExportRecord::Footer { counts }, &mut Counts::default())?;
    out.flush()?;
    progress.finish_and_clear();
    eprintln!("exported {}", summary(&counts));
    Ok(0)
}

/// Writes one record as a line, counted.
fn write_record(out: &mut impl Write, r: &ExportRecord, counts: &mut Counts) -> anyhow::Result<()> {
    counts.add(r);
    serde_json::to_writer(&mut *out, r)?;
    out.write_all(b"\n")?;
    Ok(())
}

/// Runs `import`.
pub async fn import(config: &Config, args: ImportArgs) -> anyhow::Result<i32> {
    let (reader, size): (Box<dyn Read>, u64) = match args.file.as_deref() {
        Some(p) if p.as_os_str() != "-" => {
            let f = std::fs::File::open(p).with_context(|| format!("opening {}", p.display()))?;
            let size = f.metadata().map(|m| m.len()).unwrap_or(0);
            (Box::new(f), size)
        }
        _ => (Box::new(std::io::stdin().lock()), 0),
    };
    let records = read_records(BufReader::new(reader), size)?;
    let store = open_store(config).await?;
    let imported = store.import(records).await.context("importing (nothing was written)")?;
    eprintln!("imported {}", summary(&imported.counts));
    for k in &imported.kept {
        eprintln!("kept this installation's later state of {}: {}", k.credential, k.kept.join(", "));
    }
    Ok(0)
}

/// An export holds every credential's digest and every tenant's data: it is created readable by
/// this user alone, whatever the umask (and an existing file is truncated and restricted).
fn private_file(path: &std::path::Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let file = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(path)?;
    file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    Ok(file)
}

/// Parses and checks a whole export; errors name the line.
fn read_records(reader: impl BufRead, size: u64) -> anyhow::Result<Vec<ExportRecord>> {
    let progress = ProgressBar::new(size)
        .with_style(ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} checking the file")?);
    let mut records = Vec::new();
    let mut counts = Counts::default();
    let mut footer = None;
    let mut check = FileCheck::default();
    for (i, line) in reader.lines().enumerate() {
        let n = i + 1;
        let line = line.with_context(|| format!("line {n}: could not be read"))?;
        progress.inc(line.len() as u64 + 1);
        if footer.is_some() {
            return Err(anyhow!("line {n}: data after the footer; the file is corrupted"));
        }
        let record: ExportRecord =
            serde_json::from_str(&line).map_err(|e| anyhow!("line {n}: not a valid export record: {e}"))?;
        match (&record, n) {
            (ExportRecord::Header { format, version, .. }, 1) => {
                if format != FORMAT || *version != VERSION {
                    return Err(anyhow!("line 1: a {format} v{version} file; this Tollgate reads {FORMAT} v{VERSION}"));
                }
            }
            (_, 1) => return Err(anyhow!("line 1: the file does not start with an export header")),
            (ExportRecord::Header { .. }, _) => return Err(anyhow!("line {n}: a second header")),
            (ExportRecord::Footer { counts: expected }, _) => {
                if *expected != counts {
                    return Err(anyhow!(
                        "line {n}: the footer counts {} but the file holds {}; the file is corrupted",
                        summary(expected),
                        summary(&counts)
                    ));
                }
                footer = Some(n);
            }
            // Checked here, before the store sees anything, so that the error names the line.
            _ => {
                check.record(n, &record).map_err(|e| {
                    anyhow!(
                        "line {n}: {}: {}; nothing was imported",
                        printable(&what(&record)),
                        printable(&e.to_string())
                    )
                })?;
                counts.add(&record);
            }
        }
        records.push(record);
    }
    progress.finish_and_clear();
    if footer.is_none() {
        let last = records.len();
        return Err(anyhow!("line {last}: the file ends without its footer; it is truncated, nothing was imported"));
    }
    Ok(records)
}

/// The record a refusal is about: its type and id.
fn what(r: &ExportRecord) -> String {
    match r {
        ExportRecord::Project(p) => format!("project {}", p.id),
        ExportRecord::Setting { key, .. } => format!("setting {key}"),
        ExportRecord::Credential(c) => format!("{} {}", c.kind, c.row.id),
        ExportRecord::Resource(raw) => format!("resource {}", raw.id()),
        ExportRecord::Header { .. } | ExportRecord::Footer { .. } => "record".into(),
    }
}

/// `text`, from a file that may have been made to be hostile, safe to print: control
/// characters escaped and at most 500 characters.
fn printable(text: &str) -> String {
    tollgate_core::text::printable(text, 500)
}
