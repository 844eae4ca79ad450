//! Counters of what the sandbox saw and did.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Instant;

use super::faults::FaultKind;

/// A snapshot of the sandbox's counters since it started.
///
/// Endpoints are named by method and pattern, e.g. `POST /v1/products` or
/// `GET /v1/products/{id}`; paths the API does not have count as `(other)`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SandboxStats {
    /// Answered requests by (endpoint, status).
    pub responses: BTreeMap<(String, u16), u64>,
    /// Requests whose connection was closed without an answer, by endpoint.
    pub dropped: BTreeMap<String, u64>,
    /// Requests refused with 429 by the rate limit.
    pub rate_limited: u64,
    /// Requests arrived in each whole second since start: `per_second[0]`
    /// counts the first second, and so on. Includes refused and dropped ones.
    pub per_second: Vec<u64>,
    /// Faults injected, by kind.
    pub faults: BTreeMap<FaultKind, u64>,
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
}

impl StatsRecorder {
    pub(crate) fn new() -> Self {
        StatsRecorder {
            start: Instant::now(),
            counts: Mutex::new(SandboxStats::default()),
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

    /// A request arrived now.
    pub(crate) fn arrived(&self) {
        let second = usize::try_from(self.start.elapsed().as_secs()).unwrap_or(usize::MAX);
        self.with(|stats| {
            if stats.per_second.len() <= second {
                stats.per_second.resize(second + 1, 0);
            }
            stats.per_second[second] += 1;
        });
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
        self.with(|stats| stats.rate_limited += 1);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_add_up() {
        let recorder = StatsRecorder::new();
        recorder.arrived();
        recorder.arrived();
        recorder.answered("POST /v1/products", 201);
        recorder.answered("POST /v1/products", 400);
        recorder.dropped("POST /v1/products");
        recorder.fault(FaultKind::Reset);
        recorder.rate_limited();
        let stats = recorder.snapshot();
        assert_eq!(stats.total(), 2);
        assert_eq!(stats.per_second, vec![2]);
        assert_eq!(stats.count("POST /v1/products", 201), 1);
        assert_eq!(stats.answered("POST /v1/products"), 2);
        assert_eq!(stats.dropped["POST /v1/products"], 1);
        assert_eq!(stats.faults_of(FaultKind::Reset), 1);
        assert_eq!(stats.faults_of(FaultKind::Slow), 0);
        assert_eq!(stats.rate_limited, 1);
    }
}
