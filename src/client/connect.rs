//! Connecting: the in-process sandbox or a remote API, with its credentials
//! checked once before anything else happens.

use std::sync::Arc;
use std::time::Duration;

use product_import_sandbox::{SandboxConfig, SandboxHandle};
use url::Url;

use super::auth::{Credentials, Secret};
use super::http::HttpApi;
use super::pacing::Pacer;
use super::{ApiError, ProductApi, RequestCounters};

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
    #[error("cannot start the sandbox: {}", crate::log::error_text(&**.0))]
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
        base_url: shown_url(&base_url),
        sandbox,
    })
}

/// `url` as it may be shown: without a user name or password, and with the
/// value of every query parameter whose name looks like a secret (`token`,
/// `api_key`, `X-Amz-Signature`, `password`, ...) replaced by `***`.
pub fn shown_url(url: &Url) -> Url {
    let mut shown = url.clone();
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    if shown.query().is_some() {
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(k, v)| {
                let v = if secret_looking(&k) { "***".into() } else { v };
                (k.into_owned(), v.into_owned())
            })
            .collect();
        shown.query_pairs_mut().clear().extend_pairs(pairs);
    }
    shown
}

/// Whether a query parameter's name suggests its value is a secret.
fn secret_looking(name: &str) -> bool {
    const HINTS: [&str; 11] = [
        "token",
        "key",
        "secret",
        "pass",
        "pwd",
        "sig",
        "auth",
        "credential",
        "session",
        "jwt",
        "code",
    ];
    let name = name.to_ascii_lowercase();
    HINTS.iter().any(|h| name.contains(h))
}

/// Starts the in-process sandbox with its gentle defaults; returns its URL,
/// its demo credentials and the handle that stops it.
async fn start_sandbox() -> anyhow::Result<(Url, Credentials, SandboxHandle)> {
    use anyhow::Context as _;
    let handle = product_import_sandbox::start(SandboxConfig::gentle()).await?;
    let base_url = Url::parse(&handle.base_url()).context("sandbox base URL")?;
    let token_url = Url::parse(&handle.token_url()).context("sandbox token URL")?;
    let demo = handle.credentials();
    let credentials = Credentials::Client {
        client_id: Secret::new(demo.client_id.clone()),
        client_secret: Secret::new(demo.client_secret.clone()),
        organization_id: demo.organization_id.clone(),
        token_url,
        audience: product_import_sandbox::AUDIENCE.to_string(),
    };
    Ok((base_url, credentials, handle))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shown_url_keeps_no_secret() {
        let url = Url::parse(
            "https://user:pw@feeds.test/export.csv?format=csv&token=t0p&API_Key=k3y&X-Amz-Signature=s1g",
        )
        .unwrap();
        let shown = shown_url(&url).to_string();
        assert_eq!(
            shown,
            "https://feeds.test/export.csv?format=csv&token=***&API_Key=***&X-Amz-Signature=***"
        );
        let plain = Url::parse("http://127.0.0.1:8080/v1").unwrap();
        assert_eq!(shown_url(&plain), plain);
    }
}
