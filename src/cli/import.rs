//! `import`'s flags and its `--config` file: the same option groups, read
//! once by clap and once by serde, merged field by field (flags win).

use std::path::{Path, PathBuf};

use clap::Args;
use serde::Deserialize;

use super::choices::{EmptyCellsMode, ExistingMode, MatchBy, MissingMode, RateArg, Threshold};
use super::input::{InputOptions, ReadArgs};
use super::options::{field_names, option_group};
use crate::log::LogFormat;

/// `import` flags.
#[derive(Debug, Clone, Args)]
pub struct ImportArgs {
    /// The input file and how to read it.
    #[command(flatten)]
    pub read: ReadArgs,
    /// TOML file with settings for a scheduled job (flags override it; secrets only from the environment).
    #[arg(long, value_name = "FILE.toml")]
    pub config: Option<PathBuf>,
    /// Start a sandbox server in-process and import into it (ignores TFSO_* variables).
    #[arg(long)]
    pub sandbox: bool,
    /// Continue the job's last run from its run store: rows created, updated or skipped are kept.
    #[arg(long, conflicts_with = "afresh")]
    pub resume: bool,
    /// Start over although the job's last run did not finish, keeping what it did (its products stay known, its unsettled rows are looked up first).
    #[arg(long)]
    pub afresh: bool,
    /// Seconds to wait for another import into the same organization to finish (default 0: exit 2 at once, naming it).
    #[arg(long, value_name = "SECS")]
    pub wait_lock: Option<f64>,
    /// Do everything except writing: credentials, references and lookups are checked online.
    #[arg(long)]
    pub dry_run: bool,
    /// Where the API is.
    #[command(flatten)]
    pub api: ApiOptions,
    /// How fast and how persistently to send.
    #[command(flatten)]
    pub pacing: PacingOptions,
    /// What to do with rows whose product or category exists or not.
    #[command(flatten)]
    pub rows: RowOptions,
    /// Output files and verbosity.
    #[command(flatten)]
    pub outputs: OutputOptions,
    /// Fetching the input from a URL.
    #[command(flatten)]
    pub feed: FeedOptions,
    /// Guards, and products no longer in the file.
    #[command(flatten)]
    pub guards: GuardOptions,
}

option_group! {
    /// Where the API is.
    #[derive(Debug, Clone, Default, Args, Deserialize)]
    #[serde(default, deny_unknown_fields)]
    pub struct ApiOptions {
        /// API base URL (default `https://rest.api.24sevenoffice.com/v1`); `http://` only for loopback addresses.
        #[arg(long, value_name = "URL")]
        pub base_url: Option<String>,
        /// OAuth token URL (default `https://login.24sevenoffice.com/oauth/token`).
        #[arg(long, value_name = "URL")]
        pub token_url: Option<String>,
    }
}

option_group! {
    /// How fast and how persistently to send.
    #[derive(Debug, Clone, Default, Args, Deserialize)]
    #[serde(default, deny_unknown_fields)]
    pub struct PacingOptions {
        /// Requests per second at most, lookups and token requests included (default 10); `auto` finds the server's limit from its answers.
        #[arg(long, value_name = "N|auto")]
        pub rate: Option<RateArg>,
        /// With `--rate auto`: the pace never goes above this many requests per second (default 1000).
        #[arg(long, value_name = "N")]
        pub max_rate: Option<u32>,
        /// Seconds to wait for an answer (default 30).
        #[arg(long, value_name = "SECS")]
        pub timeout: Option<f64>,
        /// Retries after 5xx answers, connection errors and timeouts (default 5).
        #[arg(long, value_name = "N")]
        pub max_retries: Option<u32>,
        /// Seconds a row whose POST has an unknown outcome waits, looking its product up three times, before it is sent again (default: the timeout, at least 5).
        #[arg(long, value_name = "SECS")]
        pub settle: Option<f64>,
    }
}

