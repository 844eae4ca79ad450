//! `product-import sandbox`: runs the sandbox in the foreground until Ctrl-C
//! or SIGTERM, after printing where it listens and the demo credentials.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use super::{start, FaultSpec, SandboxConfig, SeedData, AUDIENCE};

/// Flags of `product-import sandbox`.
#[derive(Debug, Clone, Args)]
pub struct SandboxArgs {
    /// Address to listen on.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Accept at most N requests per second under /v1; a burst above N gets 429 with Retry-After.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub rate: Option<u32>,
    /// Delay every request by this many milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    pub latency_ms: u64,
    /// Vary the delay randomly by up to this many milliseconds either way.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    pub jitter_ms: u64,
    /// Lifetime of access tokens, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 3600,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub token_ttl: u64,
    /// Faults to inject, e.g. error500=0.05,error503=0.02,reset=0.02,ambiguous=0.02,slow=0.01
    #[arg(long, value_name = "SPEC")]
    pub faults: Option<FaultSpec>,
    /// How long a `slow` fault waits before answering, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 20_000)]
    pub slow_ms: u64,
    /// Seed of the random choices, to repeat a run's faults (default: random, printed).
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// Start with the categories, units, suppliers and products in this JSON file.
    #[arg(long, value_name = "FILE.json")]
    pub data: Option<PathBuf>,
}

impl SandboxArgs {
    /// The configuration these flags ask for; reads the `--data` file.
    pub fn config(&self) -> anyhow::Result<SandboxConfig> {
        let data = match &self.data {
            Some(path) => SeedData::load(path)?,
            None => SeedData::builtin(),
        };
        Ok(SandboxConfig {
            listen: self.listen,
            rate: self.rate,
            latency: Duration::from_millis(self.latency_ms),
            jitter: Duration::from_millis(self.jitter_ms),
            token_ttl: Duration::from_secs(self.token_ttl),
            faults: self.faults.clone().unwrap_or_default(),
            slow_delay: Duration::from_millis(self.slow_ms),
            seed: self.seed.unwrap_or_else(rand::random),
            data,
            ..SandboxConfig::default()
        })
    }
}

impl TryFrom<&SandboxArgs> for SandboxConfig {
    type Error = anyhow::Error;

    /// Same as [`SandboxArgs::config`].
    fn try_from(args: &SandboxArgs) -> anyhow::Result<Self> {
        args.config()
    }
}

/// Runs `product-import sandbox` until Ctrl-C or SIGTERM.
pub async fn run(args: SandboxArgs) -> anyhow::Result<()> {
    let config = args.config()?;
    let summary = describe(
        &config,
        args.data.as_deref().map(|p| p.display().to_string()),
    );
    let sandbox = start(config).await?;
    let credentials = sandbox.credentials();
    println!("Sandbox of the Finago Office products API, for trying the importer.");
    println!("Base URL:  {}", sandbox.base_url());
    println!("Token URL: {}", sandbox.token_url());
    println!("Demo credentials (for this sandbox only; they work nowhere else):");
    println!("  client_id           {}", credentials.client_id);
    println!("  client_secret       {}", credentials.client_secret);
    println!("  login_organization  {}", credentials.organization_id);
    println!("  audience            {AUDIENCE}");
    for line in summary {
        println!("{line}");
    }
    println!("Serving until Ctrl-C or SIGTERM.");
    wait_for_stop().await?;
    let stats = sandbox.stats();
    sandbox.shutdown().await;
    eprintln!(
        "Stopped. Requests: {}; refused by the rate limit: {}; faults injected: {}.",
        stats.total(),
        stats.rate_limited,
        stats.faults.values().sum::<u64>()
    );
    Ok(())
}

/// The settings worth telling the user, one line each.
fn describe(config: &SandboxConfig, data_file: Option<String>) -> Vec<String> {
    let rate = config
        .rate
        .map_or("none".to_owned(), |n| format!("{n} requests/s on /v1"));
    let faults = if config.faults.is_empty() {
        "none".to_owned()
    } else {
        format!(
            "{} (slow waits {} ms)",
            config.faults,
            config.slow_delay.as_millis()
        )
    };
    let data = &config.data;
    vec![
        format!("Rate limit: {rate}"),
        format!(
            "Latency: {} ms ± {} ms; tokens live {} s",
            config.latency.as_millis(),
            config.jitter.as_millis(),
            config.token_ttl.as_secs()
        ),
        format!("Faults: {faults}; seed {}", config.seed),
        format!(
            "Data: {} ({} categories, {} units, {} suppliers, {} products)",
            data_file.unwrap_or_else(|| "built-in".to_owned()),
            data.categories.len(),
            data.units.len(),
            data.suppliers.len(),
            data.products.len()
        ),
    ]
}

async fn wait_for_stop() -> anyhow::Result<()> {
    crate::interrupt::interrupted().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: SandboxArgs,
    }

    #[test]
    fn flags_become_a_config() {
        let cli = Cli::try_parse_from([
            "sandbox",
            "--rate",
            "5",
            "--latency-ms",
            "30",
            "--jitter-ms",
            "5",
            "--token-ttl",
            "60",
            "--faults",
            "reset=0.5",
            "--seed",
            "9",
            "--slow-ms",
            "1500",
        ])
        .unwrap();
        let config = cli.args.config().unwrap();
        assert_eq!(config.listen, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(config.rate, Some(5));
        assert_eq!(config.latency, Duration::from_millis(30));
        assert_eq!(config.jitter, Duration::from_millis(5));
        assert_eq!(config.token_ttl, Duration::from_secs(60));
        assert_eq!(
            config.faults.probability(super::super::FaultKind::Reset),
            0.5
        );
        assert_eq!(config.slow_delay, Duration::from_millis(1500));
        assert_eq!(config.seed, 9);
        assert_eq!(config.data, SeedData::builtin());
    }

    #[test]
    fn bad_flags_are_refused() {
        assert!(Cli::try_parse_from(["sandbox", "--rate", "0"]).is_err());
        assert!(Cli::try_parse_from(["sandbox", "--faults", "boom=1"]).is_err());
        assert!(Cli::try_parse_from(["sandbox", "--token-ttl", "0"]).is_err());
    }

    #[test]
    fn missing_data_file_is_an_error() {
        let cli = Cli::try_parse_from(["sandbox", "--data", "/nonexistent/seed.json"]).unwrap();
        let error = cli.args.config().unwrap_err();
        assert!(format!("{error:#}").contains("/nonexistent/seed.json"));
    }
}
