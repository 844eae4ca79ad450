//! [`ProductApi`] over HTTPS with reqwest (rustls): every request paced by the
//! run's [`Pacer`], authenticated with the shared token, and classified into
//! an [`ApiError`] when it fails.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use reqwest::header::{HeaderMap, AUTHORIZATION, CONTENT_TYPE, LINK, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use url::Url;

use super::auth::{Credentials, Secret, Token, TokenCache};
use super::pacing::Pacer;
use super::{error_message, Answer, ApiError, Page, ProductApi, ProductKey, RequestCounters};
use crate::api::types::{
    Category, NewCategory, NewProduct, Product, Supplier, TokenRequest, TokenResponse, Unit,
};

/// Page size for listings (`GET /products`, suppliers).
pub const PAGE_LIMIT: u32 = 1000;

/// The products API over HTTP.
#[derive(Debug)]
pub struct HttpApi {
    http: reqwest::Client,
    base: Url,
    credentials: Credentials,
    tokens: TokenCache,
    pacer: Arc<Pacer>,
    counters: Arc<RequestCounters>,
    /// Set once the credentials were checked, so a second check sends nothing.
    checked: std::sync::atomic::AtomicBool,
}

/// What came back from one request, before decoding.
struct Raw {
    status: u16,
    trace_id: Option<String>,
    link_next: Option<bool>,
    retry_after: Option<Duration>,
    body: Vec<u8>,
}

impl HttpApi {
    /// A client for the API at `base_url` (e.g. `https://rest.api.24sevenoffice.com/v1`).
    pub fn new(
        base_url: Url,
        credentials: Credentials,
        timeout: Duration,
        pacer: Arc<Pacer>,
        counters: Arc<RequestCounters>,
    ) -> Result<HttpApi, reqwest::Error> {
        let http = reqwest::Client::builder()
            .user_agent(concat!("product-import/", env!("CARGO_PKG_VERSION")))
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .build()?;
        let mut base = base_url;
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        let fixed = match &credentials {
            Credentials::Token(t) => Some(t.clone()),
            Credentials::Client { .. } => None,
        };
        Ok(HttpApi {
            http,
            base,
            credentials,
            tokens: TokenCache::new(fixed),
            pacer,
            counters,
            checked: std::sync::atomic::AtomicBool::new(false),
        })
    }

    fn url(&self, path: &str, query: &[(&str, &str)]) -> Url {
        let mut url = self.base.join(path).expect("relative API path");
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        url
    }

    async fn token(&self) -> Result<Token, ApiError> {
        self.tokens.get(|| self.fetch_token()).await
    }

    async fn fetch_token(&self) -> Result<(Secret, Duration), ApiError> {
        let Credentials::Client {
            client_id,
            client_secret,
            organization_id,
            token_url,
            audience,
        } = &self.credentials
        else {
            unreachable!("a fixed token is never fetched")
        };
        let body = TokenRequest {
            grant_type: "client_credentials".into(),
            client_id: client_id.expose().to_string(),
            client_secret: client_secret.expose().to_string(),
            login_organization: organization_id.clone(),
            audience: audience.clone(),
        };
        self.pacer.acquire().await;
        RequestCounters::bump(&self.counters.requests);
        let response = self
            .http
            .post(token_url.clone())
            .json(&body)
            .send()
            .await
            .map_err(transport_error)?;
        let raw = read(response).await?;
        match raw.status {
            200..=299 => {
                let t: TokenResponse =
                    serde_json::from_slice(&raw.body).map_err(|e| ApiError::Decode {
                        status: raw.status,
                        message: format!("token answer: {e}"),
                        trace_id: raw.trace_id.clone(),
                    })?;
                let ttl = Duration::from_secs(if t.expires_in == 0 {
                    3600
                } else {
                    t.expires_in
                });
                Ok((Secret::new(t.access_token), ttl))
            }
            400 | 401 | 403 => {
                let (message, trace) = error_message(raw.status, &raw.body);
                Err(ApiError::Auth {
                    status: raw.status,
                    message,
                    trace_id: trace.or(raw.trace_id),
                })
            }
            _ => Err(status_error(raw)),
        }
    }

