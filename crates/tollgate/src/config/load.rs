//! The layers: each setting's text comes from the highest of flag > `TOLLGATE_*` environment
//! (or `TOLLGATE_*_FILE` for secrets) > `tollgate.toml` > default, and is then parsed by its
//! declaration. Every error starts with "invalid configuration" and names the setting.

use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::anyhow;

use super::{Config, Setting, SETTINGS};
use crate::cli::{Cli, Command};

/// Where a setting's value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// Its declaration's default.
    Default,
    /// The configuration file.
    File(PathBuf),
    /// This environment variable (`TOLLGATE_*`, or `TOLLGATE_*_FILE` naming a file).
    Env(String),
    /// A command-line flag.
    Flag,
}

impl Source {
    /// `default`, `file`, `env` or `flag`.
    pub fn kind(&self) -> &'static str {
        match self {
            Source::Default => "default",
            Source::File(_) => "file",
            Source::Env(_) => "env",
            Source::Flag => "flag",
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::File(path) => write!(f, "file {}", path.display()),
            Source::Env(var) => write!(f, "env {var}"),
            other => f.write_str(other.kind()),
        }
    }
}

/// The configuration and, per setting in [`SETTINGS`] order, the text it was parsed from and
/// where that came from (for `tollgate config`).
pub struct Loaded {
    /// The validated settings.
    pub config: Config,
    /// `(text, source)` per setting.
    pub sources: Vec<(String, Source)>,
}

/// Loads the layers for `cli`.
pub fn load(cli: &Cli) -> anyhow::Result<Loaded> {
    let file = read_file(cli.config.as_deref())?;
    let mut flags = cli.globals.values.clone();
    if let Command::Serve(args) = &cli.command {
        flags.extend(args.settings.values.iter().cloned());
    }
    if let Command::Config(args) = &cli.command {
        flags.extend(args.settings.values.iter().cloned());
    }
    let mut sources = Vec::with_capacity(SETTINGS.len());
    for setting in SETTINGS {
        let flag = flags.iter().rev().find(|(name, _)| *name == setting.name).map(|(_, v)| (v.clone(), Source::Flag));
        let chosen = match flag {
            Some(chosen) => chosen,
            None => match from_env(setting)? {
                Some(chosen) => chosen,
                None => match file.as_ref().map(|(path, table)| from_file(setting, path, table)).transpose()? {
                    Some(Some(chosen)) => chosen,
                    _ => (setting.default.to_owned(), Source::Default),
                },
            },
        };
        sources.push(chosen);
    }
    let texts: Vec<String> = sources.iter().map(|(text, _)| text.clone()).collect();
    let config = Config::parse(&texts).map_err(|(name, reason)| {
        let i = SETTINGS.iter().position(|s| s.name == name).expect("a declared setting");
        let (text, source) = &sources[i];
        anyhow!("invalid configuration: `{name}` = {:?} (from {source}): {reason}", SETTINGS[i].display(text))
    })?;
    config.webhook_proxy_url().map_err(|e| anyhow!("invalid configuration: `webhook_proxy`: {e}"))?;
    Ok(Loaded { config, sources })
}

/// `TOLLGATE_X`, or for a secret the trimmed content of the file `TOLLGATE_X_FILE` names.
fn from_env(setting: &Setting) -> anyhow::Result<Option<(String, Source)>> {
    let var = setting.env();
    let value = read_var(&var)?;
    if !setting.secret {
        return Ok(value.map(|v| (v, Source::Env(var))));
    }
    let file_var = format!("{var}_FILE");
    match (value, read_var(&file_var)?) {
        (Some(_), Some(_)) => {
            Err(anyhow!("invalid configuration: `{}`: both {var} and {file_var} are set; keep one", setting.name))
        }
        (Some(v), None) => Ok(Some((v, Source::Env(var)))),
        (None, Some(path)) => match std::fs::read_to_string(&path) {
            Ok(text) => Ok(Some((text.trim().to_owned(), Source::Env(file_var)))),
            Err(e) => Err(anyhow!("invalid configuration: `{}`: cannot read {file_var} = {path:?}: {e}", setting.name)),
        },
        (None, None) => Ok(None),
    }
}

fn read_var(var: &str) -> anyhow::Result<Option<String>> {
    match std::env::var(var) {
        Ok(v) => Ok(Some(v)),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => Err(anyhow!("invalid configuration: {var} is not UTF-8")),
    }
}

/// The file's text for `setting`: strings as written, numbers and booleans as text.
fn from_file(setting: &Setting, path: &Path, table: &toml::Table) -> anyhow::Result<Option<(String, Source)>> {
    let text = match table.get(setting.name) {
        None => return Ok(None),
        Some(toml::Value::String(s)) => s.clone(),
        Some(toml::Value::Integer(n)) => n.to_string(),
        Some(toml::Value::Boolean(b)) => b.to_string(),
        Some(other) => {
            return Err(anyhow!(
                "invalid configuration: `{}` in {} must be a string, a number or a boolean, not {}",
                setting.name,
                path.display(),
                other.type_str()
            ))
        }
    };
    Ok(Some((text, Source::File(path.to_owned()))))
}

/// `--config PATH` (which must exist), else `./tollgate.toml` when it exists. Unknown keys are
/// refused: a misspelt setting must not be silently ignored.
fn read_file(explicit: Option<&Path>) -> anyhow::Result<Option<(PathBuf, toml::Table)>> {
    let path = match explicit {
        Some(path) if !path.exists() => {
            return Err(anyhow!("invalid configuration: config file {} does not exist", path.display()))
        }
        Some(path) => path.to_owned(),
        None if Path::new("tollgate.toml").exists() => PathBuf::from("tollgate.toml"),
        None => return Ok(None),
    };
    let text = std::fs::read_to_string(&path)
        .map_err(|e| anyhow!("invalid configuration: cannot read {}: {e}", path.display()))?;
    let table: toml::Table =
        toml::from_str(&text).map_err(|e| anyhow!("invalid configuration: {}: {e}", path.display()))?;
    if let Some(unknown) = table.keys().find(|key| !SETTINGS.iter().any(|s| s.name == key.as_str())) {
        return Err(anyhow!("invalid configuration: unknown setting `{unknown}` in {}", path.display()));
    }
    Ok(Some((path, table)))
}
