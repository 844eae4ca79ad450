//! `import`: sends every valid row of a file to the products API, paced,
//! concurrent and retried, and records what happened to each row.
//!
//! Arguments are handled in two steps: [`ImportArgs`] mirrors the flags;
//! [`ImportPlan::new`] merges them with the `--config` file and the
//! environment into a plan with real types, checked before any I/O except
//! reading the config file. [`run`] then checks the credentials (before any
//! file is written, so a refused credential changes nothing), and hands the
//! rows to the [`crate::pipeline`].
//!
//! Choices where the issue left room:
//! - Defaults: `--rate 10` (the vendor publishes no limit; 10/s is
//!   conservative and the pace adapts down on 429 anyway), `--concurrency 8`,
//!   `--timeout 30`, `--max-retries 5`. 429s have their own retry budget
//!   (`max(20, 4 × max-retries)`), since the pacer slows the run after each.
//! - Existing products are prefetched (paged `GET /products`, 1000 a page)
//!   while that costs fewer requests than half the rows to import; otherwise
//!   each row is looked up by number (else EAN).
//! - `--dry-run` records what would happen: `valid` with "dry run: would
//!   create" (or "would update salesPrice, … of product N") in the `error`
//!   column; `skipped` and `failed` as a real run would record them, since
//!   they send nothing.
//! - The summary goes to stdout (also with `--quiet`); progress, warnings and
//!   errors go to stderr.
//! - Before a row's first POST its number is appended to a journal beside
//!   the results file (`<results>.sending`), removed when a run completes.
//!   `--resume` looks those rows up before sending them again and records a
//!   product it finds as `created`.

use std::collections::HashSet;
use std::io::Write as _;
use std::num::{NonZeroU32, NonZeroUsize};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context as _;
use clap::{Args, ValueEnum};
use serde::Deserialize;
use tokio::sync::watch;
use url::{Host, Url};

use super::validate::print_source;
use super::{ExitStatus, NothingAttempted};
use crate::cli::{DecimalArg, ReadArgs};
use crate::client::auth::{Credentials, CredentialsError, Secret};
use crate::client::http::HttpApi;
use crate::client::{ApiError, ProductApi, RequestCounters};
use crate::pipeline::existing::ExistingMode;
use crate::pipeline::journal::{journal_path, Journal};
use crate::pipeline::pacing::Pacer;
use crate::pipeline::recorder::RecordSink;
use crate::pipeline::retry::RetryPolicy;
use crate::pipeline::row::{RowSettings, UNCONFIRMED_NO_KEY};
use crate::pipeline::summary::Summary;
use crate::pipeline::{self, Input, PipelinePlan, Wiring};
use crate::prepare::{prepare, InputPlan};
use crate::progress::Progress;
use crate::read::{self, ReadError};
use crate::results::{
    default_results_path, RejectsWriter, ResultsLayout, ResultsWriter, RowRecord, RowStatus,
};
use crate::sandbox::{SandboxConfig, SandboxHandle};

/// The vendor's API.
pub const DEFAULT_BASE_URL: &str = "https://rest.api.24sevenoffice.com/v1";
/// The vendor's token endpoint.
pub const DEFAULT_TOKEN_URL: &str = "https://login.24sevenoffice.com/oauth/token";
/// Requests per second when neither `--rate` nor the config file says: a
/// conservative pace for an API whose limits are not published.
pub const DEFAULT_RATE: u32 = 10;
/// Requests in flight at most, by default.
pub const DEFAULT_CONCURRENCY: usize = 8;
/// Seconds to wait for one answer, by default.
pub const DEFAULT_TIMEOUT_SECS: f64 = 30.0;
/// Retries after 5xx, connection errors and timeouts, by default.
pub const DEFAULT_MAX_RETRIES: u32 = 5;
/// How long rows in flight may take to finish after Ctrl-C or SIGTERM.
pub const STOP_GRACE: Duration = Duration::from_secs(10);

