//! [`ProductApi`] over HTTPS with reqwest (rustls): every request paced by the
//! run's [`Pacer`] (which hears the status of every answer, so the shared
//! pace follows the server's limit), authenticated with the shared token (taken when the
//! request leaves, after the pacer's wait), and classified into an
//! [`ApiError`] when it fails. Listings follow the server's `link` header.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use reqwest::header::{HeaderMap, AUTHORIZATION, CONTENT_TYPE, LINK, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use tokio::time::Instant;
use url::Url;

use super::auth::{Credentials, Secret, TokenCache};
use super::link::next_url;
use super::pacing::{Pacer, Signal, Ticket};
use super::{
    error_message, scope_for, Answer, ApiError, Cursor, ErrorClass, Page, ProductApi, ProductQuery,
    RequestCounters,
};
use crate::api::types::{
    Category, NewCategory, NewProduct, NewSupplier, Product, ProductPatch, Supplier, TokenRequest,
    TokenResponse, Unit,
};

/// The page size asked for (`limit`) where the API takes one: the most
/// `GET /customers` documents. A server may still answer with fewer, so a
/// short page never ends a listing by itself (see [`super::paging`]).
pub const PAGE_LIMIT: u32 = 100;

/// How many times one request fetches a new token after a 401 before the
/// credentials count as refused (a fresh token refused stops it sooner).
const MAX_TOKEN_REFRESHES: u32 = 3;

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
    links: Vec<String>,
    retry_after: Option<Duration>,
    body: Vec<u8>,
}

/// How a listing continues when the server sends no `link` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fallback {
    /// A page is followed by a guess of `page=n+1` (documented on `/products`).
    PageNumbers,
    /// No way to ask for more: the page is the last.
    None,
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

    /// `GET /customers` for a URL of this API: the method and the path under the base.
    fn endpoint(&self, method: &Method, url: &Url) -> (String, &'static str) {
        let path = url
            .path()
            .strip_prefix(self.base.path())
            .unwrap_or(url.path());
        (
            format!("{method} /{path}"),
            scope_for(method.as_str(), path),
        )
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
        let ticket = self.pacer.acquire().await;
        RequestCounters::bump(&self.counters.requests);
        let raw = self
            .answer(
                ticket,
                // Form-encoded, as OAuth 2.0 and the vendor's recipe say.
                self.http.post(token_url.clone()).form(&body),
            )
            .await?;
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

    /// Sends one request and returns the raw success, or the error.
    ///
    /// The pacer's wait comes first and the token is taken after it, when
    /// the request leaves, so a backlog never lets a token age in the queue.
    /// A 401 fetches a new token and sends again; the credentials count as
    /// refused only when a token fetched after that first 401 is refused too
    /// (or a fixed token, which cannot be refreshed, is refused).
    async fn send(&self, method: Method, url: Url, body: Option<Vec<u8>>) -> Result<Raw, ApiError> {
        let mut first_refusal: Option<Instant> = None;
        let mut refreshes = 0;
        loop {
            let ticket = self.pacer.acquire().await;
            let token = self.tokens.get(|| self.fetch_token()).await?;
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
            let raw = self.answer(ticket, request).await?;
            match raw.status {
                200..=299 => return Ok(raw),
                401 => {
                    let fresh = first_refusal.is_some_and(|at| token.fetched_at >= at);
                    if token.refresh_at.is_none() || fresh || refreshes >= MAX_TOKEN_REFRESHES {
                        let (message, trace) = error_message(raw.status, &raw.body);
                        return Err(ApiError::Auth {
                            status: raw.status,
                            message,
                            trace_id: trace.or(raw.trace_id),
                        });
                    }
                    first_refusal.get_or_insert_with(Instant::now);
                    self.tokens.invalidate(token.generation).await;
                    refreshes += 1;
                }
                403 => {
                    let (message, trace) = error_message(raw.status, &raw.body);
                    let (endpoint, scope) = self.endpoint(&method, &url);
                    return Err(ApiError::Forbidden {
                        endpoint,
                        scope,
                        message,
                        trace_id: trace.or(raw.trace_id),
                    });
                }
                _ => {
                    // What the request waits before its retry (429, a 503
                    // with `Retry-After`) is the error's class; the shared
                    // pace saw the status in `answer`.
                    let err = status_error(raw);
                    if let ErrorClass::RateLimited(_) = err.class() {
                        RequestCounters::bump(&self.counters.rate_limited);
                    }
                    return Err(err);
                }
            }
        }
    }

    /// Sends a paced request and reads its answer, telling the pacer what
    /// the answer says about the pace (a lost answer says nothing).
    async fn answer(
        &self,
        ticket: Ticket,
        request: reqwest::RequestBuilder,
    ) -> Result<Raw, ApiError> {
        let raw = match request.send().await {
            Ok(response) => read(response).await,
            Err(e) => Err(transport_error(e)),
        };
        self.pacer.observe(
            ticket,
            match &raw {
                Ok(raw) => Signal::of_status(raw.status),
                Err(e) => e.http_status().map_or(Signal::Failed, Signal::of_status),
            },
        );
        raw
    }

    async fn json<T: DeserializeOwned>(
        &self,
        method: Method,
        url: Url,
        body: Option<Vec<u8>>,
    ) -> Result<(Answer<T>, Vec<String>), ApiError> {
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
            raw.links,
        ))
    }

    /// One page of a listing: `first` for the first page, else the cursor's
    /// URL as the server gave it. The next cursor comes from the `link`
    /// header; without one, `fallback` decides.
    async fn page<T: DeserializeOwned>(
        &self,
        first: Url,
        next: Option<&Cursor>,
        fallback: Fallback,
    ) -> Result<Page<T>, ApiError> {
        let (what, _) = self.endpoint(&Method::GET, &first);
        let paging_error = |message: String| ApiError::Paging {
            what: what.clone(),
            message,
        };
        let url = match next {
            None => first,
            Some(cursor) => {
                let url = Url::parse(cursor.as_str())
                    .map_err(|_| paging_error(format!("\"{}\" is not a URL", cursor.as_str())))?;
                if url.origin() != self.base.origin() {
                    return Err(paging_error(
                        "a next page on another host was not followed".into(),
                    ));
                }
                url
            }
        };
        let (answer, links) = self.json::<Vec<T>>(Method::GET, url.clone(), None).await?;
        let (next, next_is_guess) = match next_url(links.iter().map(String::as_str), &url) {
            Ok(Some(next)) => (Some(Cursor::new(next)), false),
            // A server that sends `link` headers says where the next page
            // is; without `next`, this page is the last.
            Ok(None) if !links.is_empty() => (None, false),
            Ok(None) => match fallback {
                Fallback::PageNumbers => (next_page_number(&url, answer.value.len()), true),
                Fallback::None => (None, false),
            },
            Err(e) => return Err(paging_error(e.to_string())),
        };
        Ok(Page {
            items: answer.value,
            next,
            next_is_guess,
            status: answer.status,
            trace_id: answer.trace_id,
        })
    }
}

