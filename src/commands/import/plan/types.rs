//! The plan's types, shared by its files: the checked plan of an import
//! ([`ImportPlan`]) with its pacing, outputs and feed, and why arguments do
//! not make one ([`PlanError`]). How they are made is in the folder's
//! `mod.rs`; where the outputs go, in `paths.rs`.

use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::time::Duration;

use crate::cli::{ConfigError, EmptyCellsMode, InputPlan};
use crate::client::auth::CredentialsError;
use crate::client::connect::Connection;
use crate::client::pacing::Pace;
use crate::feed::guard::Guards;
use crate::feed::missing::MissingPlan;
use crate::feed::FeedSource;
use crate::log::LogFormat;
use crate::pipeline::existing::ExistingMode;
use crate::prepare::PrepareError;

/// Pacing, checked.
#[derive(Debug, Clone)]
pub struct Pacing {
    /// Requests per second (`--rate`, `--max-rate`).
    pub rate: Pace,
    /// Requests in flight.
    pub concurrency: NonZeroUsize,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Retries.
    pub max_retries: u32,
    /// How long an unknown outcome settles (`--settle`).
    pub settle: Duration,
}

/// Output files, resolved.
#[derive(Debug, Clone)]
pub struct Outputs {
    /// Results file.
    pub results: PathBuf,
    /// The job's run store (`RESULTS.job.sqlite` beside the real run's
    /// results file, also in a dry run, which reads it and never writes it).
    pub store: PathBuf,
    /// The missing-products file (`RESULTS.missing.csv`).
    pub missing: PathBuf,
    /// Rejects file.
    pub rejects: Option<PathBuf>,
    /// Summary JSON file.
    pub summary_json: Option<PathBuf>,
}

/// Everything `import` will do, checked.
#[derive(Debug, Clone)]
pub struct ImportPlan {
    /// How to read the input.
    pub input: InputPlan,
    /// Where to send.
    pub connection: Connection,
    /// How fast and how persistently.
    pub pacing: Pacing,
    /// Existing-product mode.
    pub existing: ExistingMode,
    /// What an empty cell does to an existing product.
    pub empty_cells: EmptyCellsMode,
    /// Create missing categories.
    pub create_categories: bool,
    /// Create missing suppliers.
    pub create_suppliers: bool,
    /// Rows with neither number nor EAN are found by exact name (`--match-by name`).
    pub match_by_name: bool,
    /// Continue an earlier run.
    pub resume: bool,
    /// Start over an unfinished run, keeping what it did.
    pub afresh: bool,
    /// How long to wait for another run into the same organization.
    pub wait_lock: Duration,
    /// Send no writes.
    pub dry_run: bool,
    /// Output files.
    pub outputs: Outputs,
    /// Only the summary and fatal errors.
    pub quiet: bool,
    /// How stderr logs.
    pub log_format: LogFormat,
    /// The input is fetched from a URL.
    pub feed: Option<FeedPlan>,
    /// `--if-changed`.
    pub if_changed: bool,
    /// `--min-rows`, `--max-invalid`.
    pub guards: Guards,
    /// `--missing` and its scope.
    pub missing: Option<MissingPlan>,
}

/// An input fetched from a URL.
#[derive(Debug, Clone)]
pub struct FeedPlan {
    /// Where it is, and its credentials.
    pub source: FeedSource,
    /// The download goes to this path plus the format's extension, beside
    /// the results file (`RESULTS.feed.csv`), and stays there so that
    /// `--resume` reads the very content the results belong to.
    pub stem: PathBuf,
    /// `--max-download-mb`, in bytes.
    pub max_bytes: u64,
}

/// Why the arguments, config file or environment do not make a plan (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// The config file is unreadable or wrong.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A reading flag or the mapping file is wrong.
    #[error(transparent)]
    Input(#[from] PrepareError),
    /// A flag or config value is out of range.
    #[error("{0}")]
    BadValue(String),
    /// A URL is unusable.
    #[error("{what} \"{url}\": {message}")]
    BadUrl {
        /// `--base-url` or `--token-url`.
        what: &'static str,
        /// The URL as given, without user info.
        url: String,
        /// What is wrong.
        message: String,
    },
    /// No credentials in the environment.
    #[error(
        "no credentials: set TFSO_ACCESS_TOKEN, or TFSO_CLIENT_ID, TFSO_CLIENT_SECRET and TFSO_ORGANIZATION_ID \
         (or try it out with --sandbox)"
    )]
    NoCredentials,
    /// Credentials incomplete.
    #[error(transparent)]
    Credentials(#[from] CredentialsError),
}
