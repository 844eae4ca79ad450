//! Faults injected on purpose, with probabilities and a seed.
//!
//! Every authenticated `/v1` request draws one number from a random generator
//! seeded with [`SandboxConfig::seed`](crate::SandboxConfig::seed); the number
//! picks at most one fault by the cumulative probabilities of the
//! [`FaultSpec`], in the order `error500`, `error503`, `reset`, `ambiguous`,
//! `slow`, `late`. The same seed and the same sequence of requests therefore
//! give the same faults. A fault that does not apply to the endpoint
//! (`ambiguous` or `late` outside `POST /products`) means no fault for that
//! request. [`middleware::faults`](crate::middleware::faults) acts the
//! drawn fault out.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::sync::Mutex;

use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};

/// One way of misbehaving.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FaultKind {
    /// `error500`: answers 500 before doing anything.
    Error500,
    /// `error503`: answers 503 before doing anything; with `Retry-After: 1`
    /// or without, as [`Behaviour::fault_503`](crate::Behaviour::fault_503)
    /// says (the strict profile sends it: the same answer as its rate
    /// limit's, see `RateLimitAnswer`, so only how often they come tells
    /// them apart).
    Error503,
    /// `reset`: closes the connection without an answer before doing anything.
    Reset,
    /// `ambiguous` (`POST /products` only): handles the request as usual,
    /// creating the product when the body is valid, then throws the answer
    /// away and answers 502 or closes the connection without an answer
    /// (chosen by the seeded generator), so the client cannot know that it
    /// succeeded.
    Ambiguous,
    /// `slow`: does the work, then waits
    /// [`SandboxConfig::slow_delay`](crate::SandboxConfig::slow_delay) before
    /// answering, long enough for a client timeout to leave the outcome unknown.
    Slow,
    /// `late` (`POST /products` only): reads the body, waits
    /// [`SandboxConfig::late_delay`](crate::SandboxConfig::late_delay), then
    /// creates the product and answers. The wait and the creation run apart
    /// from the connection, so a client that times out or disconnects
    /// meanwhile does not cancel them: the product appears on the server
    /// after the client has given up.
    Late,
}

impl FaultKind {
    /// Every kind, in the order probabilities are accumulated.
    pub const ALL: [FaultKind; 6] = [
        FaultKind::Error500,
        FaultKind::Error503,
        FaultKind::Reset,
        FaultKind::Ambiguous,
        FaultKind::Slow,
        FaultKind::Late,
    ];

    /// The name used in a fault spec: `error500`, `error503`, `reset`,
    /// `ambiguous`, `slow`, `late`.
    pub fn name(self) -> &'static str {
        match self {
            FaultKind::Error500 => "error500",
            FaultKind::Error503 => "error503",
            FaultKind::Reset => "reset",
            FaultKind::Ambiguous => "ambiguous",
            FaultKind::Slow => "slow",
            FaultKind::Late => "late",
        }
    }
}

impl fmt::Display for FaultKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for FaultKind {
    type Err = FaultSpecError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        FaultKind::ALL
            .into_iter()
            .find(|kind| kind.name() == s)
            .ok_or_else(|| FaultSpecError::UnknownKind(s.to_owned()))
    }
}

/// Why a fault spec was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FaultSpecError {
    /// An entry is not `kind=probability`.
    #[error("fault entry `{0}` is not of the form kind=probability")]
    Malformed(String),
    /// The kind is not one of `error500`, `error503`, `reset`, `ambiguous`, `slow`, `late`.
    #[error("unknown fault `{0}` (known: error500, error503, reset, ambiguous, slow, late)")]
    UnknownKind(String),
    /// The probability is not a number from 0 to 1.
    #[error("probability of `{kind}` must be a number from 0 to 1, not `{value}`")]
    BadProbability {
        /// The fault named.
        kind: FaultKind,
        /// The text given as its probability.
        value: String,
    },
    /// The same kind is given twice.
    #[error("fault `{0}` is given more than once")]
    Repeated(FaultKind),
    /// The probabilities add up to more than 1.
    #[error("fault probabilities add up to {0}, more than 1")]
    TotalAboveOne(f64),
}

/// How often each fault happens, e.g. parsed from
/// `error500=0.05,error503=0.02,reset=0.02,ambiguous=0.02,slow=0.01`.
///
/// Probabilities are per request and add up to at most 1. The empty spec
/// (the default) injects nothing.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FaultSpec {
    probabilities: BTreeMap<FaultKind, f64>,
}

impl FaultSpec {
    /// Parses `kind=probability` entries separated by commas; spaces around
    /// entries are ignored and an empty string means no faults.
    pub fn parse(s: &str) -> Result<Self, FaultSpecError> {
        let mut spec = FaultSpec::default();
        for entry in s
            .split(',')
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
        {
            let (kind, value) = entry
                .split_once('=')
                .ok_or_else(|| FaultSpecError::Malformed(entry.to_owned()))?;
            let kind: FaultKind = kind.trim().parse()?;
            let value = value.trim();
            let probability = value
                .parse::<f64>()
                .ok()
                .filter(|p| (0.0..=1.0).contains(p))
                .ok_or_else(|| FaultSpecError::BadProbability {
                    kind,
                    value: value.to_owned(),
                })?;
            if spec.probabilities.insert(kind, probability).is_some() {
                return Err(FaultSpecError::Repeated(kind));
            }
        }
        let total = spec.total();
        if total > 1.0 + 1e-9 {
            return Err(FaultSpecError::TotalAboveOne(total));
        }
        Ok(spec)
    }

