//! `product-import sandbox`: runs the sandbox in the foreground until Ctrl-C
//! or SIGTERM, after printing where it listens and the demo credentials.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use super::{
    start, Behaviour, EanFilter, FaultSpec, NumberSearch, OnDisconnect, Paging, PatchNested,
    Profile, SandboxConfig, Scope, SeedData, AUDIENCE,
};

/// Shown after `product-import sandbox --help`: the two profiles side by side.
const PROFILES_HELP: &str = "\
Profiles (where the vendor's documentation leaves the behaviour open):
  switch            lenient      strict
  --number-search   exact        partial
  --ean-filter      honoured     ignored
  --paging          numbered     cursor
  --search-lag-ms   0            1500
  --patch-nested    merge        replace
  --on-disconnect   cancel       finish
  --deny-scope      (none)       (none)
A switch given on its own overrides the profile's setting.";

/// Heading of the flags for what the vendor leaves open.
const BEHAVIOUR: &str = "Behaviour where the vendor is silent";

/// Flags of `product-import sandbox`.
#[derive(Debug, Clone, Args)]
#[command(after_long_help = PROFILES_HELP)]
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
    /// Faults to inject, e.g. error500=0.05,error503=0.02,reset=0.02,ambiguous=0.02,slow=0.01,late=0.01
    #[arg(long, value_name = "SPEC")]
    pub faults: Option<FaultSpec>,
    /// How long a `slow` fault waits before answering, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 20_000)]
    pub slow_ms: u64,
    /// How long a `late` fault waits before creating the product, in milliseconds
    /// (the creation happens even when the client has given up by then).
    #[arg(long, value_name = "MS", default_value_t = 2_500)]
    pub late_ms: u64,
    /// Behaviour where the vendor leaves it open (see the table at the end of
    /// --help); the flags below override single switches.
    #[arg(long, value_enum, value_name = "PROFILE", default_value_t = Profile::Lenient,
          help_heading = BEHAVIOUR)]
    pub profile: Profile,
    /// How GET /products?productNumber= matches [lenient: exact, strict: partial].
    #[arg(long, value_enum, value_name = "MODE", help_heading = BEHAVIOUR)]
    pub number_search: Option<NumberSearch>,
    /// What GET /products does with the undocumented `ean` parameter
    /// [lenient: honoured, strict: ignored].
    #[arg(long, value_enum, value_name = "MODE", help_heading = BEHAVIOUR)]
    pub ean_filter: Option<EanFilter>,
    /// How /products, /productcategories and /customers page their answers
    /// [lenient: numbered, strict: cursor].
    #[arg(long, value_enum, value_name = "MODE", help_heading = BEHAVIOUR)]
    pub paging: Option<Paging>,
    /// How long a new product stays out of GET /products answers while
    /// GET /products/{id} already finds it, in milliseconds [lenient: 0, strict: 1500].
    #[arg(long, value_name = "MS", help_heading = BEHAVIOUR)]
    pub search_lag_ms: Option<u64>,
    /// What PATCH /products/{id} does with a nested object it is given (stock,
    /// supplierProduct) [lenient: merge, strict: replace].
    #[arg(long, value_enum, value_name = "MODE", help_heading = BEHAVIOUR)]
    pub patch_nested: Option<PatchNested>,
    /// What happens to a POST, PATCH or DELETE whose client disconnects
    /// [lenient: cancel, strict: finish].
    #[arg(long, value_enum, value_name = "MODE", help_heading = BEHAVIOUR)]
    pub on_disconnect: Option<OnDisconnect>,
    /// Withhold a scope from every token, so the endpoints that need it answer
    /// 403; repeat for more than one [both profiles grant every scope].
    #[arg(long, value_enum, value_name = "SCOPE", help_heading = BEHAVIOUR)]
    pub deny_scope: Vec<Scope>,
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
            late_delay: Duration::from_millis(self.late_ms),
            behaviour: self.behaviour(),
            seed: self.seed.unwrap_or_else(rand::random),
            data,
            ..SandboxConfig::default()
        })
    }
}

