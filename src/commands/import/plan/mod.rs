//! The import plan: flags merged over the `--config` file and the
//! environment, checked and turned into real types before any I/O except
//! reading the config and mapping files.

use std::num::{NonZeroU32, NonZeroUsize};
use std::path::{Path, PathBuf};
use std::time::Duration;

use url::{Host, Url};

use crate::cli::{
    ApiOptions, ConfigError, ConfigFile, EmptyCellsMode, GuardOptions, ImportArgs, InputOptions,
    InputPlan, OutputOptions, PacingOptions, ReadArgs,
};
use crate::client::auth::{Credentials, CredentialsError};
use crate::client::connect::{shown_url, Connection};
use crate::feed::download::{with_suffix, DEFAULT_MAX_DOWNLOAD_MB};
use crate::feed::guard::Guards;
use crate::feed::missing::{missing_path, MissingPlan, DEFAULT_MAX_MISSING};
use crate::feed::{state_path, FeedAuth, FeedSource};
use crate::log::LogFormat;
use crate::pipeline::existing::ExistingMode;
use crate::pipeline::journal::journal_path;
use crate::pipeline::resume::{fingerprint_path, lock_path};
use crate::pipeline::retry::SettlePolicy;
use crate::prepare::PrepareError;
use crate::results::default_results_path;

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

/// Pacing, checked.
#[derive(Debug, Clone)]
pub struct Pacing {
    /// Requests per second.
    pub rate: NonZeroU32,
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
    /// The job state (`RESULTS.state.json` beside the real run's results
    /// file, also in a dry run, which reads it and never writes it).
    pub state: PathBuf,
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
    /// Continue an earlier run.
    pub resume: bool,
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
        let options: InputOptions = args.read.options.clone().merged_over(config.input);
        let input = InputPlan::from_args(&ReadArgs {
            file: args.read.file.clone(),
            options,
        })?;
        let api = args.api.clone().merged_over(config.api);
        let rows = args.rows.clone().merged_over(config.rows);
        let outputs = args.outputs.clone().merged_over(config.outputs);
        let feed_options = args.feed.clone().merged_over(config.feed);
        let guard_options = args.guards.clone().merged_over(config.guards);
        let feed_url = feed_url(&args.read.file)?;
        let paths = output_paths(&outputs, &input.path, feed_url.as_ref(), args.dry_run);
        let mut input = input;
        let mb = feed_options
            .max_download_mb
            .unwrap_or(DEFAULT_MAX_DOWNLOAD_MB);
        if mb == 0 || mb > 1_000_000 {
            return Err(PlanError::BadValue(format!(
                "--max-download-mb {mb}: use 1 to 1000000"
            )));
        }
        let feed = match feed_url {
            Some(url) => {
                let auth = FeedAuth::from_env(env, feed_options.feed_auth_env.as_deref())
                    .map_err(PlanError::BadValue)?;
                let stem = with_suffix(&paths.results, ".feed");
                input.path = with_suffix(&stem, ".download");
                Some(FeedPlan {
                    source: FeedSource { url, auth },
                    stem,
                    max_bytes: mb * 1_000_000,
                })
            }
            None => None,
        };
        let missing = missing_plan(&guard_options)?;
        let guards = Guards {
            min_rows: guard_options.min_rows,
            max_invalid: guard_options.max_invalid,
        };
        Ok(ImportPlan {
            outputs: paths,
            input,
            connection: connection(args.sandbox, &api, env)?,
            pacing: pacing(
                args.pacing.clone().merged_over(config.pacing),
                rows.concurrency,
            )?,
            existing: rows.existing.unwrap_or_default(),
            empty_cells: rows.empty_cells.unwrap_or_default(),
            create_categories: rows.create_categories,
            resume: args.resume,
            dry_run: args.dry_run,
            quiet: outputs.quiet,
            log_format: outputs.log_format.unwrap_or_default(),
            feed,
            if_changed: feed_options.if_changed,
            guards,
            missing,
        })
    }
}

