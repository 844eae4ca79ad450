//! What a sandbox is started with ([`SandboxConfig`]): where it listens,
//! how fast it is, how it fails, how it behaves where the vendor is silent
//! and which records it starts with; and the demo credentials it accepts.

use std::net::SocketAddr;
use std::time::Duration;

use crate::behaviour::Behaviour;
use crate::faults::FaultSpec;
use crate::rate::RateSchedule;
use crate::seed::SeedData;

/// The `audience` a token request must name, as for the real service.
pub const AUDIENCE: &str = "https://api.24sevenoffice.com";

/// The client credentials the sandbox accepts at `/oauth/token`.
///
/// They are demo credentials for the sandbox only and work nowhere else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoCredentials {
    /// `client_id` to send.
    pub client_id: String,
    /// `client_secret` to send.
    pub client_secret: String,
    /// `login_organization` to send.
    pub organization_id: String,
}

impl Default for DemoCredentials {
    fn default() -> Self {
        DemoCredentials {
            client_id: "sandbox-demo-client".to_owned(),
            client_secret: "sandbox-demo-secret".to_owned(),
            organization_id: "sandbox-demo-organization".to_owned(),
        }
    }
}

/// How a sandbox behaves: where it listens, how fast it is, how it fails and
/// which records it starts with.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// Address to listen on; port 0 picks a free port.
    pub listen: SocketAddr,
    /// Requests per second accepted under `/v1`; `None` for no limit.
    pub rate: Option<u32>,
    /// Changes of that limit part way through a run, and whether its
    /// budget starts spent; by default none.
    pub rate_schedule: RateSchedule,
    /// Delay added to every accepted request.
    pub latency: Duration,
    /// The delay varies uniformly by up to this much either way (never below zero).
    pub jitter: Duration,
    /// Lifetime of issued access tokens.
    pub token_ttl: Duration,
    /// Which faults to inject and how often.
    pub faults: FaultSpec,
    /// How long a [`FaultKind::Slow`](crate::FaultKind::Slow) request waits before answering.
    pub slow_delay: Duration,
    /// How long a [`FaultKind::Late`](crate::FaultKind::Late) request waits before creating the product.
    pub late_delay: Duration,
    /// How the sandbox answers where the vendor leaves the behaviour open.
    pub behaviour: Behaviour,
    /// Seed of the random choices (faults, jitter, trace ids), for reproducible runs.
    pub seed: u64,
    /// Categories, units, suppliers and products the sandbox starts with.
    pub data: SeedData,
    /// The credentials accepted at `/oauth/token`.
    pub credentials: DemoCredentials,
}

impl Default for SandboxConfig {
    /// A well-behaved sandbox on an ephemeral loopback port: no rate limit, no
    /// latency, no faults, tokens valid for an hour, the built-in seed data,
    /// the lenient [`Behaviour`].
    fn default() -> Self {
        SandboxConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            rate: None,
            rate_schedule: RateSchedule::default(),
            latency: Duration::ZERO,
            jitter: Duration::ZERO,
            token_ttl: Duration::from_secs(3600),
            faults: FaultSpec::default(),
            slow_delay: Duration::from_secs(20),
            late_delay: Duration::from_millis(2500),
            behaviour: Behaviour::lenient(),
            seed: 0,
            data: SeedData::default(),
            credentials: DemoCredentials::default(),
        }
    }
}

impl SandboxConfig {
    /// The defaults of `import --sandbox`: 20 requests per second and
    /// 20 ms ± 10 ms of latency, so that pacing and progress are visible.
    pub fn gentle() -> Self {
        SandboxConfig {
            rate: Some(20),
            latency: Duration::from_millis(20),
            jitter: Duration::from_millis(10),
            ..SandboxConfig::default()
        }
    }

    /// [`SandboxConfig::default`] with the strict [`Behaviour`]: the worst
    /// plausible server, still without faults or latency.
    pub fn strict() -> Self {
        SandboxConfig {
            behaviour: Behaviour::strict(),
            ..SandboxConfig::default()
        }
    }
}
