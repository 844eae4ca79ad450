//! A running sandbox: [`start`] binds, builds the state and serves it;
//! [`SandboxHandle`] says where it listens and shows what it holds.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::{DemoCredentials, SandboxConfig};
use crate::state::Sandbox;
use crate::stats::SandboxStats;
use crate::wire::{Category, Product, Supplier};
use crate::{routes, server};

/// A running sandbox. Dropping it stops the server too; [`SandboxHandle::shutdown`]
/// also waits for it to finish.
pub struct SandboxHandle {
    addr: SocketAddr,
    state: Arc<Sandbox>,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

/// Starts a sandbox and returns once it accepts connections.
///
/// Fails when the address cannot be bound or the seed data is inconsistent
/// (duplicate ids, a product that does not pass the sandbox's own validation).
pub async fn start(config: SandboxConfig) -> anyhow::Result<SandboxHandle> {
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let addr = listener.local_addr().context("listening address")?;
    let state = Arc::new(Sandbox::new(config).context("sandbox seed data")?);
    let router = routes::router(state.clone());
    let (stop, stopped) = watch::channel(false);
    let task = tokio::spawn(server::serve(listener, router, stopped));
    Ok(SandboxHandle {
        addr,
        state,
        stop,
        task: Some(task),
    })
}

impl SandboxHandle {
    /// The address the sandbox listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Base URL of the API, e.g. `http://127.0.0.1:8080/v1`.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// URL of the token endpoint, e.g. `http://127.0.0.1:8080/oauth/token`.
    pub fn token_url(&self) -> String {
        format!("http://{}/oauth/token", self.addr)
    }

    /// The demo credentials this sandbox accepts.
    pub fn credentials(&self) -> &DemoCredentials {
        &self.state.credentials
    }

    /// A snapshot of the products held, in id order; duplicates are visible.
    pub fn products(&self) -> Vec<Product> {
        self.state.store().products()
    }

    /// How many products the sandbox holds now (duplicates included, also
    /// those still hidden from searches by the search lag).
    pub fn product_count(&self) -> usize {
        self.state.store().product_count()
    }

    /// A snapshot of the product categories, in id order.
    pub fn categories(&self) -> Vec<Category> {
        self.state.store().categories().to_vec()
    }

    /// A snapshot of the customers (suppliers or not), in the order created.
    pub fn customers(&self) -> Vec<Supplier> {
        self.state.store().suppliers().to_vec()
    }

    /// A snapshot of the counters since start.
    pub fn stats(&self) -> SandboxStats {
        self.state.stats.snapshot()
    }

    /// Stops accepting connections, lets open ones finish for up to a second,
    /// closes the rest and waits for the server to end.
    pub async fn shutdown(mut self) {
        self.stop.send_replace(true);
        if let Some(task) = self.task.take() {
            // The server task only ends by itself; a panic in it is already reported.
            let _ = task.await;
        }
    }
}

impl std::fmt::Debug for SandboxHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SandboxHandle")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Drop for SandboxHandle {
    fn drop(&mut self) {
        self.stop.send_replace(true);
    }
}