impl SandboxArgs {
    /// The profile's switches with the single-switch flags applied on top.
    pub fn behaviour(&self) -> Behaviour {
        let mut behaviour = self.profile.behaviour();
        if let Some(mode) = self.number_search {
            behaviour.number_search = mode;
        }
        if let Some(mode) = self.ean_filter {
            behaviour.ean_filter = mode;
        }
        if let Some(mode) = self.paging {
            behaviour.paging = mode;
        }
        if let Some(ms) = self.search_lag_ms {
            behaviour.search_lag = Duration::from_millis(ms);
        }
        if let Some(mode) = self.patch_nested {
            behaviour.patch_nested = mode;
        }
        if let Some(mode) = self.on_disconnect {
            behaviour.on_disconnect = mode;
        }
        behaviour
            .denied_scopes
            .extend(self.deny_scope.iter().copied());
        behaviour
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
        args.profile,
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
fn describe(config: &SandboxConfig, profile: Profile, data_file: Option<String>) -> Vec<String> {
    let rate = config
        .rate
        .map_or("none".to_owned(), |n| format!("{n} requests/s on /v1"));
    let faults = if config.faults.is_empty() {
        "none".to_owned()
    } else {
        format!(
            "{} (slow waits {} ms, late {} ms)",
            config.faults,
            config.slow_delay.as_millis(),
            config.late_delay.as_millis()
        )
    };
    let data = &config.data;
    let behaviour = &config.behaviour;
    let denied: Vec<&str> = behaviour.denied_scopes.iter().map(|s| s.name()).collect();
    vec![
        format!(
            "Behaviour: {} profile; number search {}, ean filter {}, paging {}, \
             search lag {} ms, PATCH {} nested objects, writes {} on disconnect; \
             scopes withheld: {}",
            mode(profile),
            mode(behaviour.number_search),
            mode(behaviour.ean_filter),
            mode(behaviour.paging),
            behaviour.search_lag.as_millis(),
            mode(behaviour.patch_nested),
            mode(behaviour.on_disconnect),
            if denied.is_empty() {
                "none".to_owned()
            } else {
                denied.join(", ")
            }
        ),
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

/// The flag value that selects a mode, e.g. `case-insensitive`.
fn mode(value: impl clap::ValueEnum) -> String {
    value
        .to_possible_value()
        .map_or_else(String::new, |v| v.get_name().to_owned())
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
        assert_eq!(config.behaviour, Behaviour::lenient());
        assert_eq!(config.late_delay, Duration::from_millis(2500));
    }

    #[test]
    fn profile_and_single_switches() {
        let parse = |flags: &[&str]| {
            let mut argv = vec!["sandbox"];
            argv.extend_from_slice(flags);
            Cli::try_parse_from(argv).unwrap().args.config().unwrap()
        };
        assert_eq!(
            parse(&["--profile", "strict"]).behaviour,
            Behaviour::strict()
        );
        let config = parse(&[
            "--profile",
            "strict",
            "--number-search",
            "case-insensitive",
            "--ean-filter",
            "honoured",
            "--paging",
            "numbered",
            "--search-lag-ms",
            "0",
            "--patch-nested",
            "merge",
            "--on-disconnect",
            "cancel",
            "--deny-scope",
            "api.crm.customer:read",
            "--deny-scope",
            "api.product.unit:read",
            "--late-ms",
            "700",
        ]);
        let expected = Behaviour {
            number_search: NumberSearch::CaseInsensitive,
            ..Behaviour::lenient()
                .deny(Scope::CustomerRead)
                .deny(Scope::UnitRead)
        };
        assert_eq!(config.behaviour, expected);
        assert_eq!(config.late_delay, Duration::from_millis(700));
        let lines = describe(&config, Profile::Strict, None);
        assert!(
            lines[0].contains("number search case-insensitive"),
            "{}",
            lines[0]
        );
        assert!(lines[0].contains("api.crm.customer:read"), "{}", lines[0]);
        assert!(
            Cli::try_parse_from(["sandbox", "--deny-scope", "api.crm.customer:write"]).is_err()
        );
        assert!(Cli::try_parse_from(["sandbox", "--profile", "evil"]).is_err());
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
