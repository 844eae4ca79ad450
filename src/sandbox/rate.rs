//! The rate limit of `/v1`: a token bucket holding `N` requests, refilled at
//! `N` per second. A client pacing itself evenly at `N` per second always
//! finds a token; a burst above `N` does not and gets 429 with `Retry-After`.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::behaviour::RateLimitAnswer;
use super::error::ApiError;
use super::state::Sandbox;

/// A token bucket; time is passed in so the arithmetic can be tested.
#[derive(Debug)]
pub(crate) struct TokenBucket {
    per_second: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    /// A full bucket for `per_second` requests (at least 1).
    pub(crate) fn new(per_second: u32, now: Instant) -> Self {
        let per_second = f64::from(per_second.max(1));
        TokenBucket {
            per_second,
            tokens: per_second,
            last: now,
        }
    }

    /// Takes a token, or says how long until one is available.
    pub(crate) fn try_take(&mut self, now: Instant) -> Result<(), Duration> {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.per_second).min(self.per_second);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64(
                (1.0 - self.tokens) / self.per_second,
            ))
        }
    }
}

/// `Retry-After` in whole seconds: the wait rounded up, at least 1.
fn retry_after_secs(wait: Duration) -> u64 {
    (wait.as_secs_f64().ceil() as u64).max(1)
}

/// Middleware: refuses requests above the rate with 429, or 503 (see
/// [`RateLimitAnswer`]), and `Retry-After`.
pub(crate) async fn limit(
    State(sandbox): State<Arc<Sandbox>>,
    request: Request,
    next: Next,
) -> Response {
    if let Some(bucket) = &sandbox.bucket {
        let taken = bucket
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .try_take(Instant::now());
        if let Err(wait) = taken {
            sandbox.stats.rate_limited();
            let secs = retry_after_secs(wait);
            return match sandbox.behaviour.rate_limit_answer {
                RateLimitAnswer::TooManyRequests => ApiError::rate_limited(secs),
                RateLimitAnswer::Unavailable => ApiError::unavailable(Some(secs)),
            }
            .into_response();
        }
    }
    next.run(request).await
}

/// The bucket for a configured rate, if any.
pub(crate) fn bucket_for(rate: Option<u32>) -> Option<Mutex<TokenBucket>> {
    rate.map(|n| Mutex::new(TokenBucket::new(n, Instant::now())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_above_capacity_is_refused() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(5, start);
        for _ in 0..5 {
            assert!(bucket.try_take(start).is_ok());
        }
        let wait = bucket.try_take(start).unwrap_err();
        assert!((wait.as_secs_f64() - 0.2).abs() < 1e-9);
        assert_eq!(retry_after_secs(wait), 1);
    }

    #[test]
    fn even_pacing_at_the_rate_is_never_refused() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(10, start);
        for i in 0..1000u64 {
            let now = start + Duration::from_millis(100 * i);
            assert!(bucket.try_take(now).is_ok(), "request {i} refused");
        }
    }

    #[test]
    fn refilled_after_waiting() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(2, start);
        assert!(bucket.try_take(start).is_ok());
        assert!(bucket.try_take(start).is_ok());
        assert!(bucket.try_take(start).is_err());
        assert!(bucket.try_take(start + Duration::from_millis(500)).is_ok());
        assert!(bucket.try_take(start + Duration::from_millis(500)).is_err());
        // Idle time does not store more than the capacity.
        let later = start + Duration::from_secs(60);
        assert!(bucket.try_take(later).is_ok());
        assert!(bucket.try_take(later).is_ok());
        assert!(bucket.try_take(later).is_err());
    }

    #[test]
    fn retry_after_rounds_up() {
        assert_eq!(retry_after_secs(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(1001)), 2);
        assert_eq!(retry_after_secs(Duration::ZERO), 1);
    }
}
