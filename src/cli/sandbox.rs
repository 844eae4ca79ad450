//! `sandbox`'s flags: where it listens, how it misbehaves, and what it does
//! where the vendor leaves the behaviour open. Turned into a
//! [`crate::sandbox::SandboxConfig`] by the sandbox's own command.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;

use crate::sandbox::{
    CreatedId, EanFilter, Fault503, FaultSpec, NumberSearch, OnDisconnect, Paging, PatchAnswer,
    PatchNested, PatchNulls, Profile, QueryParams, RateLimitAnswer, Scope, SupplierFilter,
    TokenBody,
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
