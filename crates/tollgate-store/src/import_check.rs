//! What `import` checks of every record before anything is written. An export file is as
//! untrusted as a request body: each record passes the API's own write rules (tollgate-core's
//! parsers, called here, never copied) and the integrity rules that only a file can break: an
//! id whose prefix is not its kind's, a time outside what the service writes and formats, a
//! version that later changes would overflow, a record of a project the file does not hold, an
//! id listed twice. Times need not be in order: each is `now()` on the node that handled the
//! request, so with several nodes a change on one whose clock is behind is stamped before the
//! record's creation, and a real export holds that. [`FileCheck`] runs them line by line, so that the CLI names the line; the
//! store's import runs the rules of each record again as it writes it.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};
use tollgate_auth::SecretKind;
use tollgate_core::credential::check_credential_name;
use tollgate_core::time_fmt::{from_unix_micros, is_stored_micros, rfc3339, FIRST_STORED_MICROS, LAST_STORED_MICROS};
use tollgate_core::{
    CredentialId, Limit, NewResource, ProjectId, ProjectName, Resource, ResourceId, Scopes, ValidationErrors,
};

use crate::export::{unhex, ExportCredential, ExportProject, ExportRecord};
use crate::projects::SETTINGS;
use crate::rows::RawResource;

/// The highest version an imported resource may have: 2^53, the largest integer that every
/// SDK's numbers (JavaScript's included) hold exactly, and so far below `i64::MAX` that no
/// number of later changes can overflow it.
pub const MAX_IMPORTED_VERSION: i64 = 1 << 53;

/// A project: its id, its name (as every path that creates a project checks it) and its time.
pub fn check_project(p: &ExportProject) -> Result<(), ValidationErrors> {
    let mut errors = ValidationErrors::new();
    if !ProjectId::is_valid(&p.id) {
        errors.add("id", id_reason(ProjectId::PREFIX));
    }
    if let Err(e) = ProjectName::parse(&p.name) {
        errors.add("name", e);
    }
    time(&mut errors, "created_at", Some(p.created_at));
    errors.into_result(())
}

/// A setting: one of [`SETTINGS`], with its value.
pub fn check_setting(key: &str, value: &str) -> Result<(), ValidationErrors> {
    match SETTINGS.iter().find(|(k, _)| *k == key) {
        None => {
            let known: Vec<&str> = SETTINGS.iter().map(|(k, _)| *k).collect();
            Err(ValidationErrors::single("key", format!("is not a setting (known: {})", known.join(", "))))
        }
        Some((_, v)) if *v != value => Err(ValidationErrors::single("value", format!("must be {v:?}"))),
        Some(_) => Ok(()),
    }
}

/// A credential with its secrets' digests: what creating it through the API checks (name,
/// scopes, limits), and that its id, kind and hint agree.
pub fn check_credential(c: &ExportCredential) -> Result<(), ValidationErrors> {
    let (mut errors, row) = (ValidationErrors::new(), &c.row);
    match CredentialId::parse(&row.id) {
        None => {
            errors.add("id", "must be key_ and a ULID (an API key) or tgc_ and 24 base62 characters (an OAuth client)")
        }
        Some(id) => {
            let (kind, secret) = (id.kind(), SecretKind::from(id.kind()));
            if c.kind != kind.as_str() {
                errors.add("kind", format!("must be {} for the id {}", kind.as_str(), row.id));
            }
            if !secret.is_hint(&row.hint) {
                errors.add("hint", format!("must be {}... and the secret's last four characters", secret.prefix()));
            }
        }
    }
    if !ProjectId::is_valid(&row.project_id) {
        errors.add("project_id", id_reason(ProjectId::PREFIX));
    }
    if let Err(e) = check_credential_name(&row.name) {
        errors.add("name", e);
    }
    if let Err(e) = Scopes::parse(&row.scopes) {
        errors.add("scopes", e);
    }
    for (field, limit) in [("limit_read", &row.limit_read), ("limit_write", &row.limit_write)] {
        if let Some(Err(e)) = limit.as_deref().map(Limit::parse) {
            errors.add(field, e);
        }
    }
    let times = [
        ("created_at", Some(row.created_at)),
        ("rotated_at", Some(row.rotated_at)),
        ("expires_at", row.expires_at),
        ("last_used_at", row.last_used_at),
        ("revoked_at", row.revoked_at),
    ];
    for (field, t) in times {
        time(&mut errors, field, t);
    }
    for (i, s) in c.secrets.iter().enumerate() {
        if digest(&s.digest).is_none() {
            errors.add(format!("secrets[{i}].digest"), "must be 64 hex characters");
        }
        time(&mut errors, &format!("secrets[{i}].created_at"), Some(s.created_at));
        time(&mut errors, &format!("secrets[{i}].expires_at"), s.expires_at);
    }
    errors.into_result(())
}