/// The input as a feed URL, when it is one (`http://` or `https://`).
fn feed_url(file: &Path) -> Result<Option<Url>, PlanError> {
    let text = file.to_string_lossy();
    let lower = text.to_ascii_lowercase();
    if lower.starts_with("https://") || lower.starts_with("http://") {
        checked_url("the feed URL", &text).map(Some)
    } else {
        Ok(None)
    }
}

/// `--missing` and its scope, or none; the scope flags without `--missing`
/// are refused rather than ignored.
fn missing_plan(options: &GuardOptions) -> Result<Option<MissingPlan>, PlanError> {
    let Some(mode) = options.missing else {
        if options.scope_category.is_some()
            || options.scope_number_prefix.is_some()
            || options.max_missing.is_some()
        {
            return Err(PlanError::BadValue(
                "--scope-category, --scope-number-prefix and --max-missing need --missing report|deactivate"
                    .into(),
            ));
        }
        return Ok(None);
    };
    if let Some(c) = options.scope_category.iter().flatten().find(|c| **c < 1) {
        return Err(PlanError::BadValue(format!(
            "--scope-category {c}: category ids are positive"
        )));
    }
    let prefix = options
        .scope_number_prefix
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_string);
    if options.scope_number_prefix.is_some() && prefix.is_none() {
        return Err(PlanError::BadValue(
            "--scope-number-prefix: give a non-empty prefix".into(),
        ));
    }
    Ok(Some(MissingPlan {
        mode,
        categories: options.scope_category.clone().unwrap_or_default(),
        number_prefix: prefix,
        max_missing: options.max_missing.unwrap_or(DEFAULT_MAX_MISSING),
    }))
}

/// The output paths, with the default results file. A dry run never writes
/// a real run's files (and so never its resume point), however the path was
/// given: its outputs get `.dry-run` before their extension.
fn output_paths(
    outputs: &OutputOptions,
    input: &Path,
    feed: Option<&Url>,
    dry_run: bool,
) -> Outputs {
    let mark = |path: PathBuf| if dry_run { dry_run_path(&path) } else { path };
    // A feed's results are named after the last segment of its URL's path.
    let named = match feed {
        Some(url) => PathBuf::from(
            url.path_segments()
                .and_then(|mut s| s.next_back())
                .filter(|s| !s.is_empty())
                .unwrap_or("feed"),
        ),
        None => input.to_path_buf(),
    };
    let real = outputs
        .results
        .clone()
        .unwrap_or_else(|| default_results_path(&named));
    let results = mark(real.clone());
    Outputs {
        state: state_path(&real),
        missing: missing_path(&results),
        results,
        rejects: outputs.rejects.clone().map(mark),
        summary_json: outputs.summary_json.clone().map(mark),
    }
}

/// `x.csv` → `x.dry-run.csv`.
fn dry_run_path(path: &Path) -> PathBuf {
    match (path.file_stem(), path.extension()) {
        (Some(stem), Some(ext)) => {
            let mut name = stem.to_owned();
            name.push(".dry-run.");
            name.push(ext);
            path.with_file_name(name)
        }
        _ => {
            let mut name = path.as_os_str().to_owned();
            name.push(".dry-run");
            PathBuf::from(name)
        }
    }
}

