//! Connecting: the in-process sandbox or a remote API, with its credentials
//! checked once before anything else happens.

use std::sync::Arc;
use std::time::Duration;

use url::Url;

use super::auth::{Credentials, Secret};
use super::http::HttpApi;
use super::pacing::Pacer;
use super::{ApiError, ProductApi, RequestCounters};
use crate::sandbox::{SandboxConfig, SandboxHandle};

/// Where to send the products.
#[derive(Debug, Clone)]
pub enum Connection {
    /// A sandbox started in-process.
    Sandbox,
    /// A real (or separately started) API.
    Remote {
        /// API base URL.
        base_url: Url,
        /// How to authenticate.
        credentials: Box<Credentials>,
    },
}

/// An authenticated client, and the sandbox behind it when there is one.
pub struct Connected {
    /// The client.
    pub api: HttpApi,
    /// The API's base URL, without user info.
    pub base_url: Url,
    /// The in-process sandbox, to shut down after the run.
    pub sandbox: Option<SandboxHandle>,
}

/// Why no authenticated client could be had.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The in-process sandbox did not start.
    #[error("cannot start the sandbox: {0:#}")]
    Sandbox(anyhow::Error),
    /// The HTTP client could not be built.
    #[error("cannot set up the HTTP client: {0}")]
    Client(#[from] reqwest::Error),
    /// The credentials were refused, or the API could not be reached.
    #[error(transparent)]
    Api(#[from] ApiError),
}

/// Starts the sandbox when asked, builds the client, and checks the
/// credentials (fetches a token, or makes the cheapest read with a ready one).
pub async fn connect(
    connection: &Connection,
    timeout: Duration,
    pacer: Arc<Pacer>,
    counters: Arc<RequestCounters>,
) -> Result<Connected, ConnectError> {
    let (base_url, credentials, sandbox) = match connection {
        Connection::Remote {
            base_url,
            credentials,
        } => (base_url.clone(), (**credentials).clone(), None),
        Connection::Sandbox => {
            let (base_url, credentials, handle) =
                start_sandbox().await.map_err(ConnectError::Sandbox)?;
            (base_url, credentials, Some(handle))
        }
    };
    let api = HttpApi::new(base_url.clone(), credentials, timeout, pacer, counters)?;
    if let Err(e) = api.authenticate().await {
        if let Some(handle) = sandbox {
            handle.shutdown().await;
        }
        return Err(e.into());
    }
    Ok(Connected {
        api,
        base_url: without_userinfo(&base_url),
        sandbox,
    })
}

/// `url` without a user name or password, for showing.
pub fn without_userinfo(url: &Url) -> Url {
    let mut shown = url.clone();
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown
}

/// Starts the in-process sandbox with its gentle defaults; returns its URL,
/// its demo credentials and the handle that stops it.
async fn start_sandbox() -> anyhow::Result<(Url, Credentials, SandboxHandle)> {
    use anyhow::Context as _;
    let handle = crate::sandbox::start(SandboxConfig::gentle()).await?;
    let base_url = Url::parse(&handle.base_url()).context("sandbox base URL")?;
    let token_url = Url::parse(&handle.token_url()).context("sandbox token URL")?;
    let demo = handle.credentials();
    let credentials = Credentials::Client {
        client_id: Secret::new(demo.client_id.clone()),
        client_secret: Secret::new(demo.client_secret.clone()),
        organization_id: demo.organization_id.clone(),
        token_url,
        audience: crate::sandbox::AUDIENCE.to_string(),
    };
    Ok((base_url, credentials, handle))
}
