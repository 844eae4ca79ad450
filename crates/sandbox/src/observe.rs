//! What every request is given by
//! [`middleware::observe`](crate::middleware::observe): a trace id, the name
//! of its endpoint for the counters, and the configured latency.

use std::sync::Mutex;
use std::time::Duration;

use axum::http::Method;
use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};

/// Name of the trace header on every response.
pub(crate) const TRACE_HEADER: &str = "x-trace-id";

/// The endpoint a request was counted under, e.g. `GET /v1/products/{id}`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Endpoint(pub(crate) String);

impl Endpoint {
    /// The endpoint pattern of a method and path; paths the API does not
    /// have are counted together as `(other)`.
    pub(crate) fn of(method: &Method, path: &str) -> Self {
        let pattern = match path {
            "/oauth/token"
            | "/v1/products"
            | "/v1/productcategories"
            | "/v1/productunits"
            | "/v1/customers" => path,
            _ => match path.strip_prefix("/v1/products/") {
                Some(id) if !id.is_empty() && !id.contains('/') => "/v1/products/{id}",
                _ => "(other)",
            },
        };
        Endpoint(format!("{method} {pattern}"))
    }
}

/// Generator of unique, uuid-shaped trace ids from the seeded generator.
pub(crate) struct TraceIds {
    rng: Mutex<StdRng>,
}

impl TraceIds {
    pub(crate) fn new(seed: u64) -> Self {
        TraceIds {
            rng: Mutex::new(StdRng::seed_from_u64(seed)),
        }
    }

    /// The next id, e.g. `3f2a9c1e-07b4-4d1a-9e55-2c8d0b6f4a13`.
    pub(crate) fn next(&self) -> String {
        let bits: u128 = self
            .rng
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .random();
        // Version 4 and variant bits, so the ids look like ordinary UUIDs.
        let bits = (bits & !(0xf << 76) & !(0x3 << 62)) | (0x4 << 76) | (0x2 << 62);
        let hex = format!("{bits:032x}");
        format!(
            "{}-{}-{}-{}-{}",
            &hex[0..8],
            &hex[8..12],
            &hex[12..16],
            &hex[16..20],
            &hex[20..32]
        )
    }
}

/// The configured response delay: `latency` plus or minus up to `jitter`.
pub(crate) struct Latency {
    base: Duration,
    jitter: Duration,
    rng: Mutex<StdRng>,
}

impl Latency {
    pub(crate) fn new(base: Duration, jitter: Duration, seed: u64) -> Self {
        Latency {
            base,
            jitter,
            rng: Mutex::new(StdRng::seed_from_u64(seed)),
        }
    }

    /// The next request's delay.
    pub(crate) fn next(&self) -> Duration {
        if self.jitter.is_zero() {
            return self.base;
        }
        let jitter = self.jitter.as_secs_f64();
        let offset: f64 = self
            .rng
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .random_range(-jitter..=jitter);
        Duration::from_secs_f64((self.base.as_secs_f64() + offset).max(0.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_are_patterns() {
        let of = |method: Method, path: &str| Endpoint::of(&method, path).0;
        assert_eq!(of(Method::GET, "/v1/products/42"), "GET /v1/products/{id}");
        assert_eq!(of(Method::POST, "/v1/products"), "POST /v1/products");
        assert_eq!(of(Method::POST, "/oauth/token"), "POST /oauth/token");
        assert_eq!(of(Method::GET, "/v1/products/1/dimensions"), "GET (other)");
        assert_eq!(of(Method::GET, "/"), "GET (other)");
    }

    #[test]
    fn trace_ids_are_unique_and_uuid_shaped() {
        let ids = TraceIds::new(1);
        let a = ids.next();
        let b = ids.next();
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4");
        assert!(a.chars().all(|c| c == '-' || c.is_ascii_hexdigit()));
    }

    #[test]
    fn latency_stays_within_jitter() {
        let latency = Latency::new(Duration::from_millis(20), Duration::from_millis(10), 3);
        for _ in 0..100 {
            let wait = latency.next();
            assert!(wait >= Duration::from_millis(10) && wait <= Duration::from_millis(30));
        }
        let none = Latency::new(Duration::ZERO, Duration::from_millis(10), 3);
        assert!(none.next() <= Duration::from_millis(10));
    }
}