/// Without a `link` header: the same URL with `page` one higher, a guess
/// the [`PageGuard`](super::paging::PageGuard) follows only while pages are
/// as long as the longest so far (a server may cap `limit` silently); none
/// after an empty page.
fn next_page_number(url: &Url, got: usize) -> Option<Cursor> {
    let param = |name: &str| {
        url.query_pairs()
            .find(|(k, _)| k == name)
            .and_then(|(_, v)| v.parse::<u64>().ok())
    };
    if got == 0 {
        return None;
    }
    let page = param("page").unwrap_or(1);
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| k != "page")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let mut next = url.clone();
    next.query_pairs_mut()
        .clear()
        .extend_pairs(pairs)
        .append_pair("page", &(page + 1).to_string());
    Some(Cursor::new(next))
}

fn to_body<T: serde::Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("API bodies serialize")
}

impl ProductApi for HttpApi {
    async fn authenticate(&self) -> Result<(), ApiError> {
        use std::sync::atomic::Ordering;
        if self.checked.load(Ordering::Relaxed) {
            return Ok(());
        }
        match &self.credentials {
            // A ready token is checked with the cheapest read of what an
            // import needs anyway (products).
            Credentials::Token(_) => {
                let url = self.url("products", &[("limit", "1")]);
                self.send(Method::GET, url, None).await.map(|_| ())?
            }
            Credentials::Client { .. } => {
                self.tokens.get(|| self.fetch_token()).await.map(|_| ())?
            }
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

    async fn get_product(&self, id: i64) -> Result<Option<Answer<Product>>, ApiError> {
        let url = self.url(&format!("products/{id}"), &[]);
        match self.json(Method::GET, url, None).await {
            Ok((answer, _)) => Ok(Some(answer)),
            Err(e) if e.http_status() == Some(404) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn update_product(
        &self,
        id: i64,
        changes: &ProductPatch,
    ) -> Result<Answer<Option<Product>>, ApiError> {
        let url = self.url(&format!("products/{id}"), &[]);
        let raw = self
            .send(Method::PATCH, url, Some(to_body(changes)))
            .await?;
        Ok(Answer {
            value: serde_json::from_slice(&raw.body).ok(),
            status: raw.status,
            trace_id: raw.trace_id,
        })
    }

    async fn list_products(
        &self,
        query: &ProductQuery,
        next: Option<&Cursor>,
    ) -> Result<Page<Product>, ApiError> {
        let limit = PAGE_LIMIT.to_string();
        let mut pairs: Vec<(&str, &str)> = Vec::new();
        match query {
            ProductQuery::All => {}
            ProductQuery::Number(n) => pairs.push(("productNumber", n.trim())),
            ProductQuery::Search(s) => pairs.push(("productSearch", s.trim())),
        }
        pairs.push(("limit", &limit));
        let first = self.url("products", &pairs);
        self.page(first, next, Fallback::PageNumbers).await
    }

    async fn list_categories(&self, next: Option<&Cursor>) -> Result<Page<Category>, ApiError> {
        let first = self.url("productcategories", &[]);
        self.page(first, next, Fallback::None).await
    }

    async fn create_category(&self, category: &NewCategory) -> Result<Category, ApiError> {
        let url = self.url("productcategories", &[]);
        Ok(self
            .json(Method::POST, url, Some(to_body(category)))
            .await?
            .0
            .value)
    }

    async fn list_units(&self, next: Option<&Cursor>) -> Result<Page<Unit>, ApiError> {
        let first = self.url("productunits", &[]);
        self.page(first, next, Fallback::None).await
    }

    async fn list_suppliers(
        &self,
        organization_number: Option<&str>,
        next: Option<&Cursor>,
    ) -> Result<Page<Supplier>, ApiError> {
        let limit = PAGE_LIMIT.to_string();
        let mut pairs = vec![("isSupplier", "true"), ("limit", limit.as_str())];
        if let Some(org) = organization_number {
            pairs.push(("organizationNumber", org));
        }
        let first = self.url("customers", &pairs);
        // `/customers` documents no page number: only the link header pages it.
        self.page(first, next, Fallback::None).await
    }

    async fn create_supplier(&self, supplier: &NewSupplier) -> Result<Supplier, ApiError> {
        let url = self.url("customers", &[]);
        Ok(self
            .json(Method::POST, url, Some(to_body(supplier)))
            .await?
            .0
            .value)
    }
}

/// The most bytes an answer body may hold: a page of 100 products is a
/// few hundred kilobytes, so anything this large is not an answer to read
/// (a 400 MB page once took 1.33 GB of memory).
pub const MAX_ANSWER_BYTES: usize = 16 << 20;

/// Why a body was not read whole.
enum BodyError {
    /// The connection broke while reading it.
    Transport(reqwest::Error),
    /// It is larger than [`MAX_ANSWER_BYTES`]; reading stopped there.
    TooLarge,
}

/// The body, read a chunk at a time up to [`MAX_ANSWER_BYTES`].
async fn capped_body(response: &mut reqwest::Response) -> Result<Vec<u8>, BodyError> {
    if response
        .content_length()
        .is_some_and(|n| n > MAX_ANSWER_BYTES as u64)
    {
        return Err(BodyError::TooLarge);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(BodyError::Transport)? {
        if body.len() + chunk.len() > MAX_ANSWER_BYTES {
            return Err(BodyError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

async fn read(mut response: reqwest::Response) -> Result<Raw, ApiError> {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let trace_id = headers
        .get("x-trace-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let links = headers
        .get_all(LINK)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(str::to_string)
        .collect();
    let retry_after = retry_after(&headers);
    let success = StatusCode::from_u16(status).is_ok_and(|s| s.is_success());
    match capped_body(&mut response).await {
        Ok(body) => Ok(Raw {
            status,
            trace_id,
            links,
            retry_after,
            body,
        }),
        // The status line came back but the body did not: for a success the
        // request was applied, so its outcome is unknown; for an error, keep
        // the status so it is classified as such.
        Err(BodyError::Transport(e)) if success => Err(ApiError::Decode {
            status,
            message: chain(&e),
            trace_id,
        }),
        Err(BodyError::TooLarge) if success => Err(ApiError::Decode {
            status,
            message: format!(
                "the answer is larger than {} MiB; it was not read",
                MAX_ANSWER_BYTES >> 20
            ),
            trace_id,
        }),
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

/// An error and its causes on one line, without the URL (it could carry
/// user info); shared with the feed download.
pub(crate) fn chain(e: &reqwest::Error) -> String {
    let mut parts = Vec::new();
    let mut source: Option<&dyn std::error::Error> = std::error::Error::source(e);
    while let Some(s) = source {
        parts.push(s.to_string());
        source = s.source();
    }
    if parts.is_empty() {
        parts.push(if e.is_body() || e.is_decode() {
            "the answer was cut short".into()
        } else {
            "the request failed".into()
        });
    }
    crate::secrets::scrub(&parts.join(": ")).into_owned()
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