impl ImportPlan {
    /// Refuses outputs that would overwrite one another, the input or the
    /// mapping, or that go to a folder that does not exist: checked before
    /// anything is touched.
    pub fn check_paths(&self, config: Option<&Path>) -> Result<(), PlanError> {
        let results = &self.outputs.results;
        let mut named: Vec<(String, PathBuf)> = vec![
            ("the input file".into(), self.input.path.clone()),
            ("--results".into(), results.clone()),
            ("the sending journal".into(), journal_path(results)),
            ("the input fingerprint".into(), fingerprint_path(results)),
            ("the lock file".into(), lock_path(results)),
            ("the job state".into(), self.outputs.state.clone()),
            (
                "the missing-products file".into(),
                self.outputs.missing.clone(),
            ),
        ];
        if let Some((mapping, _)) = &self.input.mapping {
            named.push(("--mapping".into(), mapping.clone()));
        }
        if let Some(config) = config {
            named.push(("--config".into(), config.to_path_buf()));
        }
        for (what, path) in [
            ("--rejects", &self.outputs.rejects),
            ("--summary-json", &self.outputs.summary_json),
        ] {
            if let Some(path) = path {
                named.push((what.into(), path.clone()));
            }
        }
        let keys: Vec<PathBuf> = named.iter().map(|(_, p)| comparable(p)).collect();
        for (i, key) in keys.iter().enumerate() {
            if let Some(j) = keys[..i].iter().position(|k| k == key) {
                return Err(PlanError::BadValue(format!(
                    "{} and {} are the same file ({}): give each output its own path",
                    named[j].0,
                    named[i].0,
                    named[i].1.display()
                )));
            }
        }
        for (what, path) in named.iter().skip(1) {
            let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
            if let Some(dir) = dir.filter(|d| !d.is_dir()) {
                return Err(PlanError::BadValue(format!(
                    "{what} {}: the folder {} does not exist",
                    path.display(),
                    dir.display()
                )));
            }
        }
        Ok(())
    }
}

/// A path made comparable: absolute, with its folder resolved when it exists.
fn comparable(path: &Path) -> PathBuf {
    if let Ok(p) = path.canonicalize() {
        return p;
    }
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
    let dir = dir
        .map(|d| d.canonicalize().unwrap_or_else(|_| d.to_path_buf()))
        .or_else(|| std::env::current_dir().ok())
        .unwrap_or_default();
    dir.join(path.file_name().unwrap_or_default())
}

