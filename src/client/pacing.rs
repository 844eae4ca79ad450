//! Pacing: one rate limiter for every request of a run, plus an adaptive
//! slowdown when the server answers 429.
//!
//! The fixed ceiling (`--rate`) is a governor limiter with a burst of two:
//! requests leave evenly spaced instead of in bursts, and a request that
//! leaves a little late (timer granularity, a busy thread) does not push
//! every later one back, so the achieved rate stays at the ceiling.
//!
//! Governor's quota cannot change while it runs, so the adaptive part is a
//! gate in front of it. After a 429 every request waits out the server's
//! `Retry-After`, and the pace is halved (at most once a second, since the
//! 429s of one burst arrive together). It then recovers in two speeds, like
//! TCP's congestion control: quickly (a tenth of the ceiling per quiet second)
//! up to 85% of the pace that provoked the 429, then slowly (5% of that per
//! second), so the run settles just under the server's limit instead of
//! bouncing off it.

use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use tokio::time::Instant;

/// The lowest pace the adaptive slowdown goes down to, in requests per second.
const MIN_RATE: f64 = 0.5;
/// How long a pause is when a 429 has no `Retry-After`.
const DEFAULT_PAUSE: Duration = Duration::from_secs(1);
/// Time without a 429 before the pace is raised one step.
const RECOVERY_STEP: Duration = Duration::from_secs(1);
/// The longest `Retry-After` waited out at once: the pacer pauses no
/// longer, and a feed download asked for more gives up.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// Paces every request of a run. Shared (`Arc`) by all workers and the client.
#[derive(Debug)]
pub struct Pacer {
    limiter: DefaultDirectRateLimiter,
    ceiling: f64,
    state: Mutex<Adaptive>,
}

#[derive(Debug)]
struct Adaptive {
    /// The pace in force.
    rate: f64,
    /// Below this pace, recover quickly; above it, probe slowly.
    probe_from: f64,
    /// When the adaptive gate lets the next request through.
    next_slot: Instant,
    /// Everyone waits until then (`Retry-After`).
    pause_until: Instant,
    /// The last halving.
    last_decrease: Option<Instant>,
    /// The last change of pace (halving or recovery step).
    last_step: Instant,
}

impl Pacer {
    /// A pacer allowing at most `rate` requests per second.
    pub fn new(rate: NonZeroU32) -> Pacer {
        let quota = Quota::with_period(Duration::from_secs(1) / rate.get())
            .expect("a non-zero rate gives a non-zero period")
            .allow_burst(NonZeroU32::new(2).expect("two is not zero"));
        let now = Instant::now();
        let ceiling = f64::from(rate.get());
        Pacer {
            limiter: RateLimiter::direct(quota),
            ceiling,
            state: Mutex::new(Adaptive {
                rate: ceiling,
                probe_from: ceiling,
                next_slot: now,
                pause_until: now,
                last_decrease: None,
                last_step: now,
            }),
        }
    }

    /// Waits until one more request may be sent.
    pub async fn acquire(&self) {
        let at = {
            let mut s = self.state.lock().expect("pacer lock");
            let now = Instant::now();
            self.recover(&mut s, now);
            let mut at = now.max(s.pause_until);
            if s.rate < self.ceiling {
                at = at.max(s.next_slot);
                s.next_slot = at + Duration::from_secs_f64(1.0 / s.rate);
            }
            at
        };
        tokio::time::sleep_until(at).await;
        self.limiter.until_ready().await;
    }

    /// The server answered 429 (or 503 with `Retry-After`): pause everyone for `retry_after` (or a
    /// second) and lower the pace.
    pub fn rate_limited(&self, retry_after: Option<Duration>) {
        let mut s = self.state.lock().expect("pacer lock");
        let now = Instant::now();
        let pause = retry_after.unwrap_or(DEFAULT_PAUSE).min(MAX_RETRY_AFTER);
        s.pause_until = s.pause_until.max(now + pause);
        if s.last_decrease
            .is_none_or(|t| now.duration_since(t) >= RECOVERY_STEP)
        {
            let floor = MIN_RATE.min(self.ceiling);
            s.probe_from = (s.rate * 0.85).max(floor);
            s.rate = (s.rate * 0.5).max(floor);
            s.last_decrease = Some(now);
            s.last_step = now;
            s.next_slot = s.next_slot.max(s.pause_until);
        }
    }

    /// The pace in force now, in requests per second.
    pub fn current_rate(&self) -> f64 {
        let mut s = self.state.lock().expect("pacer lock");
        self.recover(&mut s, Instant::now());
        s.rate
    }

    fn recover(&self, s: &mut Adaptive, now: Instant) {
        while s.rate < self.ceiling && now.duration_since(s.last_step) >= RECOVERY_STEP {
            s.rate = if s.rate < s.probe_from {
                (s.rate + self.ceiling * 0.1).min(s.probe_from)
            } else {
                s.rate + (s.probe_from * 0.05).max(0.1)
            }
            .min(self.ceiling);
            s.last_step += RECOVERY_STEP;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nz(n: u32) -> NonZeroU32 {
        NonZeroU32::new(n).unwrap()
    }

    #[tokio::test]
    async fn spaces_requests_evenly() {
        let pacer = Pacer::new(nz(100));
        let start = std::time::Instant::now();
        for _ in 0..22 {
            pacer.acquire().await;
        }
        let took = start.elapsed();
        // Two at once (the burst), then 20 intervals of 10 ms.
        assert!(took >= Duration::from_millis(195), "{took:?}");
        assert!(took < Duration::from_millis(400), "{took:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn slows_down_on_429_and_recovers() {
        let pacer = Pacer::new(nz(10));
        assert_eq!(pacer.current_rate(), 10.0);
        pacer.rate_limited(Some(Duration::from_secs(2)));
        assert_eq!(pacer.current_rate(), 5.0);
        // A burst of 429s from the same window halves only once.
        pacer.rate_limited(None);
        assert_eq!(pacer.current_rate(), 5.0);
        let before = Instant::now();
        pacer.acquire().await;
        assert!(
            before.elapsed() >= Duration::from_secs(2),
            "waits out Retry-After"
        );
        // Quick recovery (+1/s) up to 85% of the pace that provoked the 429...
        tokio::time::advance(Duration::from_secs(2)).await;
        assert_eq!(pacer.current_rate(), 8.5);
        // ...then slow probing (+0.425/s) up to the ceiling.
        tokio::time::advance(Duration::from_secs(1)).await;
        assert!((pacer.current_rate() - 8.925).abs() < 1e-9);
        tokio::time::advance(Duration::from_secs(10)).await;
        assert_eq!(pacer.current_rate(), 10.0);
        // A 429 a second later halves again, from where the pace is.
        pacer.rate_limited(None);
        assert_eq!(pacer.current_rate(), 5.0);
    }
}