    /// Sends one request (paced, with the bearer token; once more with a fresh
    /// token after a 401) and returns the raw success, or the error.
    async fn send(&self, method: Method, url: Url, body: Option<Vec<u8>>) -> Result<Raw, ApiError> {
        let mut refreshed = false;
        loop {
            let token = self.token().await?;
            self.pacer.acquire().await;
            RequestCounters::bump(&self.counters.requests);
            let mut request = self
                .http
                .request(method.clone(), url.clone())
                .header(AUTHORIZATION, format!("Bearer {}", token.value.expose()));
            if let Some(body) = &body {
                request = request
                    .header(CONTENT_TYPE, "application/json")
                    .body(body.clone());
            }
            let response = request.send().await.map_err(transport_error)?;
            let raw = read(response).await?;
            match raw.status {
                200..=299 => return Ok(raw),
                401 if !refreshed && token.refresh_at.is_some() => {
                    self.tokens.invalidate(token.generation).await;
                    refreshed = true;
                }
                401 | 403 => {
                    let (message, trace) = error_message(raw.status, &raw.body);
                    return Err(ApiError::Auth {
                        status: raw.status,
                        message,
                        trace_id: trace.or(raw.trace_id),
                    });
                }
                429 => {
                    RequestCounters::bump(&self.counters.rate_limited);
                    let err = status_error(raw);
                    if let ApiError::Status { retry_after, .. } = &err {
                        self.pacer.rate_limited(*retry_after);
                    }
                    return Err(err);
                }
                _ => return Err(status_error(raw)),
            }
        }
    }

    async fn json<T: DeserializeOwned>(
        &self,
        method: Method,
        url: Url,
        body: Option<Vec<u8>>,
    ) -> Result<(Answer<T>, Option<bool>), ApiError> {
        let raw = self.send(method, url, body).await?;
        let value = serde_json::from_slice(&raw.body).map_err(|e| ApiError::Decode {
            status: raw.status,
            message: e.to_string(),
            trace_id: raw.trace_id.clone(),
        })?;
        Ok((
            Answer {
                value,
                status: raw.status,
                trace_id: raw.trace_id,
            },
            raw.link_next,
        ))
    }
}

fn to_body<T: serde::Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("API bodies serialize")
}

/// Whether another page follows: the `link` header says so when present;
/// without one, a non-empty page may be followed by more.
fn more_pages<T>(items: &[T], link_next: Option<bool>) -> bool {
    link_next.unwrap_or(!items.is_empty())
}

impl ProductApi for HttpApi {
    async fn authenticate(&self) -> Result<(), ApiError> {
        use std::sync::atomic::Ordering;
        if self.checked.load(Ordering::Relaxed) {
            return Ok(());
        }
        match &self.credentials {
            // A ready token is checked with the cheapest read there is.
            Credentials::Token(_) => self.list_units().await.map(|_| ())?,
            Credentials::Client { .. } => self.token().await.map(|_| ())?,
        }
        self.checked.store(true, Ordering::Relaxed);
        Ok(())
    }

    async fn create_product(&self, product: &NewProduct) -> Result<Answer<Product>, ApiError> {
        let url = self.url("products", &[]);
        Ok(self
            .json(Method::POST, url, Some(to_body(product)))
            .await?
            .0)
    }

    async fn update_product(
        &self,
        id: i64,
        changes: &NewProduct,
    ) -> Result<Answer<Product>, ApiError> {
        let url = self.url(&format!("products/{id}"), &[]);
        Ok(self
            .json(Method::PATCH, url, Some(to_body(changes)))
            .await?
            .0)
    }

    async fn find_products(&self, key: &ProductKey) -> Result<Answer<Vec<Product>>, ApiError> {
        let url = match key {
            ProductKey::Number(n) => {
                self.url("products", &[("productNumber", n), ("limit", "100")])
            }
            ProductKey::Ean(e) => self.url("products", &[("ean", e), ("limit", "100")]),
        };
        let (mut answer, _) = self.json::<Vec<Product>>(Method::GET, url, None).await?;
        answer.value.retain(|p| key.matches(p));
        Ok(answer)
    }