/// The in-process sandbox, or the API the options name with the
/// credentials of the environment (read through `env`).
pub fn connection(
    sandbox: bool,
    api: &ApiOptions,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Connection, PlanError> {
    if sandbox {
        return Ok(Connection::Sandbox);
    }
    let base = api.base_url.as_deref().unwrap_or(DEFAULT_BASE_URL);
    let token = api.token_url.as_deref().unwrap_or(DEFAULT_TOKEN_URL);
    let base_url = checked_url("--base-url", base)?;
    let token_url = checked_url("--token-url", token)?;
    let credentials = Credentials::from_env(env, token_url)?.ok_or(PlanError::NoCredentials)?;
    Ok(Connection::Remote {
        base_url,
        credentials: Box::new(credentials),
    })
}

/// Checks the pacing options and fills in the defaults.
pub fn pacing(options: PacingOptions, concurrency: Option<usize>) -> Result<Pacing, PlanError> {
    let rate = options.rate.unwrap_or(DEFAULT_RATE);
    let rate = NonZeroU32::new(rate)
        .filter(|r| r.get() <= 10_000)
        .ok_or_else(|| {
            PlanError::BadValue(format!("--rate {rate}: use 1 to 10000 requests per second"))
        })?;
    let concurrency = concurrency.unwrap_or(DEFAULT_CONCURRENCY);
    let concurrency = NonZeroUsize::new(concurrency)
        .filter(|c| c.get() <= 256)
        .ok_or_else(|| PlanError::BadValue(format!("--concurrency {concurrency}: use 1 to 256")))?;
    let timeout = options.timeout.unwrap_or(DEFAULT_TIMEOUT_SECS);
    if !(timeout.is_finite() && timeout > 0.0 && timeout <= 3600.0) {
        return Err(PlanError::BadValue(format!(
            "--timeout {timeout}: use a number of seconds above 0"
        )));
    }
    let max_retries = options.max_retries.unwrap_or(DEFAULT_MAX_RETRIES);
    if max_retries > 100 {
        return Err(PlanError::BadValue(format!(
            "--max-retries {max_retries}: use 0 to 100"
        )));
    }
    let timeout = Duration::from_secs_f64(timeout);
    let settle = match options.settle {
        None => SettlePolicy::for_timeout(timeout).time,
        Some(s) if s.is_finite() && (0.0..=3600.0).contains(&s) => Duration::from_secs_f64(s),
        Some(s) => {
            return Err(PlanError::BadValue(format!(
                "--settle {s}: use 0 to 3600 seconds"
            )))
        }
    };
    Ok(Pacing {
        rate,
        concurrency,
        timeout,
        max_retries,
        settle,
    })
}

/// Parses a URL and accepts plain `http://` only for loopback hosts. Errors
/// show the URL without user info.
pub fn checked_url(what: &'static str, text: &str) -> Result<Url, PlanError> {
    let shown = || match Url::parse(text.trim()) {
        Ok(url) => shown_url(&url).to_string(),
        Err(_) => redact_userinfo(text.trim()),
    };
    let bad = |message: &str| PlanError::BadUrl {
        what,
        url: shown(),
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

/// Text that is not a URL, with anything between `//` and `@` hidden.
fn redact_userinfo(text: &str) -> String {
    match (text.find("//"), text.rfind('@')) {
        (Some(start), Some(at)) if at > start => {
            format!("{}//***@{}", &text[..start], &text[at + 1..])
        }
        _ => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: crate::cli::ImportArgs,
    }

    fn args(list: &[&str]) -> crate::cli::ImportArgs {
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
        assert_eq!(plan.pacing.rate.get(), DEFAULT_RATE);
        assert_eq!(plan.pacing.concurrency.get(), DEFAULT_CONCURRENCY);
        assert_eq!(plan.pacing.timeout, Duration::from_secs(30));
        assert_eq!(
            plan.pacing.settle,
            Duration::from_secs(30),
            "max(timeout, 5 s)"
        );
        let short = ImportPlan::new(
            &args(&["in.csv", "--timeout", "1"]),
            &env(&[("TFSO_ACCESS_TOKEN", "tok")]),
        )
        .unwrap();
        assert_eq!(short.pacing.settle, Duration::from_secs(5));
        assert_eq!(plan.existing, ExistingMode::Skip);
        assert_eq!(plan.outputs.results, PathBuf::from("in.csv.results.csv"));
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
            &["in.csv", "--settle=-1"],
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
    fn a_feed_url_is_checked_and_names_the_outputs() {
        let e = &env(&[("TFSO_ACCESS_TOKEN", "tok"), ("FEED_PASSWORD", "pw")]);
        let plan = ImportPlan::new(
            &args(&["https://user:hunter2@feeds.example.com/nightly/products.csv?k=1"]),
            e,
        )
        .unwrap();
        let feed = plan.feed.as_ref().unwrap();
        assert_eq!(
            plan.outputs.results,
            PathBuf::from("products.csv.results.csv")
        );
        assert_eq!(feed.stem, PathBuf::from("products.csv.results.csv.feed"));
        assert_eq!(feed.max_bytes, 512_000_000);
        assert_eq!(
            plan.outputs.state,
            PathBuf::from("products.csv.results.csv.state.json")
        );
        assert!(!format!("{plan:?}").contains("hunter2"), "{plan:?}");

        let err = ImportPlan::new(&args(&["http://feeds.example.com/p.csv"]), e).unwrap_err();
        assert!(err.to_string().contains("loopback"), "{err}");
        let dry = ImportPlan::new(
            &args(&[
                "http://127.0.0.1:9/p.csv",
                "--dry-run",
                "--results",
                "r.csv",
            ]),
            e,
        )
        .unwrap();
        assert_eq!(dry.outputs.results, PathBuf::from("r.dry-run.csv"));
        assert_eq!(
            dry.outputs.state,
            PathBuf::from("r.csv.state.json"),
            "a dry run reads the real job's state"
        );
        let named = ImportPlan::new(
            &args(&["https://x.test/f.csv", "--feed-auth-env", "NOPE"]),
            e,
        )
        .unwrap_err();
        assert!(named.to_string().contains("NOPE"), "{named}");
    }

    #[test]
    fn guards_and_missing_options() {
        let e = &env(&[("TFSO_ACCESS_TOKEN", "tok")]);
        let plan = ImportPlan::new(
            &args(&[
                "in.csv",
                "--min-rows=10",
                "--max-invalid=5%",
                "--missing=deactivate",
                "--scope-category=3,4",
                "--scope-category=7",
            ]),
            e,
        )
        .unwrap();
        assert_eq!(plan.guards.min_rows, Some(10));
        assert_eq!(
            plan.guards.max_invalid,
            Some(crate::feed::Threshold::Percent(5.0))
        );
        let missing = plan.missing.unwrap();
        assert_eq!(missing.categories, [3, 4, 7]);
        assert_eq!(missing.max_missing, DEFAULT_MAX_MISSING);
        for flags in [
            &["in.csv", "--scope-number-prefix", "A-"][..],
            &["in.csv", "--max-missing", "3"],
            &["in.csv", "--missing=report", "--scope-category=0"],
            &["in.csv", "--max-download-mb=0"],
        ] {
            assert!(ImportPlan::new(&args(flags), e).is_err(), "{flags:?}");
        }
        assert!(Cli::try_parse_from(["import", "in.csv", "--max-invalid", "lots"]).is_err());
    }

    #[test]
    fn the_sample_config_is_valid() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/import.toml");
        let config = ConfigFile::load(&path).unwrap();
        assert_eq!(config.pacing.rate, Some(DEFAULT_RATE));
        assert_eq!(config.rows.existing, Some(ExistingMode::Skip));
    }

    #[test]
    fn the_nightly_sample_config_is_valid() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/nightly/nightly.toml");
        let cfg = path.to_str().unwrap();
        let e = &env(&[
            ("TFSO_ACCESS_TOKEN", "tok"),
            ("SUPPLIER_FEED_TOKEN", "Bearer x"),
        ]);
        let plan = ImportPlan::new(
            &args(&[
                "https://feeds.example.com/export/products.csv",
                "--config",
                cfg,
            ]),
            e,
        )
        .unwrap();
        assert!(plan.if_changed);
        assert_eq!(plan.log_format, LogFormat::Json);
        assert_eq!(plan.guards.min_rows, Some(1000));
        assert_eq!(
            plan.guards.max_invalid,
            Some(crate::feed::Threshold::Percent(2.0))
        );
        let missing = plan.missing.unwrap();
        assert_eq!(missing.mode, crate::feed::missing::MissingMode::Deactivate);
        assert_eq!(missing.max_missing, crate::feed::Threshold::Percent(5.0));
        assert!(matches!(
            plan.feed.unwrap().source.auth,
            Some(FeedAuth::Header(_))
        ));
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
        std::fs::write(dir.path().join("map.toml"), "ignore = []\n").unwrap();
        let cfg = path.to_str().unwrap();
        let e = &env(&[("TFSO_ACCESS_TOKEN", "tok")]);
        let plan = ImportPlan::new(&args(&["in.csv", "--config", cfg, "--rate", "7"]), e).unwrap();
        assert_eq!(plan.pacing.rate.get(), 7);
        assert_eq!(plan.pacing.concurrency.get(), 2);
        assert_eq!(plan.existing, ExistingMode::Update);
        assert!(plan.create_categories);
        assert_eq!(plan.outputs.results, dir.path().join("out/results.jsonl"));
        assert_eq!(
            plan.input.mapping.as_ref().map(|(p, _)| p.clone()),
            Some(dir.path().join("map.toml"))
        );
        assert_eq!(
            plan.input.validate.decimal,
            Some(crate::values::DecimalMark::Comma)
        );

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