/// A secret's digest as stored: the 32 bytes of 64 hex characters.
pub fn digest(hex: &str) -> Option<Vec<u8>> {
    unhex(hex).filter(|d| d.len() == 32)
}

/// A resource as the API would have written it: its content read by [`NewResource::parse_owned`]
/// (so `data` is kept as the compact text the API writes), its ids, times and version checked.
/// Fields are named as the file names them (`resource_type`, not the API's `type`).
pub fn checked_resource(raw: &RawResource) -> Result<Resource, ValidationErrors> {
    let mut errors = ValidationErrors::new();
    let id = ResourceId::parse(raw.id());
    if id.is_none() {
        errors.add("id", id_reason(ResourceId::PREFIX));
    }
    let project_id = ProjectId::parse(raw.project_id());
    if project_id.is_none() {
        errors.add("project_id", id_reason(ProjectId::PREFIX));
    }
    let content = content(raw, &mut errors);
    time(&mut errors, "created_at", Some(raw.created_at));
    time(&mut errors, "updated_at", Some(raw.updated_at));
    if !(1..=MAX_IMPORTED_VERSION).contains(&raw.version) {
        errors.add("version", format!("must be 1 to 2^53 ({MAX_IMPORTED_VERSION})"));
    }
    match (id, project_id, content) {
        (Some(id), Some(project_id), Some(content)) if errors.is_empty() => Ok(Resource {
            id,
            project_id,
            content,
            created_at: from_unix_micros(raw.created_at),
            updated_at: from_unix_micros(raw.updated_at),
            version: raw.version,
        }),
        _ => Err(errors),
    }
}

/// The resource's content, read as a create body is.
fn content(raw: &RawResource, errors: &mut ValidationErrors) -> Option<NewResource> {
    let mut body = Map::new();
    body.insert("name".into(), raw.name().into());
    body.insert("type".into(), raw.kind().into());
    body.insert("status".into(), raw.status().into());
    match serde_json::from_str::<Value>(raw.attributes()) {
        Ok(v) => drop(body.insert("attributes".into(), v)),
        Err(_) => errors.add("attributes", "must be a JSON object of strings"),
    }
    match serde_json::from_str::<Value>(raw.data()) {
        Ok(v) => drop(body.insert("data".into(), v)),
        Err(_) => errors.add("data", "must be JSON text"),
    }
    NewResource::parse_owned(Value::Object(body))
        .map_err(|e| {
            for (field, reason) in e.fields() {
                errors.add(if field == "type" { "resource_type" } else { field }, reason);
            }
        })
        .ok()
}

fn id_reason(prefix: &str) -> String {
    format!("must be {prefix} and a ULID")
}

/// Refuses `t` unless it is a time Tollgate could have stored (see [`is_stored_micros`]).
fn time(errors: &mut ValidationErrors, field: &str, t: Option<i64>) {
    if t.is_some_and(|t| !is_stored_micros(t)) {
        let (first, last) = (FIRST_STORED_MICROS, LAST_STORED_MICROS);
        let span = format!("{} to {}", rfc3339(from_unix_micros(first)), rfc3339(from_unix_micros(last)));
        errors.add(field, format!("must be a time from {span} ({first} to {last} microseconds since the epoch)"));
    }
}

/// The rules of a file read line by line: each record's own, every id (and project name,
/// setting and secret digest) at most once, and every credential and resource in a project
/// listed before it (as an export writes them).
#[derive(Debug, Default)]
pub struct FileCheck {
    /// What was seen, each with its line.
    seen: HashMap<String, usize>,
    /// The projects' ids.
    projects: HashSet<String>,
}

