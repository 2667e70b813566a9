//! The command line: `tollgate serve`, `tollgate config` and the credential commands. The
//! settings' flags and their `--help` text come from the settings' declarations
//! ([`crate::config`]).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::config::flags::{GlobalFlags, SettingFlags};

/// Tollgate: typed resources behind a REST API, with API keys.
#[derive(Debug, Parser)]
#[command(name = "tollgate", version, about)]
pub struct Cli {
    /// Configuration file (TOML). Default: ./tollgate.toml when it exists.
    #[arg(long, global = true, env = "TOLLGATE_CONFIG")]
    pub config: Option<PathBuf>,

    /// The settings every command accepts as flags (`--data-dir`).
    #[command(flatten)]
    pub globals: GlobalFlags,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server.
    Serve(ServeArgs),
    /// Print the effective configuration: every setting, its value and where it came from
    /// (default, file, env or flag), secrets masked. Exits 2 when a setting is invalid.
    Config(ConfigArgs),
    /// Create, list, rotate, revoke and verify API keys (works whether or not the server runs).
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Create, list, rotate and revoke OAuth 2.0 clients.
    #[command(subcommand)]
    Clients(ClientsCommand),
    /// Create and list projects.
    #[command(subcommand)]
    Projects(ProjectsCommand),
    /// Rotate and list the JWT signing keys.
    #[command(subcommand)]
    SigningKeys(SigningKeysCommand),
    /// Register, list, delete and test webhook endpoints; list and replay deliveries.
    #[command(subcommand)]
    Webhooks(WebhooksCommand),
    /// Resource types: JSON Schemas for `data` and attribute rules, checked on every write.
    #[command(subcommand)]
    Types(TypesCommand),
    /// Print the OpenAPI 3.1 document (what /openapi.json serves).
    Openapi,
    /// Write projects, settings, keys and clients (digests only) and resources as JSON Lines.
    Export(ExportArgs),
    /// Read an export into this backend in one transaction (idempotent).
    Import(ImportArgs),
    /// Quota use of every credential of the admin key's project, most used first (asks the
    /// running server, whose limiter holds the counters).
    Usage(UsageArgs),
    /// Delete what is past retention now (events, finished webhook deliveries and attempts,
    /// expired idempotency records and denylisted token ids); `--dry-run` only counts it.
    Prune(PruneArgs),
}

/// Flags of `prune`.
#[derive(Debug, Args)]
pub struct PruneArgs {
    /// Count what would be deleted, and delete nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// Flags of `serve`: every setting.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The settings, as flags.
    #[command(flatten)]
    pub settings: SettingFlags<false>,
}

/// Flags of `config`: every setting, as for `serve`, and the output format.
#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// The settings, as flags.
    #[command(flatten)]
    pub settings: SettingFlags<false>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Output::Table)]
    pub output: Output,
}

/// Log output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Pretty on a terminal, JSON otherwise.
    Auto,
    /// One JSON object per line.
    Json,
    /// Human-readable.
    Pretty,
}

/// `tollgate keys ...`.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create a key and print its secret once.
    Create(CreateArgs),
    /// List keys with their state and rotation status.
    List(ListArgs),
    /// Give a key a new secret; the old one keeps working for the grace period.
    Rotate(RotateArgs),
    /// Revoke a key at once.
    Revoke(RevokeArgs),
    /// Change a key's own rate limits.
    Update(UpdateArgs),
    /// Check a key read from stdin or TOLLGATE_API_KEY; exit 0 when valid, 1 when not.
    Verify,
}

/// `tollgate clients ...`: OAuth 2.0 clients (client credentials grant).
#[derive(Debug, Subcommand)]
pub enum ClientsCommand {
    /// Create a client and print its client_id and client_secret once.
    Create(CreateArgs),
    /// List clients with their state and rotation status.
    List(ListArgs),
    /// Give a client a new secret; the old one keeps working for the grace period.
    Rotate(RotateArgs),
    /// Revoke a client at once; its access tokens stop working with it.
    Revoke(RevokeArgs),
    /// Change a client's own rate limits.
    Update(UpdateArgs),
}

/// `tollgate types ...`.
#[derive(Debug, Subcommand)]
pub enum TypesCommand {
    /// Register a type from a definition file (`{"schema", "attributes", "description"}`).
    Create {
        /// The type's name (the `type` of its resources).
        name: String,
        /// A JSON file holding the definition.
        #[arg(long)]
        schema: PathBuf,
        /// Project.
        #[arg(long, default_value = "default")]
        project: String,
    },
    /// List the project's types (JSON).
    List {
        /// Project.
        #[arg(long, default_value = "default")]
        project: String,
    },
    /// Print one type (JSON).
    Get {
        /// The type's name.
        name: String,
        /// Project.
        #[arg(long, default_value = "default")]
        project: String,
    },
    /// Give a type a new definition (its next version).
    Update {
        /// The type's name.
        name: String,
        /// A JSON file holding the definition.
        #[arg(long)]
        schema: PathBuf,
        /// Project.
        #[arg(long, default_value = "default")]
        project: String,
    },
    /// Remove a type (refused while resources of it exist).
    Delete {
        /// The type's name.
        name: String,
        /// Project.
        #[arg(long, default_value = "default")]
        project: String,
    },
}

