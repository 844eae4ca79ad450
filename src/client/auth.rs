//! Credentials and the bearer token: where they come from, how they are kept
//! out of every printout, and the shared token that is fetched once, refreshed
//! before it expires and refreshed once when the server answers 401.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;
use url::Url;

/// A secret string (client secret, access token). Its `Debug` and `Display`
/// print `***`, so it cannot leak through a log line or an error message.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Arc<str>);

impl Secret {
    /// Wraps a secret, and remembers it so that no text shown or logged
    /// carries it ([`crate::secrets`]).
    pub fn new(value: impl Into<String>) -> Secret {
        let value = value.into();
        crate::secrets::remember(&value);
        Secret(Arc::from(value))
    }

    /// The secret itself, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// The audience of the vendor's token endpoint.
pub const DEFAULT_AUDIENCE: &str = "https://api.24sevenoffice.com";

/// How the importer authenticates.
#[derive(Debug, Clone)]
pub enum Credentials {
    /// A ready bearer token (`TFSO_ACCESS_TOKEN`); never refreshed.
    Token(Secret),
    /// OAuth 2.0 client credentials (`TFSO_CLIENT_ID`, `TFSO_CLIENT_SECRET`, `TFSO_ORGANIZATION_ID`).
    Client {
        /// Client id.
        client_id: Secret,
        /// Client secret.
        client_secret: Secret,
        /// Organization the token is for (`login_organization`).
        organization_id: String,
        /// Token endpoint.
        token_url: Url,
        /// `audience` of the token request.
        audience: String,
    },
}

impl Credentials {
    /// Reads credentials from the environment (through `env`, so tests need
    /// not touch the process environment). `TFSO_ACCESS_TOKEN` wins over the
    /// client credentials. `None` when neither is set.
    pub fn from_env(
        env: &dyn Fn(&str) -> Option<String>,
        token_url: Url,
    ) -> Result<Option<Credentials>, CredentialsError> {
        let get = |k: &str| {
            env(k)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        if let Some(token) = get("TFSO_ACCESS_TOKEN") {
            return Ok(Some(Credentials::Token(Secret::new(token))));
        }
        let id = get("TFSO_CLIENT_ID");
        let secret = get("TFSO_CLIENT_SECRET");
        let org = get("TFSO_ORGANIZATION_ID");
        match (id, secret, org) {
            (None, None, None) => Ok(None),
            (Some(id), Some(secret), Some(org)) => Ok(Some(Credentials::Client {
                client_id: Secret::new(id),
                client_secret: Secret::new(secret),
                organization_id: org,
                token_url,
                audience: DEFAULT_AUDIENCE.to_string(),
            })),
            (id, secret, org) => {
                let missing: Vec<&str> = [
                    ("TFSO_CLIENT_ID", id.is_none()),
                    ("TFSO_CLIENT_SECRET", secret.is_none()),
                    ("TFSO_ORGANIZATION_ID", org.is_none()),
                ]
                .iter()
                .filter(|(_, m)| *m)
                .map(|(k, _)| *k)
                .collect();
                Err(CredentialsError::Incomplete(missing.join(", ")))
            }
        }
    }
}

/// Credentials missing or incomplete in the environment.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CredentialsError {
    /// Some of the client-credential variables are set, others not.
    #[error("incomplete client credentials: {0} not set")]
    Incomplete(String),
}

/// A bearer token with the time at which it should be replaced.
#[derive(Debug, Clone)]
pub struct Token {
    /// The token.
    pub value: Secret,
    /// Bumped on every fetch, so a 401 invalidates only the token it was given.
    pub generation: u64,
    /// When to fetch a new one; `None` for a token that is never refreshed.
    pub refresh_at: Option<Instant>,
    /// When it was fetched (for a fixed token: when the cache was made).
    pub fetched_at: Instant,
}

/// When to refresh a token that lives `ttl`: 60 s before it expires for long
/// lifetimes, at 80% of its life for short ones.
pub fn refresh_after(ttl: Duration) -> Duration {
    if ttl > Duration::from_secs(300) {
        ttl - Duration::from_secs(60)
    } else {
        ttl.mul_f64(0.8)
    }
}

/// The one token shared by every request of a run. Fetching holds a lock, so
/// concurrent requests that find the token stale wait for a single refresh
/// (single-flight) instead of each fetching their own.
#[derive(Debug)]
pub struct TokenCache {
    current: Mutex<Option<Token>>,
}

impl TokenCache {
    /// An empty cache, or one holding a fixed token.
    pub fn new(fixed: Option<Secret>) -> TokenCache {
        TokenCache {
            current: Mutex::new(fixed.map(|value| Token {
                value,
                generation: 0,
                refresh_at: None,
                fetched_at: Instant::now(),
            })),
        }
    }

