//! The rate limit of `/v1`: governor's GCRA with a burst of `N` requests at
//! `N` per second (the same as a token bucket holding `N` and refilled at `N`
//! per second). A client pacing itself evenly at `N` per second is never
//! refused; a burst above `N` is, with `Retry-After`
//! ([`middleware::rate`](crate::middleware::rate)).
//!
//! The limit may change part way through a run ([`RateSchedule`]): at each
//! step the sandbox starts a fresh limiter with the new quota (its burst
//! full, as a server's new window would be). The budget may also start
//! used up, as when another client of the same account has just spent it
//! ([`RateSchedule::spent_at_start`]).

use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock, Reference};
use governor::middleware::NoOpMiddleware;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};

/// The limit of `/v1` over a run: requests per second from the start on,
/// and the changes after it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RateSchedule {
    /// `(since the sandbox started, requests per second from then on)`, in
    /// order of time; `None` lifts the limit.
    pub changes: Vec<(Duration, Option<NonZeroU32>)>,
    /// The budget of the first limit is used up when the first request
    /// arrives: the first requests (beyond what refills meanwhile) are refused.
    pub spent_at_start: bool,
}

impl RateSchedule {
    /// The limit in force `since` the start, given `first` at the start.
    fn at(&self, first: Option<NonZeroU32>, since: Duration) -> (usize, Option<NonZeroU32>) {
        self.changes
            .iter()
            .enumerate()
            .rev()
            .find(|(_, (at, _))| *at <= since)
            .map_or((0, first), |(i, (_, rate))| (i + 1, *rate))
    }
}

type Limiter<C> = RateLimiter<NotKeyed, InMemoryState, C, NoOpMiddleware<<C as Clock>::Instant>>;

/// The limiter of a sandbox, following its schedule; the clock is a
/// parameter so the arithmetic can be tested.
pub(crate) struct RateLimit<C: Clock = DefaultClock> {
    clock: C,
    started: C::Instant,
    first: Option<NonZeroU32>,
    schedule: RateSchedule,
    /// The step of the schedule in force and its limiter.
    current: Mutex<(usize, Option<Limiter<C>>)>,
    /// Whether the budget is still to be spent (at the first request).
    to_spend: std::sync::atomic::AtomicBool,
}

impl<C: Clock + Clone> RateLimit<C> {
    /// `first` per second from now on, changing as `schedule` says.
    pub(crate) fn new(first: Option<NonZeroU32>, schedule: RateSchedule, clock: C) -> Self {
        let started = clock.now();
        let limiter = first.map(|n| limiter(n, &clock));
        let to_spend = std::sync::atomic::AtomicBool::new(schedule.spent_at_start);
        RateLimit {
            clock,
            started,
            first,
            schedule,
            current: Mutex::new((0, limiter)),
            to_spend,
        }
    }

    /// Lets a request in, or says how long until one would be.
    pub(crate) fn check(&self) -> Result<(), Duration> {
        let now = self.clock.now();
        let since: Duration = now.duration_since(self.started).into();
        let (step, rate) = self.schedule.at(self.first, since);
        let mut current = self
            .current
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if current.0 != step {
            *current = (step, rate.map(|n| limiter(n, &self.clock)));
        }
        if self
            .to_spend
            .swap(false, std::sync::atomic::Ordering::Relaxed)
        {
            if let (Some(l), Some(n)) = (&current.1, rate) {
                // The whole burst; `n` is the burst, so it always fits.
                let _ = l.check_n(n);
            }
        }
        match &current.1 {
            None => Ok(()),
            Some(l) => l.check().map_err(|not_until| not_until.wait_time_from(now)),
        }
    }
}

fn limiter<C: Clock + Clone>(per_second: NonZeroU32, clock: &C) -> Limiter<C> {
    RateLimiter::direct_with_clock(Quota::per_second(per_second), clock.clone())
}

/// `Retry-After` in whole seconds: the wait rounded up, at least 1.
pub(crate) fn retry_after_secs(wait: Duration) -> u64 {
    (wait.as_secs_f64().ceil() as u64).max(1)
}

/// The limit for a configured rate and schedule; `None` when there is
/// never a limit.
pub(crate) fn limit_for(rate: Option<u32>, schedule: &RateSchedule) -> Option<RateLimit> {
    let first = rate.and_then(NonZeroU32::new);
    if first.is_none() && schedule.changes.iter().all(|(_, r)| r.is_none()) {
        return None;
    }
    Some(RateLimit::new(
        first,
        schedule.clone(),
        DefaultClock::default(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use governor::clock::FakeRelativeClock;

    fn nz(n: u32) -> Option<NonZeroU32> {
        NonZeroU32::new(n)
    }

    fn limit(
        rate: u32,
        schedule: RateSchedule,
    ) -> (RateLimit<FakeRelativeClock>, FakeRelativeClock) {
        let clock = FakeRelativeClock::default();
        (RateLimit::new(nz(rate), schedule, clock.clone()), clock)
    }

    #[test]
    fn burst_above_capacity_is_refused() {
        let (l, _) = limit(5, RateSchedule::default());
        for _ in 0..5 {
            assert!(l.check().is_ok());
        }
        let wait = l.check().unwrap_err();
        assert!((wait.as_secs_f64() - 0.2).abs() < 1e-6, "{wait:?}");
        assert_eq!(retry_after_secs(wait), 1);
    }

    #[test]
    fn even_pacing_at_the_rate_is_never_refused() {
        let (l, clock) = limit(10, RateSchedule::default());
        for i in 0..1000 {
            assert!(l.check().is_ok(), "request {i} refused");
            clock.advance(Duration::from_millis(100));
        }
    }

    #[test]
    fn refilled_after_waiting_but_never_above_the_burst() {
        let (l, clock) = limit(2, RateSchedule::default());
        assert!(l.check().is_ok());
        assert!(l.check().is_ok());
        assert!(l.check().is_err());
        clock.advance(Duration::from_millis(500));
        assert!(l.check().is_ok());
        assert!(l.check().is_err());
        clock.advance(Duration::from_secs(60));
        assert!(l.check().is_ok());
        assert!(l.check().is_ok());
        assert!(l.check().is_err());
    }

    #[test]
    fn a_budget_spent_at_start_refuses_the_first_requests() {
        let spent = RateSchedule {
            spent_at_start: true,
            ..RateSchedule::default()
        };
        let (l, clock) = limit(10, spent);
        clock.advance(Duration::from_secs(5));
        assert!(l.check().is_err(), "spent when the first request arrives");
        clock.advance(Duration::from_millis(100));
        assert!(l.check().is_ok());
        assert!(l.check().is_err());
    }

    #[test]
    fn the_limit_follows_its_schedule() {
        let schedule = RateSchedule {
            changes: vec![
                (Duration::from_secs(10), nz(100)),
                (Duration::from_secs(20), None),
            ],
            spent_at_start: false,
        };
        let (l, clock) = limit(2, schedule);
        let admitted = |n: u32| (0..n).filter(|_| l.check().is_ok()).count();
        assert_eq!(admitted(10), 2);
        clock.advance(Duration::from_secs(10));
        assert_eq!(admitted(150), 100, "a fresh limiter with the new quota");
        clock.advance(Duration::from_secs(10));
        assert_eq!(admitted(1000), 1000, "no limit any more");
    }

    #[test]
    fn retry_after_rounds_up() {
        assert_eq!(retry_after_secs(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(1001)), 2);
        assert_eq!(retry_after_secs(Duration::ZERO), 1);
    }
}