/// `import` flags.
#[derive(Debug, Clone, Args)]
pub struct ImportArgs {
    /// How to read the input.
    #[command(flatten)]
    pub read: ReadArgs,
    /// TOML file with settings for a scheduled job (flags override it; secrets only from the environment).
    #[arg(long, value_name = "FILE.toml")]
    pub config: Option<PathBuf>,
    /// API base URL (default `https://rest.api.24sevenoffice.com/v1`); `http://` only for loopback addresses.
    #[arg(long, value_name = "URL")]
    pub base_url: Option<String>,
    /// OAuth token URL (default `https://login.24sevenoffice.com/oauth/token`).
    #[arg(long, value_name = "URL")]
    pub token_url: Option<String>,
    /// Start a sandbox server in-process and import into it (ignores TFSO_* variables).
    #[arg(long)]
    pub sandbox: bool,
    /// Requests per second at most, lookups and token requests included (default 10).
    #[arg(long, value_name = "N")]
    pub rate: Option<u32>,
    /// Requests in flight at most (default 8).
    #[arg(long, value_name = "N")]
    pub concurrency: Option<usize>,
    /// Seconds to wait for an answer (default 30).
    #[arg(long, value_name = "SECS")]
    pub timeout: Option<f64>,
    /// Retries after 5xx answers, connection errors and timeouts (default 5).
    #[arg(long, value_name = "N")]
    pub max_retries: Option<u32>,
    /// What to do with a row whose product exists (same number, else same EAN; default skip).
    #[arg(long, value_enum, value_name = "MODE")]
    pub existing: Option<ExistingMode>,
    /// Create categories given by a name that does not exist yet.
    #[arg(long)]
    pub create_categories: bool,
    /// Continue an earlier run from its results file: rows created, updated or skipped are kept.
    #[arg(long)]
    pub resume: bool,
    /// Do everything except writing: credentials, references and lookups are checked online.
    #[arg(long)]
    pub dry_run: bool,
    /// Results file (.csv, .jsonl or .xlsx; default: the input's name plus .results.csv).
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
}

/// The `--config` file. Relative paths in it are relative to the file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// API base URL.
    pub base_url: Option<String>,
    /// Token URL.
    pub token_url: Option<String>,
    /// Requests per second.
    pub rate: Option<u32>,
    /// Requests in flight.
    pub concurrency: Option<usize>,
    /// Seconds per answer.
    pub timeout: Option<f64>,
    /// Retries.
    pub max_retries: Option<u32>,
    /// `skip`, `update`, `create` or `fail`.
    pub existing: Option<ExistingMode>,
    /// Create missing categories.
    pub create_categories: Option<bool>,
    /// Results file.
    pub results: Option<PathBuf>,
    /// Rejects file.
    pub rejects: Option<PathBuf>,
    /// Summary JSON file.
    pub summary_json: Option<PathBuf>,
    /// Quiet output.
    pub quiet: Option<bool>,
    /// Mapping file.
    pub mapping: Option<PathBuf>,
    /// Sheet by name or 1-based position.
    pub sheet: Option<String>,
    /// CSV delimiter.
    pub delimiter: Option<String>,
    /// CSV encoding.
    pub encoding: Option<String>,
    /// Header row.
    pub header_row: Option<u64>,
    /// `comma` or `point`.
    pub decimal: Option<String>,
}

impl ConfigFile {
    /// Reads and checks a config file.
    pub fn load(path: &Path) -> Result<ConfigFile, PlanError> {
        let bad = |message: String| PlanError::Config {
            path: path.to_path_buf(),
            message,
        };
        let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
        let mut config: ConfigFile =
            toml::from_str(&text).map_err(|e| bad(e.to_string().trim().to_string()))?;
        let dir = path.parent().unwrap_or(Path::new(""));
        for p in [
            &mut config.results,
            &mut config.rejects,
            &mut config.summary_json,
            &mut config.mapping,
        ] {
            if let Some(rel) = p.as_ref().filter(|p| p.is_relative()) {
                *p = Some(dir.join(rel));
            }
        }
        Ok(config)
    }
}

/// Where to send the products.
#[derive(Debug, Clone)]
pub enum Connection {
    /// A sandbox started in-process.
    Sandbox,
    /// A real (or separately started) API.
    Remote {
        /// API base URL.
        base_url: Url,
        /// How to authenticate.
        credentials: Box<Credentials>,
    },
}

