//! What the declarations look like to people: `tollgate config` (the effective value of every
//! setting and where it came from, secrets masked) and the README's settings table, which a
//! test keeps equal to [`markdown_table`].

use serde_json::{json, Map, Value};

use super::{Source, SETTINGS};
use crate::cli::Output;

/// Prints the effective configuration; `sources` is [`super::Loaded::sources`].
pub fn print(sources: &[(String, Source)], output: Output) {
    match output {
        Output::Json => {
            let settings: Map<String, Value> = SETTINGS
                .iter()
                .zip(sources)
                .map(|(s, (text, source))| {
                    let origin = match source {
                        Source::File(path) => Some(path.display().to_string()),
                        Source::Env(var) => Some(var.clone()),
                        Source::Default | Source::Flag => None,
                    };
                    let entry = json!({"value": s.display(text), "source": source.kind(), "origin": origin});
                    (s.name.to_owned(), entry)
                })
                .collect();
            println!("{}", Value::Object(settings));
        }
        Output::Table => {
            let width = SETTINGS.iter().map(|s| s.name.len()).max().unwrap_or(0);
            let shown: Vec<String> = SETTINGS.iter().zip(sources).map(|(s, (text, _))| s.display(text)).collect();
            let value_width = shown.iter().map(String::len).max().unwrap_or(0).min(48);
            for ((s, (_, source)), value) in SETTINGS.iter().zip(sources).zip(&shown) {
                let value = if value.is_empty() { "-" } else { value };
                println!("{:width$}  {value:value_width$}  {source}", s.name);
            }
        }
    }
}

/// The README's settings table, one row per setting, grouped by area.
#[cfg(test)]
pub fn markdown_table() -> String {
    let mut out =
        String::from("| Setting | Flag | Environment | Default | What it does |\n| --- | --- | --- | --- | --- |\n");
    let mut area = "";
    for s in SETTINGS {
        if s.area != area {
            area = s.area;
            out.push_str(&format!("| **{area}** | | | | |\n"));
        }
        let env = match s.secret {
            true => format!("`{}`, `{}_FILE`", s.env(), s.env()),
            false => format!("`{}`", s.env()),
        };
        let default = match s.default {
            "" => "unset".to_owned(),
            d => format!("`{d}`"),
        };
        out.push_str(&format!("| `{}` | `--{}` | {env} | {default} | {} |\n", s.name, s.flag(), s.doc));
    }
    out
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    const START: &str = "<!-- settings table: generated from crates/tollgate/src/config/mod.rs -->\n";
    const END: &str = "<!-- end of settings table -->";

    /// The README's table is the declarations': `UPDATE_README=1 cargo test -p tollgate readme`
    /// rewrites it after a setting changes.
    #[test]
    fn readme_settings_table_matches_the_declarations() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md");
        let readme = std::fs::read_to_string(path).expect("README.md");
        let start = readme.find(START).expect("the README's settings table start marker") + START.len();
        let end = start + readme[start..].find(END).expect("the README's settings table end marker");
        let table = markdown_table();
        if readme[start..end] != table {
            if std::env::var_os("UPDATE_README").is_some() {
                std::fs::write(path, format!("{}{table}{}", &readme[..start], &readme[end..])).expect("write");
                return;
            }
            panic!(
                "the README's settings table is out of date: run `UPDATE_README=1 cargo test -p tollgate readme`\n\
                 expected:\n{table}"
            );
        }
    }

    #[test]
    fn serve_help_lists_every_setting_with_its_doc() {
        // Built first: global flags (`--data-dir`) reach the subcommands when the command is built.
        let mut cli = crate::cli::Cli::command();
        cli.build();
        let help = cli.find_subcommand_mut("serve").expect("serve").render_long_help().to_string();
        let help = help.split_whitespace().collect::<Vec<_>>().join(" ");
        for s in SETTINGS {
            assert!(help.contains(&format!("--{}", s.flag())), "--{} missing from serve --help", s.flag());
            assert!(help.contains(&s.env()), "{} missing from serve --help", s.env());
            let doc = s.doc.split_whitespace().collect::<Vec<_>>().join(" ");
            assert!(help.contains(&doc), "the doc of {} missing from serve --help", s.name);
        }
    }
}