    /// A spec with a single kind at the given probability.
    pub fn only(kind: FaultKind, probability: f64) -> Result<Self, FaultSpecError> {
        Self::parse(&format!("{kind}={probability}"))
    }

    /// The probability of one kind (0 when not given).
    pub fn probability(&self, kind: FaultKind) -> f64 {
        self.probabilities.get(&kind).copied().unwrap_or(0.0)
    }

    /// True when no fault can happen.
    pub fn is_empty(&self) -> bool {
        self.total() == 0.0
    }

    fn total(&self) -> f64 {
        self.probabilities.values().sum()
    }

    /// The kind a uniform draw in `[0, 1)` selects, if any.
    fn select(&self, draw: f64) -> Option<FaultKind> {
        let mut bound = 0.0;
        for kind in FaultKind::ALL {
            let p = self.probability(kind);
            bound += p;
            if p > 0.0 && draw < bound {
                return Some(kind);
            }
        }
        None
    }
}

impl FromStr for FaultSpec {
    type Err = FaultSpecError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for FaultSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let entries: Vec<String> = self
            .probabilities
            .iter()
            .map(|(kind, p)| format!("{kind}={p}"))
            .collect();
        f.write_str(&entries.join(","))
    }
}

/// The seeded generator behind the fault decisions.
pub(crate) struct FaultInjector {
    spec: FaultSpec,
    rng: Mutex<StdRng>,
}

impl FaultInjector {
    pub(crate) fn new(spec: FaultSpec, seed: u64) -> Self {
        FaultInjector {
            spec,
            rng: Mutex::new(StdRng::seed_from_u64(seed)),
        }
    }

    /// Draws the fault for one request. No draw is made when no fault is
    /// configured, so a well-behaved sandbox spends nothing here.
    pub(crate) fn draw(&self) -> Option<FaultKind> {
        if self.spec.is_empty() {
            return None;
        }
        let draw: f64 = self.rng().random();
        self.spec.select(draw)
    }

    /// A fair coin from the same generator, for the choices inside a fault.
    pub(crate) fn coin(&self) -> bool {
        self.rng().random_bool(0.5)
    }

    fn rng(&self) -> std::sync::MutexGuard<'_, StdRng> {
        self.rng
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_example() {
        let spec =
            FaultSpec::parse("error500=0.05,error503=0.02,reset=0.02,ambiguous=0.02,slow=0.01")
                .unwrap();
        assert_eq!(spec.probability(FaultKind::Error500), 0.05);
        assert_eq!(spec.probability(FaultKind::Slow), 0.01);
        assert_eq!(
            spec.to_string(),
            "error500=0.05,error503=0.02,reset=0.02,ambiguous=0.02,slow=0.01"
        );
        assert_eq!(
            " reset = 1 ,"
                .parse::<FaultSpec>()
                .unwrap()
                .probability(FaultKind::Reset),
            1.0
        );
        assert!(FaultSpec::parse("").unwrap().is_empty());
    }

    #[test]
    fn refuses_bad_specs() {
        assert_eq!(
            FaultSpec::parse("boom=0.1"),
            Err(FaultSpecError::UnknownKind("boom".into()))
        );
        assert_eq!(
            FaultSpec::parse("reset"),
            Err(FaultSpecError::Malformed("reset".into()))
        );
        assert!(matches!(
            FaultSpec::parse("reset=1.5"),
            Err(FaultSpecError::BadProbability { .. })
        ));
        assert!(matches!(
            FaultSpec::parse("reset=x"),
            Err(FaultSpecError::BadProbability { .. })
        ));
        assert_eq!(
            FaultSpec::parse("slow=0.1,slow=0.2"),
            Err(FaultSpecError::Repeated(FaultKind::Slow))
        );
        assert!(matches!(
            FaultSpec::parse("error500=0.7,error503=0.7"),
            Err(FaultSpecError::TotalAboveOne(_))
        ));
    }

    #[test]
    fn draws_select_by_cumulative_probability() {
        let spec = FaultSpec::parse("error500=0.1,reset=0.2").unwrap();
        assert_eq!(spec.select(0.05), Some(FaultKind::Error500));
        assert_eq!(spec.select(0.1), Some(FaultKind::Reset));
        assert_eq!(spec.select(0.29), Some(FaultKind::Reset));
        assert_eq!(spec.select(0.31), None);
        let always = FaultSpec::only(FaultKind::Slow, 1.0).unwrap();
        assert_eq!(always.select(0.999_999), Some(FaultKind::Slow));
    }

    #[test]
    fn same_seed_same_sequence() {
        let spec = FaultSpec::parse("error500=0.3,error503=0.3").unwrap();
        let sequence = |seed| {
            let injector = FaultInjector::new(spec.clone(), seed);
            (0..50).map(|_| injector.draw()).collect::<Vec<_>>()
        };
        assert_eq!(sequence(7), sequence(7));
        assert_ne!(sequence(7), sequence(8));
    }
}
