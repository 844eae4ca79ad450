//! `product-import sandbox`: runs the sandbox in the foreground until Ctrl-C
//! or SIGTERM, after printing where it listens and the demo credentials.

use std::time::Duration;

pub use crate::cli::SandboxArgs;

use super::{start, Behaviour, Profile, SandboxConfig, SeedData, AUDIENCE};

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
        if let Some(mode) = self.supplier_filter {
            behaviour.supplier_filter = mode;
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
        if let Some(mode) = self.patch_nulls {
            behaviour.patch_nulls = mode;
        }
        if let Some(mode) = self.patch_answer {
            behaviour.patch_answer = mode;
        }
        if let Some(mode) = self.rate_limit_status {
            behaviour.rate_limit_answer = mode;
        }
        if let Some(mode) = self.fault_503 {
            behaviour.fault_503 = mode;
        }
        if let Some(mode) = self.on_disconnect {
            behaviour.on_disconnect = mode;
        }
        if let Some(mode) = self.created_id {
            behaviour.created_id = mode;
        }
        behaviour.quote_requests |= self.quote_requests;
        behaviour.endless_pages |= self.endless_pages;
        behaviour.stock_moves |= self.stock_moves;
        if let Some(mb) = self.huge_pages_mb {
            behaviour.huge_pages = Some(mb << 20);
        }
        if let Some(mode) = self.token_body {
            behaviour.token_body = mode;
        }
        if let Some(mode) = self.query_params {
            behaviour.query_params = mode;
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
            "Behaviour: {} profile; number search {}, ean filter {}, supplier filter {}, paging {}, \
             search lag {} ms, PATCH {} nested objects and {} nulls and answers {}, \
             rate limit answers {}, 503 faults {}, writes {} on disconnect, token bodies {}, \
             query parameters {}; \
             scopes withheld: {}",
            mode(profile),
            mode(behaviour.number_search),
            mode(behaviour.ean_filter),
            mode(behaviour.supplier_filter),
            mode(behaviour.paging),
            behaviour.search_lag.as_millis(),
            mode(behaviour.patch_nested),
            mode(behaviour.patch_nulls),
            mode(behaviour.patch_answer),
            mode(behaviour.rate_limit_answer),
            mode(behaviour.fault_503),
            mode(behaviour.on_disconnect),
            mode(behaviour.token_body),
            mode(behaviour.query_params),
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
    use crate::sandbox::{NumberSearch, Scope};
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
            "--supplier-filter",
            "honoured",
            "--paging",
            "numbered",
            "--search-lag-ms",
            "0",
            "--patch-nested",
            "merge",
            "--patch-nulls",
            "clear",
            "--patch-answer",
            "product",
            "--rate-limit-status",
            "429",
            "--fault-503",
            "bare",
            "--on-disconnect",
            "cancel",
            "--token-body",
            "any",
            "--query-params",
            "any",
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
            Cli::try_parse_from(["sandbox", "--deny-scope", "api.crm.customer:delete"]).is_err()
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
