//! Retrying: exponential backoff with full jitter for failures that are safe
//! to repeat, waiting out 429s and 503s with `Retry-After` (with their own,
//! larger budget: a server near its limit refuses often), and the settle
//! schedule of a POST whose outcome is unknown ([`SettlePolicy`]).
//!
//! One policy ([`RetryPolicy`]) and one count of attempts ([`Attempts`])
//! serve every retry of the program: the API's requests
//! ([`retry_idempotent`], a row's create) and the feed's download
//! ([`crate::feed::download`]), which also caps the `Retry-After` it waits
//! out and has a deadline for the whole download.
//!
//! A `Retry-After` is per request: it delays the retry of the request it
//! answered and nothing else. The shared pace is the pacer's
//! ([`crate::client::pacing`]), which follows the share of refusals.

use std::future::Future;
use std::time::Duration;

use rand::Rng;

use crate::client::{ApiError, ErrorClass, RequestCounters};

/// The longest `Retry-After` a request to the API waits out: a per-minute
/// quota is waited for; a server that asks for hours (a spent daily quota,
/// or a hostile one) ends the row's retries at once, with a message saying
/// so, rather than holding an unattended run for that long.
pub const API_LONGEST_RETRY_AFTER: Duration = Duration::from_secs(300);

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
    /// The longest `Retry-After` waited out; a server asking for more ends
    /// the retries at once ([`NextTry::AskedTooLong`]). `None`: any.
    pub longest_retry_after: Option<Duration>,
    /// How long the whole operation may take, retries and waits included
    /// (`None`: no deadline). The caller bounds the operation with it.
    pub deadline: Option<Duration>,
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
            longest_retry_after: None,
            deadline: None,
        }
    }

    /// The API's policy: [`RetryPolicy::new`], waiting out no `Retry-After`
    /// over [`API_LONGEST_RETRY_AFTER`].
    pub fn for_api(max_retries: u32) -> RetryPolicy {
        RetryPolicy::new(max_retries).with_longest_retry_after(API_LONGEST_RETRY_AFTER)
    }

    /// This policy, waiting out no `Retry-After` longer than `longest`.
    pub fn with_longest_retry_after(self, longest: Duration) -> RetryPolicy {
        RetryPolicy {
            longest_retry_after: Some(longest),
            ..self
        }
    }

    /// This policy, with a deadline for the whole operation.
    pub fn with_deadline(self, deadline: Duration) -> RetryPolicy {
        RetryPolicy {
            deadline: Some(deadline),
            ..self
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

    /// The wait after the `attempt`-th 429 (or 503 with `Retry-After`): the
    /// server's `Retry-After` plus a little jitter (so waiting rows do not
    /// return all at once), else backoff, at least `base` either way (a `0`
    /// or a date gone by is no busy loop).
    pub fn rate_limit_wait(&self, retry_after: Option<Duration>, attempt: u32) -> Duration {
        match retry_after {
            Some(d) => d.max(self.base) + Duration::from_millis(rand::rng().random_range(0..=250)),
            None => self.backoff(attempt).max(self.base),
        }
    }
}

/// How long a row whose POST has an unknown outcome waits, and when it looks
/// its product up meanwhile, before it may be sent again (`--settle`).
///
/// A server may finish a POST after its client gave up, and a new product may
/// reach search results only after a delay; one lookup at once proves nothing.
/// The row is looked up `lookups` times, evenly spread over `time` after the
/// outcome became unknown (by default at a third, two thirds and all of it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SettlePolicy {
    /// The whole wait (`--settle`).
    pub time: Duration,
    /// Lookups spread over it; at least one, the last at `time`.
    pub lookups: u32,
}

impl SettlePolicy {
    /// The shortest default settle time.
    pub const MIN_DEFAULT: Duration = Duration::from_secs(5);
    /// Lookups per settle by default.
    pub const DEFAULT_LOOKUPS: u32 = 3;

    /// The default for a request timeout: `max(timeout, 5 s)`, so that a
    /// server taking up to twice the timeout over a POST is still waited for,
    /// and the search lag of a fast one is covered; three lookups.
    pub fn for_timeout(timeout: Duration) -> SettlePolicy {
        SettlePolicy {
            time: timeout.max(Self::MIN_DEFAULT),
            lookups: Self::DEFAULT_LOOKUPS,
        }
    }

