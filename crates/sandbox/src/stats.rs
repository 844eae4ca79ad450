//! Counters of what the sandbox saw and did.

use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeMap, HashSet};
use std::hash::Hasher as _;

use axum::body::Bytes;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::faults::FaultKind;

/// A snapshot of the sandbox's counters since it started.
///
/// Endpoints are named by method and pattern, e.g. `POST /v1/products` or
/// `GET /v1/products/{id}`; paths the API does not have count as `(other)`.
///
/// A request is counted in [`SandboxStats::requests`] when it arrives,
/// whatever becomes of it, and in [`SandboxStats::responses`] when it is
/// answered: a request whose client gave up (or whose connection a fault
/// dropped) is in the first and not in the second. To judge by what the
/// server holds, count its products with
/// [`SandboxHandle::product_count`](crate::SandboxHandle::product_count).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SandboxStats {
    /// Requests arrived, by endpoint, answered or not.
    pub arrived: BTreeMap<String, u64>,
    /// Answered requests by (endpoint, status).
    pub responses: BTreeMap<(String, u16), u64>,
    /// Requests whose connection was closed without an answer, by endpoint.
    pub dropped: BTreeMap<String, u64>,
    /// Requests refused by the rate limit (429, or 503 under
    /// [`RateLimitAnswer::Unavailable`](crate::RateLimitAnswer::Unavailable)).
    pub rate_limited: u64,
    /// Requests arrived in each whole second since start: `per_second[0]`
    /// counts the first second, and so on. Includes refused and dropped ones.
    pub per_second: Vec<u64>,
    /// Requests refused by the rate limit in each whole second since start.
    pub limited_per_second: Vec<u64>,
    /// Products created in each whole second since start.
    pub created_per_second: Vec<u64>,
    /// When the last request of each endpoint arrived, since start.
    pub last_arrived: BTreeMap<String, Duration>,
    /// Faults injected, by kind.
    pub faults: BTreeMap<FaultKind, u64>,
    /// Products created through `POST /v1/products` (not the seed data),
    /// also those whose answer never reached the client.
    pub products_created: u64,
    /// When the last `POST /v1/products` arrived whose body no earlier one
    /// had, since start: a client's last row's first send (a retry repeats
    /// its body), whatever became of it.
    pub last_new_body: Option<Duration>,
}

impl SandboxStats {
    /// Answered requests of one endpoint with one status.
    pub fn count(&self, endpoint: &str, status: u16) -> u64 {
        self.responses
            .get(&(endpoint.to_owned(), status))
            .copied()
            .unwrap_or(0)
    }

    /// Answered requests of one endpoint, any status.
    pub fn answered(&self, endpoint: &str) -> u64 {
        self.responses
            .iter()
            .filter(|((name, _), _)| name == endpoint)
            .map(|(_, n)| n)
            .sum()
    }

    /// Requests of one endpoint that arrived, answered or not, e.g.
    /// `requests("GET /v1/customers")`.
    pub fn requests(&self, endpoint: &str) -> u64 {
        self.arrived.get(endpoint).copied().unwrap_or(0)
    }

    /// Requests arrived in all, answered or not.
    pub fn total(&self) -> u64 {
        self.per_second.iter().sum()
    }

    /// Faults of one kind injected.
    pub fn faults_of(&self, kind: FaultKind) -> u64 {
        self.faults.get(&kind).copied().unwrap_or(0)
    }
}

/// The live counters behind [`SandboxStats`].
pub(crate) struct StatsRecorder {
    start: Instant,
    counts: Mutex<SandboxStats>,
    /// Hashes of the `POST /v1/products` bodies seen.
    bodies: Mutex<HashSet<u64>>,
}

impl StatsRecorder {
    pub(crate) fn new() -> Self {
        StatsRecorder {
            start: Instant::now(),
            counts: Mutex::new(SandboxStats::default()),
            bodies: Mutex::new(HashSet::new()),
        }
    }

    fn with(&self, update: impl FnOnce(&mut SandboxStats)) {
        update(
            &mut self
                .counts
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        );
    }

    /// A request for `endpoint` arrived now.
    pub(crate) fn arrived(&self, endpoint: &str) {
        let elapsed = self.start.elapsed();
        self.with(|stats| {
            *stats.arrived.entry(endpoint.to_owned()).or_default() += 1;
            stats.last_arrived.insert(endpoint.to_owned(), elapsed);
            bump_second(&mut stats.per_second, elapsed);
        });
    }

