//! The settings as command-line flags, made from the declarations: `--listen`, `--redis-url`...
//! on `serve` and `config`, and the `global` ones (`--data-dir`) on every command. A flag's
//! help is the setting's doc with its variable and default; a switch (`--debug`) alone means
//! `true`. Parsing is left to the loader, so a flag is checked exactly as the file and the
//! environment are.

use clap::parser::ValueSource;
use clap::{Arg, ArgMatches, Args, Command, FromArgMatches};

use super::{Setting, SETTINGS};

/// The settings given as flags: `(name, text)` in the order given. `GLOBAL` picks the global
/// settings (flattened into the top level) or the others (flattened into `serve` and `config`).
#[derive(Debug, Clone, Default)]
pub struct SettingFlags<const GLOBAL: bool> {
    /// The flags given.
    pub values: Vec<(&'static str, String)>,
}

/// The flags of every command.
pub type GlobalFlags = SettingFlags<true>;

impl<const GLOBAL: bool> SettingFlags<GLOBAL> {
    fn settings() -> impl Iterator<Item = &'static Setting> {
        SETTINGS.iter().filter(|s| s.global == GLOBAL)
    }
}

/// A setting's flag.
fn arg(setting: &Setting) -> Arg {
    let env = match setting.secret {
        true => format!("{} or {}_FILE", setting.env(), setting.env()),
        false => setting.env(),
    };
    let default = match setting.default {
        "" => String::new(),
        d => format!(" [default: {d}]"),
    };
    let arg = Arg::new(setting.name)
        .long(setting.flag())
        .value_name(setting.name.to_ascii_uppercase())
        .help(format!("{} [env: {env}]{default}", setting.doc))
        .help_heading(setting.area)
        .global(setting.global);
    match setting.switch() {
        true => arg.num_args(0..=1).require_equals(true).default_missing_value("true"),
        false => arg,
    }
}

impl<const GLOBAL: bool> Args for SettingFlags<GLOBAL> {
    fn augment_args(cmd: Command) -> Command {
        Self::settings().fold(cmd, |cmd, s| cmd.arg(arg(s)))
    }

    fn augment_args_for_update(cmd: Command) -> Command {
        Self::augment_args(cmd)
    }
}

impl<const GLOBAL: bool> FromArgMatches for SettingFlags<GLOBAL> {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        let mut values = Vec::new();
        for s in Self::settings() {
            if matches.value_source(s.name) == Some(ValueSource::CommandLine) {
                if let Ok(Some(v)) = matches.try_get_one::<String>(s.name) {
                    values.push((s.name, v.clone()));
                }
            }
        }
        Ok(Self { values })
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(matches)?;
        Ok(())
    }
}
