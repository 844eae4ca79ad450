//! `product-import sandbox`: runs the sandbox in the foreground until told
//! to stop, after printing where it listens, the demo credentials and the
//! settings. Its flags are parsed by the importer's command line, which
//! turns them into a [`SandboxConfig`].

use std::future::Future;
use std::path::Path;

use crate::behaviour::Profile;
use crate::config::{SandboxConfig, AUDIENCE};
use crate::handle::start;

/// Runs a sandbox in the foreground until `stop` completes (the command
/// passes Ctrl-C or SIGTERM). `profile` and `data_file` are what the
/// configuration was made from, named in the summary printed at start.
pub async fn run(
    config: SandboxConfig,
    profile: Profile,
    data_file: Option<&Path>,
    stop: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let summary = describe(&config, profile, data_file.map(|p| p.display().to_string()));
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
    stop.await;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::behaviour::{Behaviour, NumberSearch, Scope};

    #[test]
    fn the_summary_names_profile_switches_and_scopes() {
        let config = SandboxConfig {
            behaviour: Behaviour {
                number_search: NumberSearch::CaseInsensitive,
                ..Behaviour::lenient().deny(Scope::CustomerRead)
            },
            rate: Some(5),
            ..SandboxConfig::default()
        };
        let lines = describe(&config, Profile::Strict, None);
        assert!(
            lines[0].starts_with("Behaviour: strict profile;"),
            "{}",
            lines[0]
        );
        assert!(
            lines[0].contains("number search case-insensitive"),
            "{}",
            lines[0]
        );
        assert!(lines[0].contains("api.crm.customer:read"), "{}", lines[0]);
        assert_eq!(lines[1], "Rate limit: 5 requests/s on /v1");
        assert!(lines[4].starts_with("Data: built-in ("), "{}", lines[4]);
    }
}