    async fn list_products(&self, page: u32, limit: u32) -> Result<Page<Product>, ApiError> {
        let (page_s, limit_s) = (page.to_string(), limit.to_string());
        let url = self.url("products", &[("page", &page_s), ("limit", &limit_s)]);
        let (answer, link) = self.json::<Vec<Product>>(Method::GET, url, None).await?;
        let more = more_pages(&answer.value, link);
        Ok(Page {
            items: answer.value,
            more,
        })
    }

    async fn list_categories(&self) -> Result<Vec<Category>, ApiError> {
        let url = self.url("productcategories", &[]);
        Ok(self.json(Method::GET, url, None).await?.0.value)
    }

    async fn create_category(&self, category: &NewCategory) -> Result<Category, ApiError> {
        let url = self.url("productcategories", &[]);
        Ok(self
            .json(Method::POST, url, Some(to_body(category)))
            .await?
            .0
            .value)
    }

    async fn list_units(&self) -> Result<Vec<Unit>, ApiError> {
        let url = self.url("productunits", &[]);
        Ok(self.json(Method::GET, url, None).await?.0.value)
    }

    async fn list_suppliers(
        &self,
        organization_number: Option<&str>,
        page: u32,
    ) -> Result<Page<Supplier>, ApiError> {
        let (page_s, limit_s) = (page.to_string(), PAGE_LIMIT.to_string());
        let mut query = vec![
            ("isSupplier", "true"),
            ("page", page_s.as_str()),
            ("limit", limit_s.as_str()),
        ];
        if let Some(org) = organization_number {
            query.push(("organizationNumber", org));
        }
        let url = self.url("customers", &query);
        let (answer, link) = self.json::<Vec<Supplier>>(Method::GET, url, None).await?;
        let more = more_pages(&answer.value, link);
        Ok(Page {
            items: answer.value,
            more,
        })
    }
}

async fn read(response: reqwest::Response) -> Result<Raw, ApiError> {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let trace_id = headers
        .get("x-trace-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let link_next = headers
        .get(LINK)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.contains("rel=\"next\""));
    let retry_after = retry_after(&headers);
    match response.bytes().await {
        Ok(body) => Ok(Raw {
            status,
            trace_id,
            link_next,
            retry_after,
            body: body.to_vec(),
        }),
        // The status line came back but the body did not: for a success the
        // request was applied, so its outcome is unknown; for an error, keep
        // the status so it is classified as such.
        Err(e) if StatusCode::from_u16(status).is_ok_and(|s| s.is_success()) => {
            Err(ApiError::Decode {
                status,
                message: chain(&e),
                trace_id,
            })
        }
        Err(_) => Err(ApiError::Status {
            status,
            message: format!("HTTP {status}"),
            trace_id,
            retry_after,
        }),
    }
}

fn status_error(raw: Raw) -> ApiError {
    let (message, trace) = error_message(raw.status, &raw.body);
    ApiError::Status {
        status: raw.status,
        message,
        trace_id: trace.or(raw.trace_id),
        retry_after: raw.retry_after,
    }
}

/// `Retry-After` as seconds or an HTTP date.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(
        at.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

fn transport_error(e: reqwest::Error) -> ApiError {
    if e.is_connect() {
        ApiError::Connect(chain(&e))
    } else if e.is_timeout() {
        ApiError::Timeout
    } else {
        ApiError::Transport(chain(&e))
    }
}

/// An error and its causes on one line, without the URL.
fn chain(e: &reqwest::Error) -> String {
    let mut parts = Vec::new();
    let mut source: Option<&dyn std::error::Error> = std::error::Error::source(e);
    while let Some(s) = source {
        parts.push(s.to_string());
        source = s.source();
    }
    if parts.is_empty() {
        parts.push(if e.is_body() {
            "the answer was cut short".into()
        } else {
            "request failed".into()
        });
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn retry_after_seconds_and_date() {
        let mut h = HeaderMap::new();
        assert_eq!(retry_after(&h), None);
        h.insert(RETRY_AFTER, HeaderValue::from_static("3"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(3)));
        let later = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(30));
        h.insert(RETRY_AFTER, HeaderValue::from_str(&later).unwrap());
        let d = retry_after(&h).unwrap();
        assert!(
            d > Duration::from_secs(25) && d <= Duration::from_secs(30),
            "{d:?}"
        );
        h.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(retry_after(&h), Some(Duration::ZERO));
    }
}