    /// The current token, fetching a new one with `fetch` when there is none,
    /// it is due for refresh, or its generation was invalidated.
    pub async fn get<F, Fut, E>(&self, fetch: F) -> Result<Token, E>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<(Secret, Duration), E>>,
    {
        let mut guard = self.current.lock().await;
        if let Some(token) = guard.as_ref() {
            let fresh = token.refresh_at.is_none_or(|at| Instant::now() < at);
            if fresh {
                return Ok(token.clone());
            }
        }
        let generation = guard.as_ref().map_or(1, |t| t.generation + 1);
        let asked = Instant::now();
        let (value, ttl) = fetch().await?;
        // The lifetime counts from when the server issued the token, which
        // is at the latest now; counting from the request errs on the safe side.
        let token = Token {
            value,
            generation,
            refresh_at: Some(asked + refresh_after(ttl)),
            fetched_at: asked,
        };
        *guard = Some(token.clone());
        Ok(token)
    }

    /// Marks the token of `generation` as refused, so the next [`get`](Self::get)
    /// fetches a new one. A token fetched meanwhile by another request is kept.
    pub async fn invalidate(&self, generation: u64) {
        let mut guard = self.current.lock().await;
        if let Some(token) = guard.as_mut() {
            if token.generation == generation && token.refresh_at.is_some() {
                token.refresh_at = Some(Instant::now());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[test]
    fn secrets_print_as_stars() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s} {s:?}"), "*** ***");
        let c = Credentials::Client {
            client_id: Secret::new("id-1"),
            client_secret: Secret::new("hunter2"),
            organization_id: "42".into(),
            token_url: Url::parse("https://x.example/t").unwrap(),
            audience: DEFAULT_AUDIENCE.into(),
        };
        let dbg = format!("{c:?}");
        assert!(!dbg.contains("hunter2") && !dbg.contains("id-1"), "{dbg}");
    }

    #[test]
    fn credentials_from_env() {
        let url = Url::parse("https://x.example/t").unwrap();
        let env_of = |pairs: &[(&str, &str)]| {
            let m: HashMap<String, String> = pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            move |k: &str| m.get(k).cloned()
        };
        let none = env_of(&[]);
        assert!(Credentials::from_env(&none, url.clone()).unwrap().is_none());
        let tok = env_of(&[("TFSO_ACCESS_TOKEN", "abc"), ("TFSO_CLIENT_ID", "x")]);
        assert!(matches!(
            Credentials::from_env(&tok, url.clone()).unwrap(),
            Some(Credentials::Token(_))
        ));
        let part = env_of(&[("TFSO_CLIENT_ID", "x")]);
        assert_eq!(
            Credentials::from_env(&part, url.clone()).unwrap_err(),
            CredentialsError::Incomplete("TFSO_CLIENT_SECRET, TFSO_ORGANIZATION_ID".into())
        );
        let full = env_of(&[
            ("TFSO_CLIENT_ID", "x"),
            ("TFSO_CLIENT_SECRET", "y"),
            ("TFSO_ORGANIZATION_ID", "1"),
        ]);
        assert!(matches!(
            Credentials::from_env(&full, url).unwrap(),
            Some(Credentials::Client { .. })
        ));
    }

    #[test]
    fn refresh_schedule() {
        assert_eq!(
            refresh_after(Duration::from_secs(3600)),
            Duration::from_secs(3540)
        );
        assert_eq!(
            refresh_after(Duration::from_secs(2)),
            Duration::from_millis(1600)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn token_is_fetched_once_and_refreshed_when_due() {
        let cache = Arc::new(TokenCache::new(None));
        let fetches = Arc::new(AtomicU32::new(0));
        let counter = fetches.clone();
        let fetch = move || {
            let fetches = counter.clone();
            async move {
                let n = fetches.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(50)).await;
                Ok::<_, ()>((Secret::new(format!("t{n}")), Duration::from_secs(10)))
            }
        };
        let mut tasks = Vec::new();
        for _ in 0..10 {
            let cache = cache.clone();
            let fetch = fetch.clone();
            tasks.push(tokio::spawn(async move {
                cache.get(fetch).await.unwrap().value
            }));
        }
        for t in tasks {
            assert_eq!(t.await.unwrap().expose(), "t0");
        }
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
        tokio::time::advance(Duration::from_secs(9)).await;
        let t = cache.get(fetch.clone()).await.unwrap();
        assert_eq!(t.value.expose(), "t1");
        cache.invalidate(t.generation - 1).await; // stale generation: ignored
        assert_eq!(cache.get(fetch.clone()).await.unwrap().value.expose(), "t1");
        cache.invalidate(t.generation).await;
        assert_eq!(cache.get(fetch).await.unwrap().value.expose(), "t2");
    }
}
