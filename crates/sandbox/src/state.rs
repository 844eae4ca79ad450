//! The state shared by every request of one sandbox.

use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use crate::auth::TokenStore;
use crate::behaviour::Behaviour;
use crate::config::{DemoCredentials, SandboxConfig};
use crate::faults::FaultInjector;
use crate::observe::{Latency, TraceIds};
use crate::paging::Cursors;
use crate::rate::{limit_for, RateLimit};
use crate::schema::Schemas;
use crate::stats::StatsRecorder;
use crate::store::Store;

/// Seeds of the independent random streams, derived from the one configured
/// seed so that, for example, jitter does not shift the fault sequence.
const TRACE_STREAM: u64 = 0x7472_6163_6520_6964;
const LATENCY_STREAM: u64 = 0x6c61_7465_6e63_7921;
const CURSOR_STREAM: u64 = 0x6375_7273_6f72_2121;

/// One sandbox's state.
pub(crate) struct Sandbox {
    pub(crate) credentials: DemoCredentials,
    pub(crate) tokens: TokenStore,
    pub(crate) rate_limit: Option<RateLimit>,
    pub(crate) latency: Latency,
    pub(crate) faults: FaultInjector,
    pub(crate) slow_delay: Duration,
    pub(crate) late_delay: Duration,
    pub(crate) behaviour: Behaviour,
    pub(crate) cursors: Cursors,
    pub(crate) trace_ids: TraceIds,
    pub(crate) stats: StatsRecorder,
    pub(crate) schemas: Schemas,
    /// The id of the first product a `POST /products` made.
    pub(crate) first_posted_id: std::sync::OnceLock<i64>,
    store: Mutex<Store>,
}

impl Sandbox {
    /// Builds the state and creates the seed products.
    pub(crate) fn new(config: SandboxConfig) -> anyhow::Result<Self> {
        config.data.check()?;
        let schemas = Schemas::new();
        let mut store = Store::new(&config.data);
        for (index, body) in config.data.products.iter().enumerate() {
            let created = schemas
                .check_product_post(body.clone())
                .and_then(|fields| store.create_product(&fields));
            if let Err(error) = created {
                anyhow::bail!("product {} of the seed data is refused: {error}", index + 1);
            }
        }
        let behaviour = config.behaviour;
        store.set_behaviour(&behaviour);
        let granted = behaviour.granted_scopes().into_iter().collect();
        Ok(Sandbox {
            credentials: config.credentials,
            tokens: TokenStore::new(config.token_ttl, granted),
            rate_limit: limit_for(config.rate, &config.rate_schedule),
            latency: Latency::new(config.latency, config.jitter, config.seed ^ LATENCY_STREAM),
            faults: FaultInjector::new(config.faults, config.seed),
            slow_delay: config.slow_delay,
            late_delay: config.late_delay,
            cursors: Cursors::new(config.seed ^ CURSOR_STREAM),
            behaviour,
            trace_ids: TraceIds::new(config.seed ^ TRACE_STREAM),
            stats: StatsRecorder::new(),
            schemas,
            first_posted_id: std::sync::OnceLock::new(),
            store: Mutex::new(store),
        })
    }

    /// The store, locked. Never held across an `.await`.
    pub(crate) fn store(&self) -> MutexGuard<'_, Store> {
        self.store
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
