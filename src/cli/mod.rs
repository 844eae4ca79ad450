//! Command-line arguments as clap parses them, and `import`'s config file as
//! serde reads it: one struct per option group derives both, so an option is
//! written once ([`options`]). Turning them into a validated plan with real
//! types happens before any I/O ([`InputPlan`] here, the import plan in
//! [`crate::commands::import`]).

mod choices;
mod export;
mod generate;
mod import;
mod input;
pub(crate) mod options;
mod sandbox;

use std::path::PathBuf;

use clap::Args;

pub use choices::{
    DecimalArg, EmptyCellsMode, ExistingMode, MatchBy, MissingMode, RateArg, Threshold,
};
pub use export::ExportArgs;
pub use generate::GenerateArgs;
pub use import::{
    ApiOptions, ConfigError, ConfigFile, FeedOptions, GuardOptions, ImportArgs, OutputOptions,
    PacingOptions, RowOptions,
};
pub use input::{InputOptions, InputPlan, PrepareError, ReadArgs};
pub use sandbox::SandboxArgs;

/// `validate`: the dry run, offline.
#[derive(Debug, Clone, Args)]
pub struct ValidateArgs {
    /// How to read the file.
    #[command(flatten)]
    pub read: ReadArgs,
    /// Results file (.csv, .jsonl or .xlsx); default FILE.results.csv beside FILE (stdin.results.csv in the current directory for -).
    #[arg(long, value_name = "PATH")]
    pub results: Option<PathBuf>,
    /// Also write the invalid rows, in the input's columns plus `error` (.csv or .xlsx).
    #[arg(long, value_name = "PATH")]
    pub rejects: Option<PathBuf>,
    /// Also write, for each valid row, the JSON body `import` would send (JSON lines).
    #[arg(long, value_name = "PATH.jsonl")]
    pub payloads: Option<PathBuf>,
    /// Print only the summary line and fatal errors.
    #[arg(long, short)]
    pub quiet: bool,
}

/// `template`: write a file to fill in.
#[derive(Debug, Clone, Args)]
pub struct TemplateArgs {
    /// The file to write: .xlsx (with a help sheet and drop-down lists) or .csv.
    #[arg(value_name = "OUT.xlsx|OUT.csv")]
    pub out: PathBuf,
}
