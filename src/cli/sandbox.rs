//! `sandbox`'s flags: where it listens, how it misbehaves, and what it does
//! where the vendor leaves the behaviour open; turned here into the
//! sandbox crate's [`SandboxConfig`], which is all the sandbox is given.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use product_import_sandbox::{
    Behaviour, CreatedId, EanFilter, Fault503, FaultSpec, NumberSearch, OnDisconnect, Paging,
    PatchAnswer, PatchNested, PatchNulls, Profile, QueryParams, RateLimitAnswer, SandboxConfig,
    Scope, SeedData, SupplierFilter, TokenBody,
};

/// Shown after `product-import sandbox --help`: the two profiles side by side.
const PROFILES_HELP: &str = "\
Profiles (where the vendor's documentation leaves the behaviour open):
  switch                lenient      strict
  --number-search       exact        partial
  --ean-filter          honoured     ignored
  --supplier-filter     honoured     ignored
  --paging              numbered     cursor
  --search-lag-ms       0            1500
  --patch-nested        merge        replace
  --patch-nulls         clear        ignore
  --patch-answer        product      empty
  --rate-limit-status   429          503
  --fault-503           bare         retry-after
  --on-disconnect       cancel       finish
  --token-body          any          form
  --query-params        any          declared
  --deny-scope          (none)       (none)
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
    /// What GET /customers does with `isSupplier`: honoured, or ignored so
    /// customers that are not suppliers come back too [lenient: honoured, strict: ignored].
    #[arg(long, value_enum, value_name = "MODE", help_heading = BEHAVIOUR)]
    pub supplier_filter: Option<SupplierFilter>,
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
    /// What PATCH /products/{id} does with a field given as null
    /// [lenient: clear, strict: ignore].
    #[arg(long, value_enum, value_name = "MODE", help_heading = BEHAVIOUR)]
    pub patch_nulls: Option<PatchNulls>,
    /// What a successful PATCH /products/{id} answers: the product, or an
    /// empty body [lenient: product, strict: empty].
    #[arg(long, value_enum, value_name = "MODE", help_heading = BEHAVIOUR)]
    pub patch_answer: Option<PatchAnswer>,
    /// How the rate limit (--rate) refuses a request: 429, or 503 as an
    /// overloaded gateway does, both with Retry-After [lenient: 429, strict: 503].
    #[arg(long, value_enum, value_name = "STATUS", help_heading = BEHAVIOUR)]
    pub rate_limit_status: Option<RateLimitAnswer>,
    /// Whether the error503 fault carries Retry-After: 1, as some gateways
    /// answer any failure [lenient: bare, strict: retry-after].
    #[arg(long = "fault-503", value_enum, value_name = "MODE", help_heading = BEHAVIOUR)]
    pub fault_503: Option<Fault503>,
    /// What happens to a POST, PATCH or DELETE whose client disconnects
    /// [lenient: cancel, strict: finish].
    #[arg(long, value_enum, value_name = "MODE", help_heading = BEHAVIOUR)]
    pub on_disconnect: Option<OnDisconnect>,
    /// Withhold a scope from every token, so the endpoints that need it answer
    /// 403; repeat for more than one [both profiles grant every scope].
    #[arg(long, value_enum, value_name = "SCOPE", help_heading = BEHAVIOUR)]
    pub deny_scope: Vec<Scope>,
    /// A hostile server: the id a 201 to POST /products answers (the
    /// product is made with its real id) [both profiles: real].
    #[arg(long, value_enum, value_name = "ID", help_heading = BEHAVIOUR)]
    pub created_id: Option<CreatedId>,
    /// Which bodies POST /oauth/token takes: form-encoded or JSON, or
    /// form-encoded only as OAuth 2.0 says [lenient: any, strict: form].
    #[arg(long, value_enum, value_name = "BODY", help_heading = BEHAVIOUR)]
    pub token_body: Option<TokenBody>,
    /// Which query parameters the endpoints take: any (unknown ones are
    /// ignored), or only those the vendor declares, others getting 400
    /// [lenient: any, strict: declared].
    #[arg(long, value_enum, value_name = "MODE", help_heading = BEHAVIOUR)]
    pub query_params: Option<QueryParams>,
    /// A careless server: error messages quote the request they refuse,
    /// its Authorization header and a refused token request's body [both
    /// profiles: off].
    #[arg(long, help_heading = BEHAVIOUR)]
    pub quote_requests: bool,
    /// A hostile server: GET /products never ends, going on past the last
    /// page with moving windows of the same products [both profiles: off].
    #[arg(long, help_heading = BEHAVIOUR)]
    pub endless_pages: bool,
    /// A hostile server: every GET /products answer is padded to at least
    /// this many megabytes [both profiles: off].
    #[arg(long, value_name = "MB", help_heading = BEHAVIOUR)]
    pub huge_pages_mb: Option<usize>,
    /// Stock moves on the server: every product GET /products lists has its
    /// stock quantity raised by one right after [both profiles: off].
    #[arg(long, help_heading = BEHAVIOUR)]
    pub stock_moves: bool,
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
            config
                .faults
                .probability(product_import_sandbox::FaultKind::Reset),
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