    /// When to look, counted from the moment the outcome became unknown:
    /// `time × i / lookups` for `i` in `1..=lookups`.
    pub fn checkpoints(&self) -> impl Iterator<Item = Duration> + '_ {
        let n = self.lookups.max(1);
        (1..=n).map(move |i| self.time.mul_f64(f64::from(i) / f64::from(n)))
    }
}

/// What follows a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextTry {
    /// Try again after this wait.
    After(Duration),
    /// The budget for the failure's class is spent, or it must not be retried.
    Spent,
    /// The server asked to wait this long, longer than the policy's
    /// [`RetryPolicy::longest_retry_after`].
    AskedTooLong(Duration),
}

/// Counts retries of one operation and says how long to wait before the next.
#[derive(Debug, Default)]
pub struct Attempts {
    failures: u32,
    rate_limited: u32,
}

impl Attempts {
    /// Records a failure of class `class` and says what follows: a 429 (or
    /// 503 with `Retry-After`) counts against its own budget and waits
    /// ([`RetryPolicy::rate_limit_wait`]); a transient failure backs off.
    /// `Unknown` failures count as retryable here: callers that must not
    /// repeat a request with an unknown outcome handle them before.
    pub fn next(&mut self, policy: &RetryPolicy, class: ErrorClass) -> NextTry {
        match class {
            ErrorClass::RateLimited(Some(asked))
                if policy.longest_retry_after.is_some_and(|l| asked > l) =>
            {
                NextTry::AskedTooLong(asked)
            }
            ErrorClass::RateLimited(after) if self.rate_limited < policy.max_rate_limited => {
                self.rate_limited += 1;
                NextTry::After(policy.rate_limit_wait(after, self.rate_limited))
            }
            ErrorClass::Transient | ErrorClass::Unknown if self.failures < policy.max_retries => {
                self.failures += 1;
                NextTry::After(policy.backoff(self.failures))
            }
            _ => NextTry::Spent,
        }
    }

    /// [`Attempts::next`] as the wait before retrying, `None` when there is
    /// no retry.
    pub fn next_wait(&mut self, policy: &RetryPolicy, class: ErrorClass) -> Option<Duration> {
        match self.next(policy, class) {
            NextTry::After(wait) => Some(wait),
            NextTry::Spent | NextTry::AskedTooLong(_) => None,
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
        let zero = p.rate_limit_wait(Some(Duration::ZERO), 1);
        assert!(zero >= p.base, "a Retry-After of 0 is no busy loop");
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
        // A cap on Retry-After ends the retries at a longer one.
        let capped = p.with_longest_retry_after(Duration::from_secs(60));
        let asked = |s| ErrorClass::RateLimited(Some(Duration::from_secs(s)));
        let mut a = Attempts::default();
        assert!(matches!(a.next(&capped, asked(60)), NextTry::After(_)));
        assert_eq!(
            a.next(&capped, asked(61)),
            NextTry::AskedTooLong(Duration::from_secs(61))
        );
        assert!(matches!(a.next(&p, asked(7200)), NextTry::After(_)));
    }

    #[test]
    fn settle_checkpoints_spread_over_the_settle_time() {
        let p = SettlePolicy::for_timeout(Duration::from_secs(1));
        assert_eq!(p.time, Duration::from_secs(5));
        let at: Vec<Duration> = p.checkpoints().collect();
        assert_eq!(at.len(), 3);
        assert_eq!(at[2], Duration::from_secs(5));
        assert!(at[0] > Duration::from_millis(1600) && at[0] < Duration::from_millis(1700));
        assert_eq!(
            SettlePolicy::for_timeout(Duration::from_secs(30)).time,
            Duration::from_secs(30)
        );
        let one = SettlePolicy {
            time: Duration::from_secs(2),
            lookups: 0,
        };
        assert_eq!(
            one.checkpoints().collect::<Vec<_>>(),
            [Duration::from_secs(2)]
        );
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