/// Everything `import` will do, checked.
#[derive(Debug, Clone)]
pub struct ImportPlan {
    /// Reading options (flags merged with the config file).
    pub read: ReadArgs,
    /// Where to send.
    pub connection: Connection,
    /// Requests per second.
    pub rate: NonZeroU32,
    /// Requests in flight.
    pub concurrency: NonZeroUsize,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Retries.
    pub max_retries: u32,
    /// Existing-product mode.
    pub existing: ExistingMode,
    /// Create missing categories.
    pub create_categories: bool,
    /// Continue an earlier run.
    pub resume: bool,
    /// Send no writes.
    pub dry_run: bool,
    /// Results file.
    pub results: PathBuf,
    /// Rejects file.
    pub rejects: Option<PathBuf>,
    /// Summary JSON file.
    pub summary_json: Option<PathBuf>,
    /// Only the summary and fatal errors.
    pub quiet: bool,
}

/// Why the arguments, config file or environment do not make a plan (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// The config file is unreadable or wrong.
    #[error("config file {path}: {message}")]
    Config {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A flag or config value is out of range.
    #[error("{0}")]
    BadValue(String),
    /// A URL is unusable.
    #[error("{what} \"{url}\": {message}")]
    BadUrl {
        /// `--base-url` or `--token-url`.
        what: &'static str,
        /// The URL as given.
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

impl ImportPlan {
    /// Merges flags, the config file (read here) and the environment (through
    /// `env`) into a plan.
    pub fn new(
        args: &ImportArgs,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<ImportPlan, PlanError> {
        let config = match &args.config {
            Some(path) => ConfigFile::load(path)?,
            None => ConfigFile::default(),
        };
        let mut read = args.read.clone();
        read.mapping = read.mapping.or(config.mapping.clone());
        read.sheet = read.sheet.or(config.sheet.clone());
        read.delimiter = read.delimiter.or(config.delimiter.clone());
        read.encoding = read.encoding.or(config.encoding.clone());
        read.header_row = read.header_row.or(config.header_row);
        if read.decimal.is_none() {
            if let Some(d) = &config.decimal {
                read.decimal = Some(DecimalArg::from_str(d, true).map_err(|_| {
                    PlanError::BadValue(format!(
                        "decimal = \"{d}\" in the config file: use \"comma\" or \"point\""
                    ))
                })?);
            }
        }

        let rate = args.rate.or(config.rate).unwrap_or(DEFAULT_RATE);
        let rate = NonZeroU32::new(rate)
            .filter(|r| r.get() <= 10_000)
            .ok_or_else(|| {
                PlanError::BadValue(format!("--rate {rate}: use 1 to 10000 requests per second"))
            })?;
        let concurrency = args
            .concurrency
            .or(config.concurrency)
            .unwrap_or(DEFAULT_CONCURRENCY);
        let concurrency = NonZeroUsize::new(concurrency)
            .filter(|c| c.get() <= 256)
            .ok_or_else(|| {
                PlanError::BadValue(format!("--concurrency {concurrency}: use 1 to 256"))
            })?;
        let timeout = args
            .timeout
            .or(config.timeout)
            .unwrap_or(DEFAULT_TIMEOUT_SECS);
        if !(timeout.is_finite() && timeout > 0.0 && timeout <= 3600.0) {
            return Err(PlanError::BadValue(format!(
                "--timeout {timeout}: use a number of seconds above 0"
            )));
        }
        let max_retries = args
            .max_retries
            .or(config.max_retries)
            .unwrap_or(DEFAULT_MAX_RETRIES);
        if max_retries > 100 {
            return Err(PlanError::BadValue(format!(
                "--max-retries {max_retries}: use 0 to 100"
            )));
        }

        let connection = if args.sandbox {
            Connection::Sandbox
        } else {
            let base = args
                .base_url
                .clone()
                .or(config.base_url.clone())
                .unwrap_or(DEFAULT_BASE_URL.into());
            let token = args
                .token_url
                .clone()
                .or(config.token_url.clone())
                .unwrap_or(DEFAULT_TOKEN_URL.into());
            let base_url = checked_url("--base-url", &base)?;
            let token_url = checked_url("--token-url", &token)?;
            let credentials =
                Credentials::from_env(env, token_url)?.ok_or(PlanError::NoCredentials)?;
            Connection::Remote {
                base_url,
                credentials: Box::new(credentials),
            }
        };

        Ok(ImportPlan {
            results: args.results.clone().or(config.results).unwrap_or_else(|| {
                // A dry run must not overwrite the results (and so the
                // resume point) of a real run.
                let path = default_results_path(&read.file);
                if args.dry_run {
                    path.with_extension("dry-run.csv")
                } else {
                    path
                }
            }),
            read,
            connection,
            rate,
            concurrency,
            timeout: Duration::from_secs_f64(timeout),
            max_retries,
            existing: args.existing.or(config.existing).unwrap_or_default(),
            create_categories: args.create_categories || config.create_categories.unwrap_or(false),
            resume: args.resume,
            dry_run: args.dry_run,
            rejects: args.rejects.clone().or(config.rejects),
            summary_json: args.summary_json.clone().or(config.summary_json),
            quiet: args.quiet || config.quiet.unwrap_or(false),
        })
    }
}

/// Parses a URL and accepts plain `http://` only for loopback hosts.
pub fn checked_url(what: &'static str, text: &str) -> Result<Url, PlanError> {
    let bad = |message: &str| PlanError::BadUrl {
        what,
        url: text.to_string(),
        message: message.to_string(),
    };
    let url = Url::parse(text.trim()).map_err(|e| bad(&e.to_string()))?;
    match url.scheme() {
        "https" => Ok(url),
        "http" => {
            let loopback = match url.host() {
                Some(Host::Ipv4(ip)) => ip.is_loopback(),
                Some(Host::Ipv6(ip)) => ip.is_loopback(),
                Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
                None => false,
            };
            if loopback {
                Ok(url)
            } else {
                Err(bad("plain http:// is accepted only for loopback addresses (127.0.0.1, ::1, localhost); use https://"))
            }
        }
        _ => Err(bad("use an https:// URL")),
    }
}

/// Runs `import` with the process environment, on a runtime of its own.
pub fn run_blocking(args: ImportArgs) -> anyhow::Result<ExitStatus> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let status = runtime.block_on(run(args));
    runtime.shutdown_timeout(Duration::from_secs(1));
    status
}

/// Runs `import` with the process environment.
pub async fn run(args: ImportArgs) -> anyhow::Result<ExitStatus> {
    run_with_env(args, &|k| std::env::var(k).ok()).await
}

fn nothing(e: impl Into<anyhow::Error>) -> anyhow::Error {
    NothingAttempted(e.into()).into()
}

/// Runs `import`, reading credentials through `env`. Errors mean nothing was
/// attempted (exit 2); the summary goes to stdout, progress to stderr.
pub async fn run_with_env(
    args: ImportArgs,
    env: &dyn Fn(&str) -> Option<String>,
) -> anyhow::Result<ExitStatus> {
    let plan = ImportPlan::new(&args, env).map_err(nothing)?;
    let input_plan = InputPlan::from_args(&plan.read).map_err(nothing)?;
    let prepared = prepare(&input_plan).map_err(nothing)?;

    let (base_url, credentials, sandbox) = match &plan.connection {
        Connection::Remote {
            base_url,
            credentials,
        } => (base_url.clone(), (**credentials).clone(), None),
        Connection::Sandbox => {
            let (base_url, credentials, handle) = start_sandbox().await.map_err(nothing)?;
            (base_url, credentials, Some(handle))
        }
    };

    if !plan.quiet {
        // Output is best effort: a closed stdout (`| head`) must not stop an import.
        let mut out = std::io::stdout().lock();
        let _ = print_source(&mut out, &prepared.info);
        let _ = writeln!(out, "Columns:\n{}", prepared.mapping);
        let _ = writeln!(
            out,
            "Sending to {base_url} at {} requests/s at most, {} in flight",
            plan.rate, plan.concurrency
        );
    }

    let pacer = Arc::new(Pacer::new(plan.rate));
    let counters = Arc::new(RequestCounters::default());
    let api = HttpApi::new(
        base_url,
        credentials,
        plan.timeout,
        pacer.clone(),
        counters.clone(),
    )
    .context("cannot set up the HTTP client")
    .map_err(nothing)?;
    // Credentials are checked before any file is written: a refused one
    // leaves everything as it was.
    if let Err(e) = api.authenticate().await {
        return Err(nothing(anyhow::Error::new(e)));
    }

    let total = count_rows(&input_plan);
    let layout = ResultsLayout {
        headers: prepared.output_headers.clone(),
        delimiter: prepared.info.delimiter.unwrap_or(b','),
    };
    let journal = journal_path(&plan.results);
    let (results, kept, maybe_sent) = if plan.resume {
        let keep = |r: &RowRecord| {
            r.status.is_final_success()
                || (r.status == RowStatus::Failed
                    && r.error
                        .as_deref()
                        .is_some_and(|e| e.starts_with(UNCONFIRMED_NO_KEY)))
        };
        let (writer, records) = ResultsWriter::resume(&plan.results, layout.clone(), keep)
            .with_context(|| {
                format!(
                    "cannot resume from the results file {}",
                    plan.results.display()
                )
            })
            .map_err(nothing)?;
        let kept: Vec<RowRecord> = records.into_iter().filter(|r| keep(r)).collect();
        let maybe_sent = Journal::read(&journal)
            .with_context(|| format!("cannot read {}", journal.display()))
            .map_err(nothing)?;
        (writer, kept, maybe_sent)
    } else {
        let writer = ResultsWriter::create(&plan.results, layout.clone())
            .with_context(|| format!("cannot write the results file {}", plan.results.display()))
            .map_err(nothing)?;
        // A journal left by an earlier, unfinished run does not apply to a fresh run.
        let _ = std::fs::remove_file(&journal);
        (writer, Vec::new(), HashSet::new())
    };
    let mut sinks: Vec<Box<dyn RecordSink>> = vec![Box::new(ResultsSink(results))];
    if let Some(path) = &plan.rejects {
        let writer = RejectsWriter::create(path, &layout)
            .with_context(|| format!("cannot write {}", path.display()))
            .map_err(nothing)?;
        sinks.push(Box::new(RejectsSink(writer)));
    }

    let read_error: Arc<Mutex<Option<ReadError>>> = Arc::default();
    let slot = read_error.clone();
    let rows = prepared.rows.map_while(move |item| match item {
        Ok(row) => Some(row),
        Err(e) => {
            *slot.lock().expect("read error slot") = Some(e);
            None
        }
    });
    let input = Input {
        rows: Box::new(rows),
        total,
        kept,
        maybe_sent,
    };
    let pipeline_plan = PipelinePlan {
        row: RowSettings {
            existing: plan.existing,
            dry_run: plan.dry_run,
            retry: RetryPolicy::new(plan.max_retries),
            sheet: prepared.info.sheet.clone(),
        },
        create_categories: plan.create_categories,
        concurrency: plan.concurrency.get(),
        grace: STOP_GRACE,
        journal: (!plan.dry_run).then(|| journal.clone()),
    };
    let (stop_tx, stop) = watch::channel(false);
    let signals = tokio::spawn(watch_signals(stop_tx, plan.quiet));
    let wiring = Wiring {
        sinks,
        progress: Progress::new(total, plan.quiet),
        pacer: Some(pacer),
        counters: counters.clone(),
        stop,
    };
    let outcome = pipeline::run(api, pipeline_plan, input, wiring).await;
    signals.abort();
    if let Some(handle) = sandbox {
        handle.shutdown().await;
    }
    let report = match outcome {
        Ok(report) => report,
        Err(e @ ApiError::Auth { .. }) => return Err(nothing(anyhow::Error::new(e))),
        Err(e) => return Err(nothing(anyhow::anyhow!("{e}"))),
    };

    let summary = Summary::new(&report, &counters, plan.dry_run);
    let written = plan.summary_json.as_ref().map(|path| {
        let json = serde_json::to_string_pretty(&summary).expect("summary serializes");
        std::fs::write(path, json + "\n")
            .with_context(|| format!("cannot write {}", path.display()))
    });
    let _ = writeln!(
        std::io::stdout().lock(),
        "{summary}\n  results:   {}",
        plan.results.display()
    );
    if let Some(Err(e)) = written {
        eprintln!("error: {e:#}");
    }
    if let Some(e) = &summary.error {
        eprintln!("error: the run stopped: {e}");
    }
    if let Some(e) = read_error.lock().expect("read error slot").take() {
        eprintln!("error: {e}");
        eprintln!("The rows before it were imported; fix the file and run again with --resume.");
        return Ok(ExitStatus::RowsFailed);
    }
    Ok(match summary.exit_code() {
        0 => ExitStatus::Success,
        130 => ExitStatus::Interrupted,
        _ => ExitStatus::RowsFailed,
    })
}

/// Counts the data rows (non-empty) of the input for the progress display;
/// `None` when the file cannot be read a second time.
fn count_rows(plan: &InputPlan) -> Option<u64> {
    if read::is_stdin(&plan.path) {
        return None;
    }
    let table = read::open(&plan.path, &plan.read).ok()?;
    let mut n = 0;
    for row in table.rows {
        match row {
            Ok(r) if !r.is_empty() => n += 1,
            Ok(_) => {}
            Err(_) => return None,
        }
    }
    Some(n)
}

/// Turns `stop` true on Ctrl-C or SIGTERM.
async fn watch_signals(stop: watch::Sender<bool>, quiet: bool) {
    super::interrupted().await;
    if !quiet {
        eprintln!(
            "Stopping: no new rows are sent; waiting up to {} s for rows in flight \
             (press Ctrl-C again to stop at once)...",
            STOP_GRACE.as_secs()
        );
    }
    let _ = stop.send(true);
    // A second signal stops at once. Every finished row is already in the
    // results file, and rows in flight are in the sending journal.
    let _ = tokio::signal::ctrl_c().await;
    eprintln!("Stopped.");
    std::process::exit(i32::from(ExitStatus::Interrupted.code()));
}

/// Starts the in-process sandbox with its gentle defaults; returns its URLs,
/// its demo credentials and the handle that stops it.
async fn start_sandbox() -> anyhow::Result<(Url, Credentials, SandboxHandle)> {
    let handle = crate::sandbox::start(SandboxConfig::gentle())
        .await
        .context("cannot start the sandbox")?;
    let base_url = Url::parse(&handle.base_url()).context("sandbox base URL")?;
    let token_url = Url::parse(&handle.token_url()).context("sandbox token URL")?;
    let demo = handle.credentials();
    let credentials = Credentials::Client {
        client_id: Secret::new(demo.client_id.clone()),
        client_secret: Secret::new(demo.client_secret.clone()),
        organization_id: demo.organization_id.clone(),
        token_url,
        audience: crate::sandbox::AUDIENCE.to_string(),
    };
    Ok((base_url, credentials, handle))
}

/// The results file as a pipeline sink.
struct ResultsSink(ResultsWriter);

impl RecordSink for ResultsSink {
    fn write(&mut self, record: &RowRecord) -> anyhow::Result<()> {
        Ok(self.0.write(record)?)
    }
    fn flush(&mut self) -> anyhow::Result<()> {
        Ok(self.0.flush()?)
    }
    fn finish(self: Box<Self>) -> anyhow::Result<()> {
        Ok(self.0.finish()?)
    }
}

/// The rejects file: invalid and failed rows only.
struct RejectsSink(RejectsWriter);

impl RecordSink for RejectsSink {
    fn write(&mut self, record: &RowRecord) -> anyhow::Result<()> {
        if matches!(record.status, RowStatus::Invalid | RowStatus::Failed) {
            self.0
                .write(&record.cells, record.error.as_deref().unwrap_or_default())?;
        }
        Ok(())
    }
    fn flush(&mut self) -> anyhow::Result<()> {
        Ok(())
    }
    fn finish(self: Box<Self>) -> anyhow::Result<()> {
        Ok(self.0.finish()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: ImportArgs,
    }

    fn args(list: &[&str]) -> ImportArgs {
        let mut all = vec!["import"];
        all.extend_from_slice(list);
        Cli::try_parse_from(all).unwrap().args
    }

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn defaults_and_credentials() {
        let plan =
            ImportPlan::new(&args(&["in.csv"]), &env(&[("TFSO_ACCESS_TOKEN", "tok")])).unwrap();
        assert_eq!(plan.rate.get(), DEFAULT_RATE);
        assert_eq!(plan.concurrency.get(), DEFAULT_CONCURRENCY);
        assert_eq!(plan.timeout, Duration::from_secs(30));
        assert_eq!(plan.existing, ExistingMode::Skip);
        assert_eq!(plan.results, PathBuf::from("in.csv.results.csv"));
        let Connection::Remote {
            base_url,
            credentials,
        } = &plan.connection
        else {
            panic!()
        };
        assert_eq!(base_url.as_str(), DEFAULT_BASE_URL);
        assert!(matches!(**credentials, Credentials::Token(_)));
        assert!(
            !format!("{plan:?}").contains("tok\""),
            "secrets never printed"
        );

        let err = ImportPlan::new(&args(&["in.csv"]), &env(&[])).unwrap_err();
        assert!(matches!(err, PlanError::NoCredentials));
        let sandbox = ImportPlan::new(&args(&["in.csv", "--sandbox"]), &env(&[])).unwrap();
        assert!(matches!(sandbox.connection, Connection::Sandbox));
    }

    #[test]
    fn bad_values_are_refused() {
        let e = &env(&[("TFSO_ACCESS_TOKEN", "tok")]);
        for flags in [
            &["in.csv", "--rate", "0"][..],
            &["in.csv", "--concurrency", "0"],
            &["in.csv", "--timeout=-1"],
            &["in.csv", "--base-url", "http://api.example.com/v1"],
            &["in.csv", "--base-url", "ftp://127.0.0.1/v1"],
            &["in.csv", "--token-url", "not a url"],
        ] {
            assert!(ImportPlan::new(&args(flags), e).is_err(), "{flags:?}");
        }
        for ok in [
            "http://127.0.0.1:8080/v1",
            "http://localhost/v1",
            "http://[::1]:9/v1",
            "https://api.example.com/v1",
        ] {
            assert!(checked_url("--base-url", ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn the_sample_config_is_valid() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/import.toml");
        let config = ConfigFile::load(&path).unwrap();
        assert_eq!(config.rate, Some(DEFAULT_RATE));
        assert_eq!(config.existing, Some(ExistingMode::Skip));
    }

    #[test]
    fn config_file_with_flags_overriding() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("job.toml");
        std::fs::write(
            &path,
            "base_url = \"http://127.0.0.1:9/v1\"\nrate = 3\nconcurrency = 2\nexisting = \"update\"\n\
             create_categories = true\nresults = \"out/results.jsonl\"\nmapping = \"map.toml\"\ndecimal = \"comma\"\n",
        )
        .unwrap();
        let cfg = path.to_str().unwrap();
        let e = &env(&[("TFSO_ACCESS_TOKEN", "tok")]);
        let plan = ImportPlan::new(&args(&["in.csv", "--config", cfg, "--rate", "7"]), e).unwrap();
        assert_eq!(plan.rate.get(), 7);
        assert_eq!(plan.concurrency.get(), 2);
        assert_eq!(plan.existing, ExistingMode::Update);
        assert!(plan.create_categories);
        assert_eq!(plan.results, dir.path().join("out/results.jsonl"));
        assert_eq!(plan.read.mapping, Some(dir.path().join("map.toml")));
        assert_eq!(plan.read.decimal, Some(DecimalArg::Comma));

        std::fs::write(&path, "rate = 3\nclient_secret = \"x\"\n").unwrap();
        let err = ImportPlan::new(&args(&["in.csv", "--config", cfg]), e)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("unknown field") && err.contains("client_secret"),
            "{err}"
        );
    }
}
