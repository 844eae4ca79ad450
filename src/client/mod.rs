//! Talking to the products API: the [`ProductApi`] trait the pipeline works
//! against, its errors, and the real implementation over HTTPS ([`http`]) with
//! its token handling ([`auth`]).
//!
//! Each trait method sends one logical request and reports what came back,
//! classified so that the pipeline can decide whether to retry, wait, look
//! the product up, or give up. Retrying lives in the pipeline; pacing of every
//! single HTTP request (token requests included) lives in the implementation.

pub mod auth;
pub mod connect;
pub mod http;
mod message;
pub mod pacing;

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::api::types::{Category, NewCategory, NewProduct, Product, Supplier, Unit};

pub use message::error_message;

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
}

impl ProductKey {
    /// The key of a payload: its number, else its EAN, else none.
    pub fn of(product: &crate::api::types::NewProduct) -> Option<ProductKey> {
        let nonblank = |s: &Option<String>| s.as_ref().filter(|s| !s.trim().is_empty()).cloned();
        nonblank(&product.number)
            .map(ProductKey::Number)
            .or_else(|| nonblank(&product.ean).map(ProductKey::Ean))
    }

    /// True when `product` has this key exactly.
    pub fn matches(&self, product: &Product) -> bool {
        match self {
            ProductKey::Number(n) => product.number.as_deref() == Some(n.as_str()),
            ProductKey::Ean(e) => product.ean.as_deref() == Some(e.as_str()),
        }
    }
}

impl std::fmt::Display for ProductKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProductKey::Number(n) => write!(f, "number \"{n}\""),
            ProductKey::Ean(e) => write!(f, "EAN \"{e}\""),
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
    /// The credentials or the token were refused.
    #[error("credentials refused (HTTP {status}): {message}")]
    Auth {
        /// HTTP status.
        status: u16,
        /// The server's message.
        message: String,
        /// The server's trace id.
        trace_id: Option<String>,
    },
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
    /// The run cannot go on (credentials refused).
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
        }
    }

    /// HTTP status of the answer, if there was one.
    pub fn http_status(&self) -> Option<u16> {
        match self {
            ApiError::Status { status, .. }
            | ApiError::Decode { status, .. }
            | ApiError::Auth { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The server's trace id, if it gave one.
    pub fn trace_id(&self) -> Option<&str> {
        match self {
            ApiError::Status { trace_id, .. }
            | ApiError::Decode { trace_id, .. }
            | ApiError::Auth { trace_id, .. } => trace_id.as_deref(),
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

/// The operations of the products API the importer uses. One call is one
/// logical request (an implementation may refresh its token and send once more
/// on a 401). Implemented over HTTP by [`http::HttpApi`] and by mocks in tests.
pub trait ProductApi: Send + Sync + 'static {
    /// Checks the credentials (fetches a token); fails with [`ApiError::Auth`] when refused.
    fn authenticate(&self) -> impl Future<Output = Result<(), ApiError>> + Send;
    /// `POST /products`.
    fn create_product(
        &self,
        product: &NewProduct,
    ) -> impl Future<Output = Result<Answer<Product>, ApiError>> + Send;
    /// `PATCH /products/{id}` with only the fields to change.
    fn update_product(
        &self,
        id: i64,
        changes: &NewProduct,
    ) -> impl Future<Output = Result<Answer<Product>, ApiError>> + Send;
    /// `GET /products?productNumber=…` (or `ean=…`), keeping exact matches only.
    fn find_products(
        &self,
        key: &ProductKey,
    ) -> impl Future<Output = Result<Answer<Vec<Product>>, ApiError>> + Send;
    /// One page (from 1) of `GET /products`; `more` tells whether another page follows.
    fn list_products(
        &self,
        page: u32,
        limit: u32,
    ) -> impl Future<Output = Result<Page<Product>, ApiError>> + Send;
    /// `GET /productcategories`.
    fn list_categories(&self) -> impl Future<Output = Result<Vec<Category>, ApiError>> + Send;
    /// `POST /productcategories`.
    fn create_category(
        &self,
        category: &NewCategory,
    ) -> impl Future<Output = Result<Category, ApiError>> + Send;
    /// `GET /productunits`.
    fn list_units(&self) -> impl Future<Output = Result<Vec<Unit>, ApiError>> + Send;
    /// One page (from 1) of `GET /customers?isSupplier=true`, optionally by organization number.
    fn list_suppliers(
        &self,
        organization_number: Option<&str>,
        page: u32,
    ) -> impl Future<Output = Result<Page<Supplier>, ApiError>> + Send;
}

/// One page of a listing.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// The items.
    pub items: Vec<T>,
    /// Whether another page follows.
    pub more: bool,
}