/// `tollgate webhooks ...`.
#[derive(Debug, Subcommand)]
pub enum WebhooksCommand {
    /// Register an endpoint and print its signing secret once.
    Create {
        /// Where to POST events.
        #[arg(long)]
        url: String,
        /// Event types, comma-separated (default: all resource events).
        #[arg(long)]
        events: Option<String>,
        /// Project.
        #[arg(long, default_value = "default")]
        project: String,
    },
    /// List endpoints.
    List {
        /// Project.
        #[arg(long, default_value = "default")]
        project: String,
    },
    /// Remove an endpoint and its deliveries.
    Delete {
        /// The endpoint id (whk_...).
        id: String,
        /// Project.
        #[arg(long, default_value = "default")]
        project: String,
    },
    /// Send a webhook.test event to one endpoint.
    Test {
        /// The endpoint id.
        id: String,
        /// Project.
        #[arg(long, default_value = "default")]
        project: String,
    },
    /// An endpoint's recent deliveries and their attempts (JSON).
    Deliveries {
        /// The endpoint id.
        id: String,
        /// Project.
        #[arg(long, default_value = "default")]
        project: String,
    },
    /// Try a failed delivery again.
    Replay {
        /// The endpoint id.
        id: String,
        /// The delivery id (dlv_...).
        delivery: String,
        /// Project.
        #[arg(long, default_value = "default")]
        project: String,
    },
}

/// Flags of `export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Only this project (default: everything).
    #[arg(long)]
    pub project: Option<String>,
    /// Write here instead of stdout.
    #[arg(long, short)]
    pub output: Option<std::path::PathBuf>,
}

/// Flags of `import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The export file; `-` or nothing reads stdin.
    pub file: Option<std::path::PathBuf>,
}

/// Flags of `usage`.
#[derive(Debug, Args)]
pub struct UsageArgs {
    /// The server's URL, as the SDKs take it (`--url` and `TOLLGATE_URL` still work but are
    /// deprecated). [default: http:// + the configured listen address]
    #[arg(long, visible_alias = "url", env = "TOLLGATE_ENDPOINT")]
    pub endpoint: Option<String>,
    /// An admin API key of the project to report on.
    #[arg(long, env = "TOLLGATE_API_KEY", hide_env_values = true)]
    pub api_key: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Output::Table)]
    pub output: Output,
}

/// Flags of `update`.
#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// The id (key_... or tgc_...).
    pub id: String,
    /// Rate limits, e.g. read=5000/h,write=500/1m, write=unlimited, or one for both: unlimited.
    #[arg(long)]
    pub limit: String,
    /// Project.
    #[arg(long, default_value = "default")]
    pub project: String,
}

/// `tollgate projects ...`.
#[derive(Debug, Subcommand)]
pub enum ProjectsCommand {
    /// Create a project.
    Create {
        /// A lower-case identifier.
        name: String,
    },
    /// List projects.
    List {
        /// Output format.
        #[arg(long, value_enum, default_value_t = Output::Table)]
        output: Output,
    },
}

/// `tollgate signing-keys ...`.
#[derive(Debug, Subcommand)]
pub enum SigningKeysCommand {
    /// Add a new signing key; the current one stays published until its tokens have expired.
    Rotate,
    /// List the published signing keys.
    List,
}

/// Flags of `create`.
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// A label for people.
    #[arg(long)]
    pub name: String,
    /// Scopes, comma-separated: resource:read, resource:write, admin.
    #[arg(long)]
    pub scopes: String,
    /// Lifetime, e.g. 90d or 12h: at least 1s. Default: no expiry.
    #[arg(long)]
    pub expires_in: Option<String>,
    /// Own rate limits, e.g. read=5000/h,write=500/1m, or one for both: unlimited, 5000/h
    /// (default: the server's).
    #[arg(long)]
    pub limit: Option<String>,
    /// Project.
    #[arg(long, default_value = "default")]
    pub project: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Output::Table)]
    pub output: Output,
}

/// Flags of `list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Project.
    #[arg(long, default_value = "default")]
    pub project: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Output::Table)]
    pub output: Output,
}

/// Flags of `rotate`.
#[derive(Debug, Args)]
pub struct RotateArgs {
    /// The id (key_... or tgc_...).
    pub id: String,
    /// How long the old secret keeps working.
    #[arg(long, default_value = "24h")]
    pub grace: String,
    /// Project.
    #[arg(long, default_value = "default")]
    pub project: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Output::Table)]
    pub output: Output,
}

/// Flags of `revoke`.
#[derive(Debug, Args)]
pub struct RevokeArgs {
    /// The id (key_... or tgc_...).
    pub id: String,
    /// Project.
    #[arg(long, default_value = "default")]
    pub project: String,
}

/// Output formats of the key commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// Text for people.
    Table,
    /// JSON for scripts.
    Json,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed() {
        super::Cli::command().debug_assert();
    }
}