option_group! {
    /// What to do with rows whose product or category exists or not.
    #[derive(Debug, Clone, Default, Args, Deserialize)]
    #[serde(default, deny_unknown_fields)]
    pub struct RowOptions {
        /// What to do with a row whose product exists (same number, else same EAN; default skip).
        #[arg(long, value_enum, value_name = "MODE")]
        pub existing: Option<ExistingMode>,
        /// Under `--existing update`, what an empty cell in a column the file has does: clear the field (default; an emptied price is refused), or keep the product's value.
        #[arg(long, value_enum, value_name = "MODE")]
        pub empty_cells: Option<EmptyCellsMode>,
        /// Create categories given by a name or path that does not exist yet (each missing level of a path under its parent).
        #[arg(long)]
        pub create_categories: bool,
        /// What finds a row's existing product: key (number, else EAN; the default) or name (rows with neither are found by exact name).
        #[arg(long, value_enum, value_name = "KEY")]
        pub match_by: Option<MatchBy>,
        /// Create suppliers given by a name that does not exist yet (a company customer flagged as supplier; needs the scope api.crm.customer:write).
        #[arg(long)]
        pub create_suppliers: bool,
        /// Rows (so requests) in flight at most (default 8).
        #[arg(long, value_name = "N")]
        pub concurrency: Option<usize>,
    }
}

option_group! {
    /// Output files and verbosity.
    #[derive(Debug, Clone, Default, Args, Deserialize)]
    #[serde(default, deny_unknown_fields)]
    pub struct OutputOptions {
        /// Results file (.csv, .jsonl or .xlsx; default: the input's name plus .results.csv, beside it).
        #[arg(long, value_name = "PATH")]
        pub results: Option<PathBuf>,
        /// Write the invalid and failed rows, ready to fix and import again (.csv or .xlsx).
        #[arg(long, value_name = "PATH")]
        pub rejects: Option<PathBuf>,
        /// Write the summary as JSON.
        #[arg(long, value_name = "PATH")]
        pub summary_json: Option<PathBuf>,
        /// Print only the summary and fatal errors.
        #[arg(long, short)]
        pub quiet: bool,
        /// Log on stderr as words (default) or as one JSON object per line, for log shippers.
        #[arg(long, value_enum, value_name = "FORMAT")]
        pub log_format: Option<LogFormat>,
    }
}

option_group! {
    /// Fetching the input from a URL (`import https://…/feed.csv`), and
    /// skipping an input that has not changed.
    #[derive(Debug, Clone, Default, Args, Deserialize)]
    #[serde(default, deny_unknown_fields)]
    pub struct FeedOptions {
        /// Largest feed download accepted, in megabytes (default 512).
        #[arg(long, value_name = "MB")]
        pub max_download_mb: Option<u64>,
        /// Send nothing and exit 0 when the input is the same as at the job's last successful run.
        #[arg(long)]
        pub if_changed: bool,
        /// Environment variable holding the feed's Authorization header value
        /// (default FEED_AUTHORIZATION, else basic auth from FEED_USER and FEED_PASSWORD).
        #[arg(long, value_name = "VAR")]
        pub feed_auth_env: Option<String>,
    }
}

option_group! {
    /// Guards checked over the whole file before anything is written, and
    /// products in the catalogue that the file no longer holds.
    #[derive(Debug, Clone, Default, Args, Deserialize)]
    #[serde(default, deny_unknown_fields)]
    pub struct GuardOptions {
        /// Stop (exit 2, nothing sent) when the file has fewer valid rows than N.
        #[arg(long, value_name = "N")]
        pub min_rows: Option<u64>,
        /// Stop (exit 2, nothing sent) when more rows than N (or N% of the rows) are invalid.
        #[arg(long, value_name = "N|N%")]
        pub max_invalid: Option<Threshold>,
        /// Products in scope no longer in the file: report them, or deactivate them (default: neither).
        #[arg(long, value_enum, value_name = "MODE")]
        pub missing: Option<MissingMode>,
        /// Also in scope for --missing: products in these categories (ids, repeat or comma-separate).
        #[arg(long, value_name = "ID", value_delimiter = ',')]
        pub scope_category: Option<Vec<i64>>,
        /// Also in scope for --missing: products whose number starts with this.
        #[arg(long, value_name = "PREFIX")]
        pub scope_number_prefix: Option<String>,
        /// Stop before any change when more products than N (or N% of the scope) would be missing (default 10%).
        #[arg(long, value_name = "N|N%")]
        pub max_missing: Option<Threshold>,
    }
}

/// The `--config` file: the option groups' keys side by side in one flat
/// table. Relative paths in it are relative to the file.
#[derive(Debug, Clone, Default)]
pub struct ConfigFile {
    /// Reading options.
    pub input: InputOptions,
    /// Where the API is.
    pub api: ApiOptions,
    /// Pacing.
    pub pacing: PacingOptions,
    /// Row handling.
    pub rows: RowOptions,
    /// Outputs.
    pub outputs: OutputOptions,
    /// Feed fetching.
    pub feed: FeedOptions,
    /// Guards and missing products.
    pub guards: GuardOptions,
}

