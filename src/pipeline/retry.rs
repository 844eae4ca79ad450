//! Retrying: exponential backoff with full jitter for failures that are safe
//! to repeat, and waiting out 429s (with their own, larger budget, since the
//! pacer slows the whole run down after each one).

use std::future::Future;
use std::time::Duration;

use rand::Rng;

use crate::client::{ApiError, ErrorClass, RequestCounters};

/// How often and how long to retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after 5xx, connection errors and timeouts (`--max-retries`).
    pub max_retries: u32,
    /// Retries after 429 answers.
    pub max_rate_limited: u32,
    /// The first backoff's upper bound; doubled at each retry.
    pub base: Duration,
    /// The largest backoff.
    pub cap: Duration,
}

impl RetryPolicy {
    /// The defaults for `max_retries`: backoff from 200 ms up to 10 s, and
    /// up to `max(20, 4 × max_retries)` retries after 429s.
    pub fn new(max_retries: u32) -> RetryPolicy {
        RetryPolicy {
            max_retries,
            max_rate_limited: (max_retries.saturating_mul(4)).max(20),
            base: Duration::from_millis(200),
            cap: Duration::from_secs(10),
        }
    }

    /// The wait before retry number `attempt` (from 1): uniformly random
    /// between zero and `min(cap, base × 2^(attempt-1))` ("full jitter").
    pub fn backoff(&self, attempt: u32) -> Duration {
        let exp = self
            .base
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(20));
        let ceiling = exp.min(self.cap);
        let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
        Duration::from_nanos(rand::rng().random_range(0..=nanos))
    }

    /// The wait after the `attempt`-th 429: the server's `Retry-After` plus a
    /// little jitter (so waiting rows do not return all at once), else backoff.
    pub fn rate_limit_wait(&self, retry_after: Option<Duration>, attempt: u32) -> Duration {
        match retry_after {
            Some(d) => d + Duration::from_millis(rand::rng().random_range(0..=250)),
            None => self.backoff(attempt).max(self.base),
        }
    }
}

/// Counts retries of one operation and says how long to wait before the next.
#[derive(Debug, Default)]
pub struct Attempts {
    failures: u32,
    rate_limited: u32,
}

impl Attempts {
    /// Records a failure of class `class`; returns the wait before retrying,
    /// or `None` when the budget for that class is spent or it must not be retried.
    /// `Unknown` failures count as retryable here: callers that must not
    /// repeat a request with an unknown outcome handle them before.
    pub fn next_wait(&mut self, policy: &RetryPolicy, class: ErrorClass) -> Option<Duration> {
        match class {
            ErrorClass::RateLimited(after) if self.rate_limited < policy.max_rate_limited => {
                self.rate_limited += 1;
                Some(policy.rate_limit_wait(after, self.rate_limited))
            }
            ErrorClass::Transient | ErrorClass::Unknown if self.failures < policy.max_retries => {
                self.failures += 1;
                Some(policy.backoff(self.failures))
            }
            _ => None,
        }
    }
}

/// Runs an idempotent request (a lookup, a PATCH), retrying what can be retried.
pub async fn retry_idempotent<T, F, Fut>(
    policy: &RetryPolicy,
    counters: &RequestCounters,
    mut call: F,
) -> Result<T, ApiError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, ApiError>>,
{
    let mut attempts = Attempts::default();
    loop {
        match call().await {
            Ok(v) => return Ok(v),
            Err(e) => match attempts.next_wait(policy, e.class()) {
                Some(wait) => {
                    RequestCounters::bump(&counters.retries);
                    tokio::time::sleep(wait).await;
                }
                None => return Err(e),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[test]
    fn backoff_is_bounded_and_grows() {
        let p = RetryPolicy::new(5);
        for attempt in 1..30 {
            let ceiling = p.base.saturating_mul(1 << (attempt - 1).min(20)).min(p.cap);
            assert!(p.backoff(attempt) <= ceiling);
        }
        let big: Vec<Duration> = (0..200).map(|_| p.backoff(10)).collect();
        assert!(
            big.iter().any(|d| *d > Duration::from_secs(2)),
            "full jitter spreads up to the cap"
        );
        let w = p.rate_limit_wait(Some(Duration::from_secs(2)), 1);
        assert!(w >= Duration::from_secs(2) && w <= Duration::from_millis(2250));
    }

    #[test]
    fn budgets_per_class() {
        let p = RetryPolicy::new(2);
        let mut a = Attempts::default();
        assert!(a.next_wait(&p, ErrorClass::Transient).is_some());
        assert!(a.next_wait(&p, ErrorClass::Unknown).is_some());
        assert!(a.next_wait(&p, ErrorClass::Transient).is_none());
        assert!(
            a.next_wait(&p, ErrorClass::RateLimited(None)).is_some(),
            "429s have their own budget"
        );
        assert!(a.next_wait(&p, ErrorClass::Permanent).is_none());
        assert!(a.next_wait(&p, ErrorClass::Fatal).is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn retries_transient_errors_until_success() {
        let calls = AtomicU32::new(0);
        let counters = RequestCounters::default();
        let r = retry_idempotent(&RetryPolicy::new(5), &counters, || async {
            match calls.fetch_add(1, Ordering::SeqCst) {
                0 => Err(ApiError::Connect("refused".into())),
                1 => Err(ApiError::Status {
                    status: 503,
                    message: "busy".into(),
                    trace_id: None,
                    retry_after: None,
                }),
                _ => Ok(7),
            }
        })
        .await;
        assert_eq!(r.unwrap(), 7);
        assert_eq!(RequestCounters::get(&counters.retries), 2);
        let r: Result<(), _> = retry_idempotent(&RetryPolicy::new(5), &counters, || async {
            Err(ApiError::Status {
                status: 400,
                message: "bad".into(),
                trace_id: None,
                retry_after: None,
            })
        })
        .await;
        assert!(r.is_err());
        assert_eq!(RequestCounters::get(&counters.retries), 2);
    }
}
