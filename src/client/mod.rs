//! Talking to the products API: the [`ProductApi`] trait the pipeline works
//! against, its errors, and the real implementation over HTTPS ([`http`]) with
//! its token handling ([`auth`]).
//!
//! Each trait method sends one logical request and reports what came back,
//! classified so that the pipeline can decide whether to retry, wait, look
//! the product up, or give up. Retrying lives in the pipeline; pacing of every
//! single HTTP request (token requests included) lives in the implementation.
//! Lists come a page at a time: the `link` header is read by [`link`], and
//! [`paging`] follows it with guards against listings that never end.

pub mod auth;
pub mod connect;
#[cfg(test)]
pub(crate) mod fake;
pub mod http;
pub mod link;
mod message;
pub mod pacing;
pub mod paging;
#[cfg(test)]
mod tests;

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::api::types::{
    Category, NewCategory, NewProduct, NewSupplier, Product, ProductPatch, Supplier, Unit,
};

pub use message::error_message;
pub use paging::{Cursor, Page};

/// A successful answer: the value plus what the results file records of it.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer<T> {
    /// The decoded body.
    pub value: T,
    /// HTTP status.
    pub status: u16,
    /// The `X-Trace-Id` header.
    pub trace_id: Option<String>,
}

/// The natural key a product is looked up by: its number, else its EAN.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ProductKey {
    /// `number`.
    Number(String),
    /// `ean`.
    Ean(String),
    /// `name`, exactly: for rows with neither number nor EAN under `--match-by name`.
    Name(String),
}

impl ProductKey {
    /// The key of a payload: its number, else its EAN, else none.
    pub fn of(product: &crate::api::types::NewProduct) -> Option<ProductKey> {
        let nonblank = |s: &Option<String>| s.as_ref().filter(|s| !s.trim().is_empty()).cloned();
        nonblank(&product.number)
            .map(ProductKey::Number)
            .or_else(|| nonblank(&product.ean).map(ProductKey::Ean))
    }

    /// The name of a payload as its key, when it has one.
    pub fn name_of(product: &crate::api::types::NewProduct) -> Option<ProductKey> {
        product
            .name
            .as_ref()
            .filter(|s| !s.trim().is_empty())
            .map(|n| ProductKey::Name(n.clone()))
    }

    /// True when `product` has this key exactly: byte for byte once both
    /// are trimmed (never by case, never by part).
    pub fn matches(&self, product: &Product) -> bool {
        let (theirs, ours) = match self {
            ProductKey::Number(n) => (product.number.as_deref(), n),
            ProductKey::Ean(e) => (product.ean.as_deref(), e),
            ProductKey::Name(n) => (product.name.as_deref(), n),
        };
        theirs.is_some_and(|t| t.trim() == ours.trim())
    }
}

impl std::fmt::Display for ProductKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProductKey::Number(n) => write!(f, "number \"{n}\""),
            ProductKey::Ean(e) => write!(f, "EAN \"{e}\""),
            ProductKey::Name(n) => write!(f, "name \"{n}\""),
        }
    }
}

/// Why a request did not succeed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ApiError {
    /// The server answered with an error status.
    #[error("{message}")]
    Status {
        /// HTTP status.
        status: u16,
        /// The server's message in words (validation paths spelled out).
        message: String,
        /// The server's trace id.
        trace_id: Option<String>,
        /// `Retry-After`, when given.
        retry_after: Option<Duration>,
    },
    /// No connection could be made: the request was certainly not sent.
    #[error("could not connect to the server: {0}")]
    Connect(String),
    /// No answer within the timeout: the request may have been processed.
    #[error("no answer within the timeout")]
    Timeout,
    /// The connection broke after the request was (perhaps) sent.
    #[error("the connection was lost: {0}")]
    Transport(String),
    /// A success status with a body that could not be read or decoded.
    #[error("unexpected answer from the server (HTTP {status}): {message}")]
    Decode {
        /// HTTP status.
        status: u16,
        /// What was wrong.
        message: String,
        /// The server's trace id.
        trace_id: Option<String>,
    },
    /// A fresh token was refused (401), or the token request was refused.
    #[error("credentials refused (HTTP {status}): {message}")]
    Auth {
        /// HTTP status.
        status: u16,
        /// The server's message.
        message: String,
        /// The server's trace id.
        trace_id: Option<String>,
    },
    /// 403: the token is good but lacks the scope `scope` this endpoint needs
    /// (an application may be granted fewer scopes than it asked for).
    #[error(
        "the API client lacks the scope {scope} ({endpoint} was refused with HTTP 403: {message})"
    )]
    Forbidden {
        /// The request refused, e.g. `GET /customers`.
        endpoint: String,
        /// The scope it needs, e.g. `api.crm.customer:read`.
        scope: &'static str,
        /// The server's message.
        message: String,
        /// The server's trace id.
        trace_id: Option<String>,
    },
    /// A listing that would not end, or whose next page could not be followed.
    #[error("{what}: {message}")]
    Paging {
        /// The listing, e.g. `GET /customers`.
        what: String,
        /// What went wrong.
        message: String,
    },
}