/// Keys that hold credentials, with the variable to use instead: refused in
/// a config file, and their values never echoed.
const SECRET_KEYS: &[(&str, &str)] = &[
    ("client_secret", "TFSO_CLIENT_SECRET"),
    ("client_id", "TFSO_CLIENT_ID"),
    ("organization_id", "TFSO_ORGANIZATION_ID"),
    ("access_token", "TFSO_ACCESS_TOKEN"),
    ("token", "TFSO_ACCESS_TOKEN"),
];

/// The environment variable to use instead of `key`, when `key` looks like a credential.
fn secret_key(key: &str) -> Option<&'static str> {
    let key = key.to_ascii_lowercase();
    SECRET_KEYS
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, var)| *var)
        .or_else(|| {
            ["secret", "password", "passwd"]
                .iter()
                .any(|w| key.contains(w))
                .then_some("an environment variable")
        })
}

/// Why a config file cannot be used. Messages name keys and positions, never
/// the values, so a secret typed into the file is not echoed.
#[derive(Debug, thiserror::Error)]
#[error("config file {path}: {message}")]
pub struct ConfigError {
    /// The file.
    pub path: PathBuf,
    /// What is wrong.
    pub message: String,
}

impl ConfigFile {
    /// Reads and checks a config file.
    pub fn load(path: &Path) -> Result<ConfigFile, ConfigError> {
        let bad = |message: String| ConfigError {
            path: path.to_path_buf(),
            message,
        };
        let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
        let table: toml::Table = toml::from_str(&text).map_err(|e| bad(toml_error(&text, &e)))?;
        let mut config = ConfigFile::from_table(table).map_err(bad)?;
        let dir = path.parent().unwrap_or(Path::new(""));
        for p in [
            &mut config.outputs.results,
            &mut config.outputs.rejects,
            &mut config.outputs.summary_json,
            &mut config.input.mapping,
        ] {
            if let Some(rel) = p.as_ref().filter(|p| p.is_relative()) {
                *p = Some(dir.join(rel));
            }
        }
        Ok(config)
    }

    /// Splits a flat table among the groups by their keys.
    fn from_table(table: toml::Table) -> Result<ConfigFile, String> {
        let mut groups: [(&[&str], toml::Table); 7] = [
            (field_names::<InputOptions>(), toml::Table::new()),
            (field_names::<ApiOptions>(), toml::Table::new()),
            (field_names::<PacingOptions>(), toml::Table::new()),
            (field_names::<RowOptions>(), toml::Table::new()),
            (field_names::<OutputOptions>(), toml::Table::new()),
            (field_names::<FeedOptions>(), toml::Table::new()),
            (field_names::<GuardOptions>(), toml::Table::new()),
        ];
        for (key, value) in table {
            if let Some(var) = secret_key(&key) {
                return Err(format!(
                    "unknown field `{key}`: secrets never go in a config file; set {var} instead"
                ));
            }
            match groups
                .iter_mut()
                .find(|(names, _)| names.contains(&key.as_str()))
            {
                Some((_, group)) => {
                    group.insert(key, value);
                }
                None => {
                    let known: Vec<&str> =
                        groups.iter().flat_map(|(n, _)| n.iter().copied()).collect();
                    return Err(format!(
                        "unknown field `{key}`; known keys: {}",
                        known.join(", ")
                    ));
                }
            }
        }
        let [input, api, pacing, rows, outputs, feed, guards] = groups.map(|(_, t)| t);
        Ok(ConfigFile {
            input: group(input)?,
            api: group(api)?,
            pacing: group(pacing)?,
            rows: group(rows)?,
            outputs: group(outputs)?,
            feed: group(feed)?,
            guards: group(guards)?,
        })
    }
}

fn group<T: serde::de::DeserializeOwned>(table: toml::Table) -> Result<T, String> {
    toml::Value::Table(table)
        .try_into()
        .map_err(|e: toml::de::Error| e.message().to_string())
}

/// A TOML syntax error as line, column and message, without the excerpt of
/// the file that toml's own message quotes (it could hold a secret).
fn toml_error(text: &str, e: &toml::de::Error) -> String {
    match e.span() {
        Some(span) => {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            format!("line {line}, column {column}: {}", e.message())
        }
        None => e.message().to_string(),
    }
}