impl FileCheck {
    /// Checks `r`, on line `line`, against its own rules and the lines before it.
    pub fn record(&mut self, line: usize, r: &ExportRecord) -> Result<(), ValidationErrors> {
        let mut errors = match r {
            ExportRecord::Project(p) => check_project(p),
            ExportRecord::Setting { key, value } => check_setting(key, value),
            ExportRecord::Credential(c) => check_credential(c),
            ExportRecord::Resource(raw) => checked_resource(raw).map(drop),
            ExportRecord::Header { .. } | ExportRecord::Footer { .. } => Ok(()),
        }
        .err()
        .unwrap_or_default();
        match r {
            ExportRecord::Project(p) => {
                self.once(&mut errors, line, "id", &p.id);
                self.once(&mut errors, line, "name", &format!("project name {}", p.name));
                self.projects.insert(p.id.clone());
            }
            ExportRecord::Setting { key, .. } => self.once(&mut errors, line, "key", &format!("setting {key}")),
            ExportRecord::Credential(c) => {
                self.once(&mut errors, line, "id", &c.row.id);
                self.in_project(&mut errors, &c.row.project_id);
                for (i, s) in c.secrets.iter().enumerate() {
                    self.once(&mut errors, line, &format!("secrets[{i}].digest"), &format!("digest {}", s.digest));
                }
            }
            ExportRecord::Resource(raw) => {
                self.once(&mut errors, line, "id", raw.id());
                self.in_project(&mut errors, raw.project_id());
            }
            ExportRecord::Header { .. } | ExportRecord::Footer { .. } => {}
        }
        errors.into_result(())
    }

    /// Refuses `what` if an earlier line had it.
    fn once(&mut self, errors: &mut ValidationErrors, line: usize, field: &str, what: &str) {
        if let Some(first) = self.seen.get(what) {
            errors.add(field, format!("is also on line {first}: each may be in a file once"));
        } else {
            self.seen.insert(what.to_owned(), line);
        }
    }

    fn in_project(&self, errors: &mut ValidationErrors, project: &str) {
        if !self.projects.contains(project) {
            errors.add("project_id", "names no project listed before it in the file");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rows::ResourceFields;

    fn resource() -> ResourceFields {
        ResourceFields {
            id: "res_01ARZ3NDEKTSV4RRFFQ69G5FAV".into(),
            project_id: "prj_01ARZ3NDEKTSV4RRFFQ69G5FAV".into(),
            name: "n".into(),
            kind: "widget".into(),
            status: "active".into(),
            attributes: r#"{"a":"b"}"#.into(),
            data: r#"{ "n" : 1 }"#.into(),
            created_at: 1_700_000_000_000_000,
            updated_at: 1_700_000_000_000_000,
            version: 1,
        }
    }

    fn refused(change: impl FnOnce(&mut ResourceFields)) -> Vec<String> {
        let mut f = resource();
        change(&mut f);
        checked_resource(&f.into()).unwrap_err().fields().keys().cloned().collect()
    }

    #[test]
    fn a_resource_is_read_as_the_api_reads_it() {
        let r = checked_resource(&resource().into()).unwrap();
        assert_eq!(r.content.data.text(), r#"{"n":1}"#, "data is kept as the API writes it");
        assert_eq!(refused(|f| f.name = String::new()), ["name"]);
        assert_eq!(refused(|f| f.kind = "Bad Type!".into()), ["resource_type"]);
        assert_eq!(refused(|f| f.attributes = r#"{"a b":"x","":"y"}"#.into()), ["attributes.", "attributes.a b"]);
        assert_eq!(refused(|f| f.data = format!("\"{}\"", "x".repeat(300 * 1024))), ["data"]);
        assert_eq!(refused(|f| f.version = i64::MAX), ["version"]);
        assert_eq!(refused(|f| f.version = 0), ["version"]);
        assert_eq!(refused(|f| f.created_at = 1 << 62), ["created_at"]);
        // A change on a node whose clock is behind is stamped before the creation.
        let mut skewed = resource();
        skewed.updated_at = skewed.created_at - 3_000;
        assert!(checked_resource(&skewed.into()).is_ok());
        assert_eq!(refused(|f| f.id = "key_01ARZ3NDEKTSV4RRFFQ69G5FAV".into()), ["id"]);
        assert_eq!(refused(|f| f.status = "gone".into()), ["status"]);
    }

    #[test]
    fn settings_are_the_known_ones() {
        assert!(check_setting("bootstrapped", "true").is_ok());
        assert!(check_setting("bootstrapped", "false").is_err());
        assert!(check_setting("", "true").is_err());
    }
}