/// The scope the vendor requires for `method` on `path` (relative to the
/// API's base, e.g. `products/12` or `customers`).
pub fn scope_for(method: &str, path: &str) -> &'static str {
    let resource = path
        .trim_start_matches('/')
        .split(['/', '?'])
        .next()
        .unwrap_or("");
    let read = method.eq_ignore_ascii_case("GET") || method.eq_ignore_ascii_case("HEAD");
    match (resource, read) {
        ("products", true) => "api.product.product:read",
        ("products", false) => "api.product.product:write",
        ("productcategories", true) => "api.product.category:read",
        ("productcategories", false) => "api.product.category:write",
        ("productunits", _) => "api.product.unit:read",
        ("customers", true) => "api.crm.customer:read",
        ("customers", false) => "api.crm.customer:write",
        _ => "an unknown scope",
    }
}

/// What the pipeline should do about an [`ApiError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// 429: wait (`Retry-After` when given) and send again.
    RateLimited(Option<Duration>),
    /// Certainly not applied (408, 500, 503, no connection): back off and send again.
    Transient,
    /// Perhaps applied (timeout, lost connection, 502, 504, an unreadable
    /// success): safe to repeat only if the request is idempotent.
    Unknown,
    /// Refused for good (other 4xx): do not send again.
    Permanent,
    /// The run cannot go on: credentials refused, or the client may not
    /// read or write products (a 403 on `/products`).
    Fatal,
}

impl ApiError {
    /// How to react to this error.
    pub fn class(&self) -> ErrorClass {
        match self {
            ApiError::Status {
                status: 429,
                retry_after,
                ..
            } => ErrorClass::RateLimited(*retry_after),
            // A 503 that says when to come back is a rate limit too (an
            // overloaded gateway's way of saying 429).
            ApiError::Status {
                status: 503,
                retry_after: Some(after),
                ..
            } => ErrorClass::RateLimited(Some(*after)),
            ApiError::Status {
                status: 408 | 500 | 503,
                ..
            }
            | ApiError::Connect(_) => ErrorClass::Transient,
            ApiError::Status {
                status: 502 | 504, ..
            } => ErrorClass::Unknown,
            ApiError::Status { status, .. } if *status >= 500 => ErrorClass::Unknown,
            ApiError::Status { .. } => ErrorClass::Permanent,
            ApiError::Timeout | ApiError::Transport(_) | ApiError::Decode { .. } => {
                ErrorClass::Unknown
            }
            ApiError::Auth { .. } => ErrorClass::Fatal,
            ApiError::Forbidden { scope, .. } if scope.starts_with("api.product.product:") => {
                ErrorClass::Fatal
            }
            ApiError::Forbidden { .. } | ApiError::Paging { .. } => ErrorClass::Permanent,
        }
    }

    /// HTTP status of the answer, if there was one.
    pub fn http_status(&self) -> Option<u16> {
        match self {
            ApiError::Status { status, .. }
            | ApiError::Decode { status, .. }
            | ApiError::Auth { status, .. } => Some(*status),
            ApiError::Forbidden { .. } => Some(403),
            _ => None,
        }
    }

    /// The server's trace id, if it gave one.
    pub fn trace_id(&self) -> Option<&str> {
        match self {
            ApiError::Status { trace_id, .. }
            | ApiError::Decode { trace_id, .. }
            | ApiError::Auth { trace_id, .. }
            | ApiError::Forbidden { trace_id, .. } => trace_id.as_deref(),
            _ => None,
        }
    }
}

