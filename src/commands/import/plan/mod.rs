//! The import plan: flags merged over the `--config` file and the
//! environment, checked and turned into real types before any I/O except
//! reading the config and mapping files. Where the outputs go, and the
//! check that they collide with nothing, are in [`paths`].

mod paths;
mod types;

use std::num::{NonZeroU32, NonZeroUsize};
use std::path::Path;
use std::time::Duration;

use url::{Host, Url};

use crate::cli::{
    ApiOptions, ConfigFile, GuardOptions, ImportArgs, InputOptions, InputPlan, PacingOptions,
    RateArg, ReadArgs,
};
use crate::client::auth::Credentials;
use crate::client::connect::{shown_url, Connection};
use crate::client::pacing::Pace;
use crate::feed::download::{with_suffix, DEFAULT_MAX_DOWNLOAD_MB};
use crate::feed::guard::Guards;
use crate::feed::missing::{MissingPlan, DEFAULT_MAX_MISSING};
use crate::feed::{FeedAuth, FeedSource};
use crate::pipeline::retry::SettlePolicy;
use paths::output_paths;
pub use types::{FeedPlan, ImportPlan, Outputs, Pacing, PlanError};

/// The vendor's API.
pub const DEFAULT_BASE_URL: &str = "https://rest.api.24sevenoffice.com/v1";
/// The vendor's token endpoint.
pub const DEFAULT_TOKEN_URL: &str = "https://login.24sevenoffice.com/oauth/token";
/// Requests per second when neither `--rate` nor the config file says: a
/// conservative pace for an API whose limits are not published.
pub const DEFAULT_RATE: u32 = 10;
/// The ceiling of `--rate auto`, by default.
pub const DEFAULT_MAX_RATE: u32 = 1000;
/// Requests in flight at most, by default.
pub const DEFAULT_CONCURRENCY: usize = 8;
/// Seconds to wait for one answer, by default.
pub const DEFAULT_TIMEOUT_SECS: f64 = 30.0;
/// Retries after 5xx, connection errors and timeouts, by default.
pub const DEFAULT_MAX_RETRIES: u32 = 5;

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
            create_suppliers: rows.create_suppliers,
            match_by_name: rows.match_by == Some(crate::cli::MatchBy::Name),
            resume: args.resume,
            afresh: args.afresh,
            wait_lock: wait_lock(args.wait_lock)?,
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

/// `--wait-lock`, checked: 0 to a day.
fn wait_lock(secs: Option<f64>) -> Result<Duration, PlanError> {
    match secs {
        None => Ok(Duration::ZERO),
        Some(s) if s.is_finite() && (0.0..=86_400.0).contains(&s) => Ok(Duration::from_secs_f64(s)),
        Some(s) => Err(PlanError::BadValue(format!(
            "--wait-lock {s}: use 0 to 86400 seconds"
        ))),
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
    let per_second = |flag: &str, rate: u32| {
        NonZeroU32::new(rate)
            .filter(|r| r.get() <= 10_000)
            .ok_or_else(|| {
                PlanError::BadValue(format!("{flag} {rate}: use 1 to 10000 requests per second"))
            })
    };
    let rate =
        match (
            options.rate.unwrap_or(RateArg::PerSecond(DEFAULT_RATE)),
            options.max_rate,
        ) {
            (RateArg::PerSecond(rate), None) => Pace::Fixed(per_second("--rate", rate)?),
            (RateArg::PerSecond(_), Some(_)) => return Err(PlanError::BadValue(
                "--max-rate is the ceiling of --rate auto; with a number, --rate is the ceiling"
                    .into(),
            )),
            (RateArg::Auto, max) => Pace::Auto {
                max: per_second("--max-rate", max.unwrap_or(DEFAULT_MAX_RATE))?,
            },
        };
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
mod tests;