    /// A `POST /v1/products` whose body is these chunks arrived now.
    pub(crate) fn posted<'a>(&self, body: impl IntoIterator<Item = &'a Bytes>) {
        let elapsed = self.start.elapsed();
        let mut hasher = DefaultHasher::new();
        for chunk in body {
            hasher.write(chunk);
        }
        let new = self
            .bodies
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert(hasher.finish());
        if new {
            self.with(|stats| stats.last_new_body = Some(elapsed));
        }
    }

    /// A request was answered with `status`.
    pub(crate) fn answered(&self, endpoint: &str, status: u16) {
        self.with(|stats| {
            *stats
                .responses
                .entry((endpoint.to_owned(), status))
                .or_default() += 1
        });
    }

    /// A request's connection was closed without an answer.
    pub(crate) fn dropped(&self, endpoint: &str) {
        self.with(|stats| *stats.dropped.entry(endpoint.to_owned()).or_default() += 1);
    }

    /// A request was refused by the rate limit.
    pub(crate) fn rate_limited(&self) {
        let elapsed = self.start.elapsed();
        self.with(|stats| {
            stats.rate_limited += 1;
            bump_second(&mut stats.limited_per_second, elapsed);
        });
    }

    /// A product was created by a request.
    pub(crate) fn product_created(&self) {
        let elapsed = self.start.elapsed();
        self.with(|stats| {
            stats.products_created += 1;
            bump_second(&mut stats.created_per_second, elapsed);
        });
    }

    /// A fault was injected.
    pub(crate) fn fault(&self, kind: FaultKind) {
        self.with(|stats| *stats.faults.entry(kind).or_default() += 1);
    }

    pub(crate) fn snapshot(&self) -> SandboxStats {
        self.counts
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }
}

/// Adds one to the count of the whole second `elapsed` falls in.
fn bump_second(per_second: &mut Vec<u64>, elapsed: Duration) {
    let second = usize::try_from(elapsed.as_secs()).unwrap_or(usize::MAX);
    if per_second.len() <= second {
        per_second.resize(second + 1, 0);
    }
    per_second[second] += 1;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_add_up() {
        let recorder = StatsRecorder::new();
        recorder.arrived("POST /v1/products");
        recorder.arrived("POST /v1/products");
        recorder.product_created();
        recorder.answered("POST /v1/products", 201);
        recorder.answered("POST /v1/products", 400);
        recorder.dropped("POST /v1/products");
        recorder.fault(FaultKind::Reset);
        recorder.rate_limited();
        let stats = recorder.snapshot();
        assert_eq!(stats.total(), 2);
        assert_eq!(stats.requests("POST /v1/products"), 2);
        assert_eq!(stats.requests("GET /v1/products"), 0);
        assert_eq!(stats.products_created, 1);
        assert_eq!(stats.per_second, vec![2]);
        assert_eq!(stats.count("POST /v1/products", 201), 1);
        assert_eq!(stats.answered("POST /v1/products"), 2);
        assert_eq!(stats.dropped["POST /v1/products"], 1);
        assert_eq!(stats.faults_of(FaultKind::Reset), 1);
        assert_eq!(stats.faults_of(FaultKind::Slow), 0);
        assert_eq!(stats.rate_limited, 1);
        assert_eq!(stats.limited_per_second, vec![1]);
        assert_eq!(stats.created_per_second, vec![1]);
        assert!(stats.last_arrived.contains_key("POST /v1/products"));
        assert_eq!(stats.last_new_body, None);
        // The same bytes, cut into chunks differently, are the same body.
        let cut = |text: &'static [u8], size: usize| -> Vec<Bytes> {
            text.chunks(size).map(Bytes::from_static).collect()
        };
        recorder.posted(&cut(br#"{"number":"1"}"#, 5));
        let first = recorder.snapshot().last_new_body.expect("a new body");
        std::thread::sleep(Duration::from_millis(2));
        recorder.posted(&cut(br#"{"number":"1"}"#, 64));
        assert_eq!(
            recorder.snapshot().last_new_body,
            Some(first),
            "a retry is not new"
        );
        recorder.posted(&cut(br#"{"number":"2"}"#, 5));
        assert!(recorder.snapshot().last_new_body > Some(first));
    }
}