/// Counters of the requests a run made, shared by the client and the pipeline.
#[derive(Debug, Default)]
pub struct RequestCounters {
    /// HTTP requests sent (token requests included).
    pub requests: AtomicU64,
    /// Requests sent again after a failure.
    pub retries: AtomicU64,
    /// 429 answers received.
    pub rate_limited: AtomicU64,
}

impl RequestCounters {
    /// Adds one to a counter.
    pub fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Reads a counter.
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}

/// What a product listing (`GET /products`) asks the server for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProductQuery {
    /// The whole catalogue.
    All,
    /// `productNumber=…`: the server "searches for product number", which
    /// may match by part or ignoring case; callers keep exact matches.
    Number(String),
    /// `productSearch=…`: number, name, and the supplier's product number and
    /// name, with `%` wildcards (never the EAN: the API declares no EAN
    /// filter, and only declared parameters are sent).
    Search(String),
}

/// The operations of the products API the importer uses. One call is one
/// logical request: an implementation paces it, may refresh its token and send
/// once more after a 401, but never retries otherwise (the pipeline does).
///
/// Listings are read a page at a time: `next` is `None` for the first page,
/// then the [`Cursor`] of the page before ([`Page::next`]), which the
/// implementation takes from the server's `link` header and follows as given.
/// Drive them with [`paging::all_pages`] or a [`paging::PageGuard`], which end
/// loops and cap the number of pages. A 403 is [`ApiError::Forbidden`] naming
/// the missing scope. Implemented over HTTP by [`http::HttpApi`] and by mocks
/// in tests.
pub trait ProductApi: Send + Sync + 'static {
    /// Checks the credentials (fetches a token); fails with [`ApiError::Auth`] when refused.
    fn authenticate(&self) -> impl Future<Output = Result<(), ApiError>> + Send;
    /// `POST /products`.
    fn create_product(
        &self,
        product: &NewProduct,
    ) -> impl Future<Output = Result<Answer<Product>, ApiError>> + Send;
    /// `GET /products/{id}`: `None` when there is no such product (404).
    /// Unlike a search, it finds a product as soon as it exists.
    fn get_product(
        &self,
        id: i64,
    ) -> impl Future<Output = Result<Option<Answer<Product>>, ApiError>> + Send;
    /// `PATCH /products/{id}` with only the fields to set or clear. A success
    /// is the status: the vendor does not say what its body holds, so the
    /// product comes back only when the body is one (`None` for an empty
    /// body, or one that is not a product).
    fn update_product(
        &self,
        id: i64,
        changes: &ProductPatch,
    ) -> impl Future<Output = Result<Answer<Option<Product>>, ApiError>> + Send;
    /// One page of `GET /products` for `query`, as the server answers it (no
    /// filtering on the client's side).
    fn list_products(
        &self,
        query: &ProductQuery,
        next: Option<&Cursor>,
    ) -> impl Future<Output = Result<Page<Product>, ApiError>> + Send;
    /// One page of `GET /productcategories`.
    fn list_categories(
        &self,
        next: Option<&Cursor>,
    ) -> impl Future<Output = Result<Page<Category>, ApiError>> + Send;
    /// `POST /productcategories`.
    fn create_category(
        &self,
        category: &NewCategory,
    ) -> impl Future<Output = Result<Category, ApiError>> + Send;
    /// One page of `GET /productunits`.
    fn list_units(
        &self,
        next: Option<&Cursor>,
    ) -> impl Future<Output = Result<Page<Unit>, ApiError>> + Send;
    /// One page of `GET /customers?isSupplier=true`, with the
    /// `organizationNumber` filter when given (which a server may ignore:
    /// callers check the answer).
    fn list_suppliers(
        &self,
        organization_number: Option<&str>,
        next: Option<&Cursor>,
    ) -> impl Future<Output = Result<Page<Supplier>, ApiError>> + Send;
    /// `POST /customers` with a company flagged as a supplier; the answer
    /// (200) is the customer.
    fn create_supplier(
        &self,
        supplier: &NewSupplier,
    ) -> impl Future<Output = Result<Supplier, ApiError>> + Send;
}
