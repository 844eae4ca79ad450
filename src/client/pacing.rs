//! Pacing: one shared pace for every request of a run, found and held by a
//! rate controller that watches how the server answers.
//!
//! # What is per request and what is shared
//! - A `Retry-After` (on a 429, or on a 503) delays the retry of *that*
//!   request only (see [`crate::pipeline::retry`]). Nobody else waits: one
//!   refused request says little about the next one, and a server may send
//!   `Retry-After` with any 503.
//! - The shared pace ([`Pacer::acquire`]) reacts to the *share* of throttled
//!   answers over a short window, and at most once per window.
//!
//! # The controller (how well-tested clients do it, and the choice here)
//! - TCP's congestion control reacts to loss at most once per round trip
//!   (one window of data), cuts multiplicatively and regrows additively
//!   (Reno) or along a cubic curve around the window size of the last loss
//!   (CUBIC: fast far below it, flat close to it, probing beyond it).
//! - The AWS SDKs' adaptive retry mode paces sends with a token bucket whose
//!   fill rate follows CUBIC: on a throttling error the rate is cut to 0.7 ×
//!   the *measured* send rate and regrows along the cubic curve towards the
//!   rate at the last throttle. Every throttle reacts, without a window.
//! - Netflix's concurrency-limits adapt a concurrency limit (AIMD on drops,
//!   or a gradient of short- against long-term round-trip time). It limits
//!   requests in flight, not a rate, and latency is not what a rate-limiting
//!   API signals: it answers 429/503 at once.
//!
//! Chosen: a rate (the server limits a rate; concurrency stays the separate
//! cap `--concurrency`), measured in windows as TCP does, cut from a
//! measurement as AWS does, regrown along a cubic curve as both do. What a
//! server's limit looks like shaped the details: a token bucket (or a
//! window) lets a burst through before it refuses anything, so a pace above
//! the limit shows only once the budget saved up is spent, and then at
//! once with a large share refused.
//! - A window lasts at least [`WINDOW`] and [`WINDOW_ANSWERS`] answers (at
//!   most [`WINDOW_MAX`]). Answers to requests sent before the last cut are
//!   not judged again: they tell of the old pace (TCP reacts once per
//!   round trip the same way). When it closes, it is *congested* if at least
//!   [`THROTTLED_SHARE`] of its answers (and two or more) were 429, or if
//!   503s cluster: at least [`UNAVAILABLE_SHARE`] of the answers (and three
//!   or more), or [`UNAVAILABLE_ABOVE_SCATTERED`] above the share of 503s
//!   the windows that were not congested had (the scattered ones). Scattered
//!   503s are a failing backend, not a limit: they are retried but do not
//!   slow anyone down. 500s, lost answers and timeouts count as answers of
//!   neither kind. Below the limit found, where scattered 503s were seen, a
//!   window just over the threshold (less than twice it) cuts only when the
//!   window before it was congested too: a few faults that came together
//!   are not a limit.
//! - A window closes at once, before it is due, when from its first refusal
//!   on [`FAST_ANSWERS`] answers came back of which [`FAST_SHARE`] were
//!   refused: a budget just spent (the first burst, a probe that went too
//!   far) then costs a few dozen answers, not a whole window of refusals.
//!   The limit is then the pace less the share refused from the first
//!   refusal on (the answers before it drew on the saved budget), counted
//!   from one refusal to another so that where the count stops does not
//!   skew it.
//! - A congested window sets the pace to [`BELOW_LIMIT`] × the rate the
//!   server *accepted* in it (while the client sends above its limit, what
//!   it accepts is its limit; 500s, lost answers and as many 503s as are
//!   usually scattered got past the limit too), never below half the pace
//!   before (at most a halving per cut, like TCP). That accepted rate is
//!   remembered as the limit found. A window the run did not fill (its rows
//!   were busy elsewhere) underrates the limit: there the pace less the
//!   share refused counts, if higher. When the window's first refusal came
//!   a while into it, the rate let through from then on counts if lower:
//!   a budget spent part way through let more through before it.
//! - A window that is not congested regrows the pace along a cubic curve
//!   that reaches [`CRUISE`] × the limit found after a plateau and then
//!   probes beyond it slowly, then faster. Cruising a little under the limit
//!   lets the server's budget refill, so the jitter of a loaded machine (two
//!   requests arriving close together) meets no refusal, where a pace at
//!   the limit itself meets a trickle of them. The plateau is
//!   [`CUBIC_PLATEAU`] after a cut that found a new limit and doubles (up to
//!   [`PLATEAU_MAX`]) each time a cut finds the same limit again: every
//!   probe spends the budget saved while cruising and costs a few refusals,
//!   so a limit that stays put is probed ever less often, while one that
//!   moved is probed at the old pace. Far beyond the last limit found (10%)
//!   the pace grows by a tenth each window (a limit that rose).
//! - A probe ends at its first few refusals ([`PROBE_REFUSALS`] within
//!   [`PROBE_SPAN`] answers) when what they measure is the limit found:
//!   back to cruising under it, with the plateau doubled. The budget saved
//!   while cruising hides the limit until it is spent, so by then the pace
//!   is well beyond it, and waiting for the window to close cost a dozen
//!   refusals a probe. A limit measured higher, or any probe where 503s
//!   are scattered (a few refusals may be faults), is still left to the
//!   window.
//! - `--rate N` ([`Pacer::new`]) starts at N and never goes above it.
//!   `--rate auto` ([`Pacer::auto`]) starts at a safe [`AUTO_START`] per
//!   second and grows by half each window (TCP's slow start) until the first
//!   congested window, never above `--max-rate`. The pace grows only while
//!   the run uses at least half of it, so a run held back by its
//!   concurrency does not build up a pace it never tried.
//!
//! The constants were tuned against a simulated token bucket (the tests
//! below) and the benchmark's `network` section against the strict sandbox
//! (see `docs/performance.md`).
//!
//! Requests leave evenly spaced at the pace, with a tolerance of one
//! interval plus a millisecond so that a request leaving a little late
//! (timer granularity, a busy thread) does not push every later one back.

use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// The lowest pace, in requests per second.
const MIN_RATE: f64 = 0.5;
/// The shortest window of answers the controller judges.
pub const WINDOW: Duration = Duration::from_secs(1);
/// The fewest answers a window holds before it is judged (unless it reaches
/// [`WINDOW_MAX`]).
pub const WINDOW_ANSWERS: u64 = 10;
/// The longest window.
pub const WINDOW_MAX: Duration = Duration::from_secs(5);
/// A window with this share of 429 answers (and at least two) is congested.
pub const THROTTLED_SHARE: f64 = 0.01;
/// A window with this share of 503 answers (and at least three) is
/// congested: 503s that cluster are a limit; scattered ones are faults.
pub const UNAVAILABLE_SHARE: f64 = 0.05;
/// A window whose 503s stand this far above the share of scattered ones
/// (faults, measured in the windows that were not congested) is congested
/// too, even under [`UNAVAILABLE_SHARE`].
pub const UNAVAILABLE_ABOVE_SCATTERED: f64 = 0.03;
/// From a window's first refusal on, this many answers of which
/// [`FAST_SHARE`] refused close the window at once: a limit well below the
/// pace (a first burst, a probe that went too far) is cut within a few
/// dozen answers rather than a whole window.
pub const FAST_ANSWERS: u64 = 32;
/// The share of refusals that closes a window early (see [`FAST_ANSWERS`]).
pub const FAST_SHARE: f64 = 0.25;
/// A probe beyond the limit found ends at this many refusals within
/// [`PROBE_SPAN`] answers: the budget a limit that stands saved up has been
/// spent, and from then on the share of answers refused is the share the
/// pace went beyond it.
pub const PROBE_REFUSALS: u64 = 3;
/// See [`PROBE_REFUSALS`].
pub const PROBE_SPAN: u64 = 30;
/// After a congested window the pace is this share of the rate the server accepted.
pub const BELOW_LIMIT: f64 = 0.95;
/// Between probes the pace is held at this share of the limit found, so
/// that the server's budget refills a little and the jitter of a loaded
/// machine does not meet a refusal.
pub const CRUISE: f64 = 0.97;
/// After a cut, the cubic regrowth is back at the cruise pace this long after.
pub const CUBIC_PLATEAU: Duration = Duration::from_secs(4);
/// Each cut that finds the same limit (within [`SAME_LIMIT`]) again doubles
/// the plateau, up to this: a limit that stays put is probed ever less often.
pub const PLATEAU_MAX: Duration = Duration::from_secs(16);
/// Two limits found this close (a share of the first) are the same limit.
const SAME_LIMIT: f64 = 0.1;
/// The share of scattered 503s from which a window just over the threshold
/// may be chance.
const SCATTERED_SEEN: f64 = 0.005;
/// How much of a window's share of 503s the estimate of scattered ones takes in.
const SCATTERED_WEIGHT: f64 = 0.2;
/// The pace `--rate auto` starts at, in requests per second.
pub const AUTO_START: f64 = 10.0;
/// Growth per window in slow start (auto, before a limit is found, or far beyond it).
const SLOW_START_GROWTH: f64 = 1.5;
/// Growth per window far beyond the last limit found (a limit that rose).
const BEYOND_GROWTH: f64 = 1.1;
/// Beyond this multiple of the limit found, growth is slow start again.
const BEYOND_LIMIT: f64 = 1.1;
/// The longest `Retry-After` waited out at once: a feed download asked
/// for more gives up.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// What one answer says about the pace, as the controller counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// The server handled the request (any answer but those below).
    Accepted,
    /// 429: the server's limit refused it.
    Throttled,
    /// 503: a limit when such answers cluster, a fault when they do not.
    Unavailable,
    /// No verdict on the pace: 500, 502, 504, a lost answer, a timeout.
    Failed,
}

impl Signal {
    /// The signal of an HTTP status.
    pub fn of_status(status: u16) -> Signal {
        match status {
            429 => Signal::Throttled,
            503 => Signal::Unavailable,
            500..=599 => Signal::Failed,
            _ => Signal::Accepted,
        }
    }
}

/// How the pace is chosen.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Mode {
    /// `--rate N`: start at the ceiling.
    Fixed,
    /// `--rate auto`: start safe and grow.
    Auto,
}

/// The rate controller: pure arithmetic over answers and time (time is
/// passed in, so its logic is tested without a clock).
#[derive(Debug, Clone)]
pub struct RateController {
    mode: Mode,
    ceiling: f64,
    rate: f64,
    /// The accepted rate of the last congested window: the limit found.
    limit_found: Option<f64>,
    /// The cubic epoch: when the last cut happened and the pace it cut to.
    cut: Option<(Instant, f64)>,
    /// The cubic plateau after the last cut (see [`PLATEAU_MAX`]).
    plateau: Duration,
    /// Cuts so far: answers to requests sent before the last cut are not
    /// judged again (TCP's once per round trip).
    cuts: u64,
    /// The share of 503s in windows that were not congested: faults, which
    /// the server let through its limit.
    scattered: f64,
    /// Whether the last window judged was congested.
    was_congested: bool,
    window: Window,
}

/// What [`Pacer::acquire`] hands out: the pace the request left under, so
/// that its answer is judged with the requests of the same pace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ticket {
    cuts: u64,
}

#[derive(Debug, Clone, Copy, Default)]
struct Window {
    start: Option<Instant>,
    sent: u64,
    accepted: u64,
    throttled: u64,
    unavailable: u64,
    failed: u64,
    /// From the window's first refusal on (it included): answers, and
    /// refusals among them.
    since_refused: Option<(u64, u64)>,
    /// When the window's first refusal came back.
    first_refused: Option<Instant>,
    /// The last span of at most [`PROBE_SPAN`] answers that began with a
    /// refusal: answers, and refusals among them.
    probe_span: Option<(u64, u64)>,
}

impl Window {
    fn answers(&self) -> u64 {
        self.accepted + self.throttled + self.unavailable + self.failed
    }

    fn congested(&self, scattered: f64) -> bool {
        self.refused_over(scattered, 1.0)
    }

    /// Congested with twice the share of refusals that makes a window so.
    fn congested_twice_over(&self, scattered: f64) -> bool {
        self.refused_over(scattered, 2.0)
    }

    /// Whether the share of 429s, or of 503s, is `times` the share that
    /// makes a window congested.
    fn refused_over(&self, scattered: f64, times: f64) -> bool {
        let answers = self.answers().max(1) as f64;
        let throttled =
            self.throttled >= 2 && self.throttled as f64 / answers >= times * THROTTLED_SHARE;
        let share = self.unavailable as f64 / answers;
        let threshold = UNAVAILABLE_SHARE.max(scattered + UNAVAILABLE_ABOVE_SCATTERED);
        let unavailable = self.unavailable >= 3 && share >= times * threshold;
        throttled || unavailable
    }

    /// The rate let through from the first refusal on, when that lasted
    /// long enough to tell (infinite otherwise): a budget spent part way
    /// through the window let more through before it than the limit does.
    fn accepted_since_refused(&self, now: Instant) -> f64 {
        let span = self
            .first_refused
            .map_or(0.0, |at| now.saturating_duration_since(at).as_secs_f64());
        match self.since_refused {
            Some((answers, refused)) if span >= 0.25 && answers >= WINDOW_ANSWERS => {
                (answers - refused) as f64 / span
            }
            _ => f64::INFINITY,
        }
    }

    /// Whether the refusals since the first one leave no doubt (see [`FAST_ANSWERS`]).
    fn refused_at_once(&self) -> bool {
        self.since_refused.is_some_and(|(answers, refused)| {
            answers >= FAST_ANSWERS && refused as f64 >= FAST_SHARE * answers as f64
        })
    }
}

/// What a closed window decided (for tests and logs).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Decision {
    /// The pace was cut to this rate.
    Cut(f64),
    /// The pace grew (or stayed at the ceiling) to this rate.
    Grew(f64),
    /// The pace was held: the run did not use it.
    Held(f64),
}

impl RateController {
    /// `--rate N`: starts at `ceiling` and never goes above it.
    pub fn fixed(ceiling: NonZeroU32) -> RateController {
        let ceiling = f64::from(ceiling.get());
        RateController::with(Mode::Fixed, ceiling, ceiling)
    }

    /// `--rate auto --max-rate N`: starts at [`AUTO_START`] (or `max`, if lower).
    pub fn auto(max: NonZeroU32) -> RateController {
        let ceiling = f64::from(max.get());
        RateController::with(Mode::Auto, ceiling, AUTO_START.min(ceiling))
    }

    fn with(mode: Mode, ceiling: f64, rate: f64) -> RateController {
        RateController {
            mode,
            ceiling,
            rate,
            limit_found: None,
            cut: None,
            plateau: CUBIC_PLATEAU,
            cuts: 0,
            scattered: 0.0,
            was_congested: false,
            window: Window::default(),
        }
    }

    /// The pace in force, in requests per second.
    pub fn rate(&self) -> f64 {
        self.rate
    }

    /// The server's limit as last measured (the accepted rate of the last
    /// congested window), if any.
    #[cfg(test)]
    fn limit_found(&self) -> Option<f64> {
        self.limit_found
    }

    /// A request leaves at `now`.
    pub fn sent(&mut self, now: Instant) -> Ticket {
        self.window.start.get_or_insert(now);
        self.window.sent += 1;
        Ticket { cuts: self.cuts }
    }

    /// The answer to a request sent with `ticket` came back at `now`: as
    /// [`RateController::answered`], but an answer to a request sent before
    /// the last cut only closes the window when due.
    pub fn answered_to(
        &mut self,
        ticket: Ticket,
        signal: Signal,
        now: Instant,
    ) -> Option<Decision> {
        if ticket.cuts < self.cuts {
            return self.tick(now);
        }
        self.answered(signal, now)
    }

    /// An answer (or its absence) came back at `now`; closes the window when
    /// it is due, or at once when refusals leave no doubt, and returns what
    /// it decided.
    pub fn answered(&mut self, signal: Signal, now: Instant) -> Option<Decision> {
        self.window.start.get_or_insert(now);
        let w = &mut self.window;
        match signal {
            Signal::Accepted => w.accepted += 1,
            Signal::Throttled => w.throttled += 1,
            Signal::Unavailable => w.unavailable += 1,
            Signal::Failed => w.failed += 1,
        }
        let refused = matches!(signal, Signal::Throttled | Signal::Unavailable);
        // Judged at a refusal, on the answers from the first refusal up to
        // this one: from one refusal to another, the share is not skewed
        // by where the count starts or stops.
        let at_once = refused && w.refused_at_once();
        if refused || w.since_refused.is_some() {
            w.first_refused.get_or_insert(now);
            let (answers, refusals) = w.since_refused.get_or_insert((0, 0));
            *answers += 1;
            *refusals += u64::from(refused);
        }
        if w.probe_span
            .is_some_and(|(answers, _)| answers >= PROBE_SPAN)
        {
            w.probe_span = None;
        }
        if refused || w.probe_span.is_some() {
            let (answers, refusals) = w.probe_span.get_or_insert((0, 0));
            *answers += 1;
            *refusals += u64::from(refused);
        }
        if at_once {
            let window = std::mem::take(&mut self.window);
            return Some(self.cut_at_once(&window, now));
        }
        if refused && self.probe_met_limit(now) {
            self.window = Window::default();
            return Some(self.end_probe(now));
        }
        self.tick(now)
    }

    /// Whether a probe beyond the limit found has met that same limit
    /// again: the pace is above it, [`PROBE_REFUSALS`] answers were refused
    /// within [`PROBE_SPAN`], and the limit those answers measure is the
    /// one found (within [`SAME_LIMIT`]). A limit measured higher is left
    /// to the window to judge: a few dozen answers are not enough to raise
    /// it on. So is every probe where 503s are scattered: there a few
    /// refusals may be faults, and the window tells them apart.
    fn probe_met_limit(&self, now: Instant) -> bool {
        let Some(last) = self.limit_found.filter(|&limit| self.rate > limit) else {
            return false;
        };
        let Some(span) = self.window.probe_span else {
            return false;
        };
        self.scattered < SCATTERED_SEEN
            && span.1 >= PROBE_REFUSALS
            && self.limit_at_once(&self.window, span, now) <= last * (1.0 + SAME_LIMIT)
    }

    /// Ends a probe that met the limit found: back to cruising under it,
    /// with the plateau lengthened as for the same limit found again. If
    /// the limit fell instead, the next window is congested and cuts from
    /// what it measures.
    fn end_probe(&mut self, now: Instant) -> Decision {
        let limit = self.limit_found.unwrap_or(self.rate);
        let to = (CRUISE * limit)
            .min(self.rate)
            .max(MIN_RATE.min(self.ceiling));
        self.plateau = (self.plateau * 2).min(PLATEAU_MAX);
        self.cut = Some((now, to));
        self.cuts += 1;
        self.rate = to;
        Decision::Cut(to)
    }

    /// Closes the window if it is due.
    pub fn tick(&mut self, now: Instant) -> Option<Decision> {
        let start = self.window.start?;
        let age = now.saturating_duration_since(start);
        let answers = self.window.answers();
        let due = (age >= WINDOW && answers >= WINDOW_ANSWERS) || age >= WINDOW_MAX;
        if !due {
            return None;
        }
        let window = std::mem::take(&mut self.window);
        if answers == 0 {
            return None;
        }
        Some(self.judge(&window, age, now))
    }

    /// A window closed early by a run of refusals: the limit is the pace
    /// the run sent at, less the share refused since the first refusal
    /// (the answers before it may have been let through by a budget
    /// saved up earlier, and tell nothing of the limit).
    fn cut_at_once(&mut self, w: &Window, now: Instant) -> Decision {
        let since_refused = w.since_refused.unwrap_or((1, 0));
        let limit = self.limit_at_once(w, since_refused, now);
        self.cut_to(limit, now)
    }

    /// The limit a window closed early measures: the pace the run sent at,
    /// less the share refused among `(answers, refused)`.
    fn limit_at_once(&self, w: &Window, (answers, refused): (u64, u64), now: Instant) -> f64 {
        let secs = w
            .start
            .map_or(0.0, |s| now.saturating_duration_since(s).as_secs_f64());
        let sent_rate = if secs >= 0.05 {
            (w.sent as f64 / secs).min(self.rate)
        } else {
            self.rate
        };
        sent_rate * (1.0 - refused as f64 / answers.max(1) as f64)
    }

    fn judge(&mut self, w: &Window, age: Duration, now: Instant) -> Decision {
        let secs = age.as_secs_f64().max(1e-3);
        let answers = w.answers().max(1) as f64;
        let congested = w.congested(self.scattered);
        // Below the limit found, where 503s have been seen as faults, a
        // share of refusals just over the threshold may be chance (faults
        // that came together): it cuts only when the window before was
        // congested too.
        let doubtful = congested
            && self.scattered >= SCATTERED_SEEN
            && !w.congested_twice_over(self.scattered)
            && self.limit_found.is_some_and(|limit| self.rate < limit)
            && !self.was_congested;
        self.was_congested = congested;
        if congested && !doubtful {
            // What the server accepted is its limit while the run sent
            // above it the whole window; a window the run did not fill
            // (its rows were waiting) is judged by the share refused.
            // Answers that failed otherwise (500, lost) got past the limit
            // too, and so did the 503s that are faults (as many as usual).
            let faults = (self.scattered * answers).min(w.unavailable as f64);
            let refused = (w.throttled + w.unavailable) as f64 - faults;
            let accepted = ((w.accepted + w.failed) as f64 + faults) / secs;
            let filled = w.sent as f64 >= 0.9 * self.rate * secs;
            let limit = if filled {
                accepted
            } else {
                accepted.max(self.rate * (1.0 - refused / answers))
            };
            return self.cut_to(limit.min(w.accepted_since_refused(now)), now);
        }
        if w.answers() >= WINDOW_ANSWERS {
            let share = w.unavailable as f64 / answers;
            self.scattered += SCATTERED_WEIGHT * (share - self.scattered);
        }
        // Grow only a pace the run uses (half of it at least).
        if (w.sent as f64) < 0.5 * self.rate * secs {
            return Decision::Held(self.rate);
        }
        let grown = match (self.limit_found, self.cut) {
            (Some(limit), Some((at, from))) => {
                let since = now.saturating_duration_since(at);
                let cubic = cubic(CRUISE * limit, from, since, self.plateau);
                if cubic > BEYOND_LIMIT * limit {
                    self.rate * BEYOND_GROWTH
                } else {
                    cubic
                }
            }
            _ => match self.mode {
                Mode::Fixed => self.ceiling,
                Mode::Auto => self.rate * SLOW_START_GROWTH,
            },
        };
        self.rate = grown.max(self.rate).min(self.ceiling);
        Decision::Grew(self.rate)
    }

    /// Cuts the pace to just under `limit` (at most a halving), remembers
    /// the limit found and starts a cubic epoch; a limit found again
    /// lengthens the plateau.
    fn cut_to(&mut self, limit: f64, now: Instant) -> Decision {
        let floor = MIN_RATE.min(self.ceiling);
        let to = (BELOW_LIMIT * limit.min(self.rate))
            .max(self.rate * 0.5)
            .max(floor);
        let limit = limit.max(to);
        self.plateau = match self.limit_found {
            Some(last) if (limit - last).abs() <= SAME_LIMIT * last => {
                (self.plateau * 2).min(PLATEAU_MAX)
            }
            _ => CUBIC_PLATEAU,
        };
        self.limit_found = Some(limit);
        self.cut = Some((now, to));
        self.cuts += 1;
        self.rate = to;
        Decision::Cut(to)
    }
}

/// The cubic regrowth after a cut to `from` towards `target`: `from` at
/// the cut, `target` after `plateau`, flat around it, then rising ever
/// faster (at least 5% over the plateau's length).
fn cubic(target: f64, from: f64, since: Duration, plateau: Duration) -> f64 {
    let k = plateau.as_secs_f64();
    let depth = (1.0 - from / target).max(0.05);
    let c = depth / k.powi(3);
    let t = since.as_secs_f64() - k;
    target * (1.0 + c * t.powi(3))
}

/// How the pace of a run is chosen (`--rate`, `--max-rate`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pace {
    /// `--rate N`: at most N requests per second, less while the server refuses.
    Fixed(NonZeroU32),
    /// `--rate auto`: found from the server's answers, at most `max` per second.
    Auto {
        /// `--max-rate`.
        max: NonZeroU32,
    },
}

impl Pace {
    /// A pacer for this choice.
    pub fn pacer(self) -> Pacer {
        match self {
            Pace::Fixed(rate) => Pacer::new(rate),
            Pace::Auto { max } => Pacer::auto(max),
        }
    }
}

impl std::fmt::Display for Pace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Pace::Fixed(rate) => write!(f, "{rate} requests/s at most"),
            Pace::Auto { max } => write!(
                f,
                "a pace found from the server's answers, {max} requests/s at most"
            ),
        }
    }
}

/// Paces every request of a run. Shared (`Arc`) by all workers and the client.
#[derive(Debug)]
pub struct Pacer {
    state: Mutex<PacerState>,
}

#[derive(Debug)]
struct PacerState {
    controller: RateController,
    /// The theoretical departure of the next request (GCRA).
    next: Instant,
}

impl Pacer {
    /// `--rate N`: at most `rate` requests per second, less while the server refuses.
    pub fn new(rate: NonZeroU32) -> Pacer {
        Pacer::with(RateController::fixed(rate))
    }

    /// `--rate auto`: a pace found from the server's answers, at most `max` per second.
    pub fn auto(max: NonZeroU32) -> Pacer {
        Pacer::with(RateController::auto(max))
    }

    fn with(controller: RateController) -> Pacer {
        Pacer {
            state: Mutex::new(PacerState {
                controller,
                next: Instant::now(),
            }),
        }
    }

    /// Waits until one more request may be sent; the ticket goes with its answer.
    pub async fn acquire(&self) -> Ticket {
        let at = {
            let mut s = self.lock();
            let now = Instant::now();
            s.controller.tick(now);
            let interval = Duration::from_secs_f64(1.0 / s.controller.rate());
            let tolerance = interval + Duration::from_millis(1);
            let at = now.max(s.next.checked_sub(tolerance).unwrap_or(s.next));
            s.next = s.next.max(at) + interval;
            let ticket = s.controller.sent(now);
            (at, ticket)
        };
        tokio::time::sleep_until(at.0).await;
        at.1
    }

    /// Counts one answer (or its absence) towards the pace.
    pub fn observe(&self, ticket: Ticket, signal: Signal) {
        self.lock()
            .controller
            .answered_to(ticket, signal, Instant::now());
    }

    /// The pace in force now, in requests per second.
    pub fn current_rate(&self) -> f64 {
        let mut s = self.lock();
        s.controller.tick(Instant::now());
        s.controller.rate()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, PacerState> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nz(n: u32) -> NonZeroU32 {
        NonZeroU32::new(n).unwrap()
    }

    /// One window of `secs` seconds from `start`: the answers, spread
    /// evenly and interleaved by kind, the first `sent` of them each just
    /// after its request left; returns the window's decision, if it closed.
    fn window(
        c: &mut RateController,
        start: Instant,
        secs: f64,
        sent: u64,
        answers: &[(Signal, u64)],
    ) -> Option<Decision> {
        let total: u64 = answers.iter().map(|(_, n)| n).sum();
        // Interleave: answer i is of the kind whose quota is least used.
        let mut used = vec![0u64; answers.len()];
        let mut decision = None;
        // Every answer is to a request of the pace at the window's start.
        let ticket = Ticket { cuts: c.cuts };
        for i in 0..total {
            let last = (total - 1).max(1) as f64;
            let at = start + Duration::from_secs_f64(secs * i as f64 / last);
            if i < sent {
                c.sent(at);
            }
            let k = (0..answers.len())
                .filter(|&k| used[k] < answers[k].1)
                .min_by(|&a, &b| {
                    let share = |k: usize| used[k] as f64 / answers[k].1 as f64;
                    share(a).total_cmp(&share(b))
                })
                .unwrap();
            used[k] += 1;
            if let Some(d) = c.answered_to(ticket, answers[k].0, at) {
                decision = Some(d);
            }
        }
        decision
    }

    #[test]
    fn one_429_in_a_busy_window_does_not_slow_anyone() {
        let mut c = RateController::fixed(nz(1000));
        let t = Instant::now();
        let d = window(
            &mut c,
            t,
            1.0,
            1000,
            &[(Signal::Throttled, 1), (Signal::Accepted, 999)],
        );
        assert_eq!(d, Some(Decision::Grew(1000.0)));
        assert_eq!(c.rate(), 1000.0);
    }

    #[test]
    fn a_share_of_429s_cuts_once_per_window_to_just_under_what_was_accepted() {
        let mut c = RateController::fixed(nz(150));
        let t = Instant::now();
        // 150 sent, the server's limit of 140 accepted 140 and refused 10.
        let d = window(
            &mut c,
            t,
            1.0,
            150,
            &[(Signal::Accepted, 140), (Signal::Throttled, 10)],
        );
        let Some(Decision::Cut(to)) = d else {
            panic!("{d:?}");
        };
        assert!((to / (0.95 * 140.0) - 1.0).abs() < 0.02, "{to}");
        let found = c.limit_found().unwrap();
        assert!((found / 140.0 - 1.0).abs() < 0.02, "{found}");
        // The 429s of that window still arriving do not cut again at once:
        // the next window is judged on its own.
        for i in 0..10 {
            let at = t + Duration::from_millis(1001 + i);
            assert_eq!(c.answered(Signal::Throttled, at), None);
        }
        assert_eq!(c.rate(), to);
    }

    #[test]
    fn a_budget_spent_part_way_through_the_window_is_not_taken_for_the_limit() {
        let mut c = RateController::fixed(nz(130));
        let t = Instant::now();
        let ticket = c.sent(t);
        // 130/s: the first 80 answers drew on a saved budget (all let
        // through), then a limit a little under the pace refused 3 of 50.
        let mut decision = None;
        for i in 0..130u32 {
            let at = t + Duration::from_secs_f64(f64::from(i) / 129.0);
            c.sent(at);
            let refused = i >= 65 && i % 20 == 0;
            let signal = if refused {
                Signal::Throttled
            } else {
                Signal::Accepted
            };
            decision = c.answered_to(ticket, signal, at).or(decision);
        }
        let Some(Decision::Cut(to)) = decision else {
            panic!("{decision:?}");
        };
        // Not 0.95 × 127 (the whole window let through), but 0.95 × the
        // 47 let through in the 0.38 s from the first refusal on (124/s).
        assert!(to <= 0.95 * 125.0, "{to}");
    }

    #[test]
    fn a_run_of_refusals_cuts_at_once_to_just_under_the_limit() {
        let mut c = RateController::fixed(nz(150));
        let t = Instant::now();
        // At 150/s, a limit of 100 refuses one request in three: the
        // window closes after the first refusal and FAST_ANSWERS more.
        let mut answers = 0;
        let mut decision = None;
        let ticket = c.sent(t);
        for i in 0..150u32 {
            let at = t + Duration::from_secs_f64(f64::from(i) / 150.0);
            c.sent(at);
            let signal = if i % 3 == 2 {
                Signal::Throttled
            } else {
                Signal::Accepted
            };
            answers += 1;
            decision = c.answered_to(ticket, signal, at);
            if decision.is_some() {
                break;
            }
        }
        // From the first refusal to the one after FAST_ANSWERS more answers.
        assert!(answers <= 6 + FAST_ANSWERS, "{answers} answers");
        let Some(Decision::Cut(to)) = decision else {
            panic!("{decision:?}");
        };
        assert!((90.0..=97.0).contains(&to), "{to}");
        // The later answers of that pace do not cut again.
        for i in 0..60u32 {
            let at = t + Duration::from_millis(300 + u64::from(i));
            assert_eq!(c.answered_to(ticket, Signal::Throttled, at), None);
        }
        assert_eq!(c.rate(), to);
    }

    #[test]
    fn answers_that_failed_otherwise_got_past_the_limit() {
        let mut c = RateController::fixed(nz(150));
        let t = Instant::now();
        let d = window(
            &mut c,
            t,
            1.0,
            150,
            &[
                (Signal::Accepted, 130),
                (Signal::Failed, 10),
                (Signal::Throttled, 10),
            ],
        );
        let Some(Decision::Cut(to)) = d else {
            panic!("{d:?}");
        };
        assert!((to / (0.95 * 140.0) - 1.0).abs() < 0.02, "{to}");
    }

    #[test]
    fn answers_to_requests_sent_before_a_cut_are_not_judged_again() {
        let mut c = RateController::fixed(nz(150));
        let t = Instant::now();
        let before = c.sent(t);
        window(
            &mut c,
            t,
            1.0,
            150,
            &[(Signal::Accepted, 100), (Signal::Throttled, 50)],
        );
        let cut = c.rate();
        assert!((90.0..=97.0).contains(&cut), "{cut}");
        // The next window: 30 late refusals of the old pace, then a full
        // window at the new pace without any.
        let next = t + Duration::from_millis(1001);
        for i in 0..30 {
            let at = next + Duration::from_millis(i);
            c.answered_to(before, Signal::Throttled, at);
        }
        let after = c.sent(next);
        let mut decision = None;
        for i in 0..96 {
            let at = next + Duration::from_millis(50 + i * 10);
            decision = c.answered_to(after, Signal::Accepted, at).or(decision);
        }
        assert!(
            matches!(decision, Some(Decision::Grew(_) | Decision::Held(_))),
            "{decision:?}"
        );
        assert_eq!(c.rate(), cut);
    }

    #[test]
    fn a_cut_is_at_most_a_halving() {
        let mut c = RateController::fixed(nz(100));
        let t = Instant::now();
        let d = window(&mut c, t, 1.0, 100, &[(Signal::Throttled, 100)]);
        assert_eq!(d, Some(Decision::Cut(50.0)));
    }

    #[test]
    fn scattered_503s_are_faults_and_clustered_ones_a_limit() {
        let mut c = RateController::fixed(nz(100));
        let t = Instant::now();
        let scattered = [
            (Signal::Accepted, 93),
            (Signal::Unavailable, 2),
            (Signal::Failed, 5),
        ];
        assert_eq!(
            window(&mut c, t, 1.0, 100, &scattered),
            Some(Decision::Grew(100.0))
        );
        let clustered = [(Signal::Accepted, 80), (Signal::Unavailable, 20)];
        let next = t + Duration::from_millis(1001);
        // 0.95 × (80 + the 503s as many as scattered ones, 0.4).
        let d = window(&mut c, next, 1.0, 100, &clustered);
        let Some(Decision::Cut(to)) = d else {
            panic!("{d:?}");
        };
        assert!((to / (0.95 * 80.4) - 1.0).abs() < 0.02, "{to}");
    }

    #[test]
    fn regrows_to_the_limit_found_then_probes_beyond_it() {
        let mut c = RateController::fixed(nz(200));
        let mut t = Instant::now();
        window(
            &mut c,
            t,
            1.0,
            200,
            &[(Signal::Accepted, 100), (Signal::Throttled, 100)],
        );
        assert_eq!(c.rate(), 100.0, "at most a halving");
        // Now below the limit: every window accepted in full.
        let mut rates = Vec::new();
        for _ in 0..8 {
            t += Duration::from_millis(1001);
            let sent = c.rate().round() as u64;
            window(&mut c, t, 1.0, sent, &[(Signal::Accepted, sent)]);
            rates.push(c.rate());
        }
        // limit found 100 (what was accepted), cut to 100: the curve is
        // flat around it for a few seconds, then rises.
        assert!(
            rates[..5].iter().all(|r| (95.0..=103.0).contains(r)),
            "{rates:?}"
        );
        assert!(rates[7] > rates[4], "{rates:?}");
        assert!(rates.iter().all(|r| *r <= 200.0));
    }

    #[test]
    fn the_cubic_curve_is_back_at_the_limit_after_its_plateau() {
        let at = |s: f64| cubic(100.0, 95.0, Duration::from_secs_f64(s), CUBIC_PLATEAU);
        assert!((at(0.0) - 95.0).abs() < 1e-9);
        assert!((at(CUBIC_PLATEAU.as_secs_f64()) - 100.0).abs() < 1e-9);
        assert!(at(2.0) > 99.0 && at(2.0) < 100.0);
        assert!(at(6.0) > 100.0 && at(6.0) < 101.0);
        assert!(at(10.0) > BEYOND_LIMIT * 100.0);
    }

    #[test]
    fn auto_starts_safe_grows_while_accepted_and_stops_at_the_max() {
        let mut c = RateController::auto(nz(1000));
        assert_eq!(c.rate(), AUTO_START);
        let mut t = Instant::now();
        let mut windows = 0;
        while c.rate() < 1000.0 {
            let sent = (c.rate() * 2.0).round() as u64;
            window(&mut c, t, 2.0, sent, &[(Signal::Accepted, sent)]);
            t += Duration::from_millis(2001);
            windows += 1;
            assert!(windows < 20, "{}", c.rate());
        }
        assert_eq!(c.rate(), 1000.0, "never above --max-rate");
        assert!(windows <= 12, "{windows} windows");
    }

    #[test]
    fn auto_holds_a_pace_the_run_does_not_use() {
        let mut c = RateController::auto(nz(1000));
        let t = Instant::now();
        // Two requests in the first second at a pace of 10/s (and answers
        // to requests sent before).
        let d = window(&mut c, t, 2.0, 2, &[(Signal::Accepted, 25)]);
        assert_eq!(d, Some(Decision::Held(AUTO_START)));
    }

    #[test]
    fn auto_finds_a_limit_and_settles_under_it() {
        // A server accepting 300/s and refusing the rest.
        let limit = 300.0;
        let mut c = RateController::auto(nz(5000));
        let mut t = Instant::now();
        let mut tail = Vec::new();
        for second in 0..40 {
            let sent = c.rate().round() as u64;
            let accepted = (sent as f64).min(limit) as u64;
            window(
                &mut c,
                t,
                1.0,
                sent,
                &[
                    (Signal::Accepted, accepted),
                    (Signal::Throttled, sent - accepted),
                ],
            );
            t += Duration::from_millis(1001);
            if second >= 30 {
                tail.push(accepted as f64);
            }
        }
        let mean = tail.iter().sum::<f64>() / tail.len() as f64;
        assert!(mean >= 0.9 * limit, "{mean} accepted per second, {tail:?}");
    }

    #[test]
    fn signals_by_status() {
        assert_eq!(Signal::of_status(201), Signal::Accepted);
        assert_eq!(Signal::of_status(404), Signal::Accepted);
        assert_eq!(Signal::of_status(429), Signal::Throttled);
        assert_eq!(Signal::of_status(503), Signal::Unavailable);
        assert_eq!(Signal::of_status(502), Signal::Failed);
    }

    #[tokio::test(start_paused = true)]
    async fn spaces_requests_evenly() {
        let pacer = Pacer::new(nz(100));
        let start = Instant::now();
        for _ in 0..22 {
            pacer.acquire().await;
        }
        // Two leave at once (the tolerance of one interval), then 20
        // intervals of 10 ms.
        let took = start.elapsed();
        assert!(took >= Duration::from_millis(190), "{took:?}");
        assert!(took <= Duration::from_millis(210), "{took:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_refused_request_pauses_no_one() {
        let pacer = Pacer::new(nz(10));
        let ticket = pacer.acquire().await;
        pacer.observe(ticket, Signal::Throttled);
        pacer.observe(ticket, Signal::Unavailable);
        let start = Instant::now();
        pacer.acquire().await;
        assert!(start.elapsed() <= Duration::from_millis(100));
        assert_eq!(pacer.current_rate(), 10.0);
    }

    /// A server for the controller to pace against, simulated: a token
    /// bucket of `limit(t)` requests refilled at `limit(t)` per second (a
    /// fresh, full one at each change, as the sandbox's governor), refusing
    /// with 503 as the strict sandbox does; faults drawn per request among
    /// those let through; `latency` each way, plus up to `jitter` on the way
    /// there (a loaded machine's late timers).
    struct Server {
        limit: fn(f64) -> f64,
        spent_at_start: bool,
        latency: f64,
        jitter: f64,
        unavailable: f64,
        failed: f64,
    }

    /// Per second of a simulated run: requests let through and refused.
    struct Simulated {
        accepted: Vec<u64>,
        refused: Vec<u64>,
    }

    impl Simulated {
        /// Accepted over the limit, and refused over all requests, from
        /// second `from` on (the first seconds are a burst and a first cut).
        fn steady(&self, from: usize, limit: fn(f64) -> f64) -> (f64, f64) {
            let accepted: u64 = self.accepted[from..].iter().sum();
            let limits: f64 = (from..self.accepted.len()).map(|s| limit(s as f64)).sum();
            let refused: u64 = self.refused.iter().sum();
            let all: u64 = refused + self.accepted.iter().sum::<u64>();
            (accepted as f64 / limits, refused as f64 / all as f64)
        }
    }

    /// Runs `c` against `server` for `secs` seconds, always with a request
    /// to send (the rows never run out).
    fn simulate(c: &mut RateController, server: &Server, secs: usize, seed: u64) -> Simulated {
        use rand::{Rng as _, SeedableRng as _};
        use std::cmp::Reverse;
        use std::collections::BinaryHeap;
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let start = Instant::now();
        let at = |t: f64| start + Duration::from_secs_f64(t);
        let mut out = Simulated {
            accepted: vec![0; secs],
            refused: vec![0; secs],
        };
        // (answer time in µs, ticket, signal), earliest first.
        let mut answers: BinaryHeap<Reverse<(u64, u64, u8)>> = BinaryHeap::new();
        let (mut tokens, mut refilled, mut limit) = (0.0, 0.0, f64::NAN);
        let mut t = 0.0;
        while t < secs as f64 {
            while let Some(Reverse((us, cuts, signal))) = answers.peek().copied() {
                if us as f64 / 1e6 > t {
                    break;
                }
                answers.pop();
                let signal =
                    [Signal::Accepted, Signal::Unavailable, Signal::Failed][signal as usize];
                c.answered_to(Ticket { cuts }, signal, at(us as f64 / 1e6));
            }
            c.tick(at(t));
            let ticket = c.sent(at(t));
            let arrival: f64 = t + server.latency + rng.random::<f64>() * server.jitter;
            let now_limit = (server.limit)(arrival);
            if now_limit != limit {
                let first = limit.is_nan();
                limit = now_limit;
                tokens = if first && server.spent_at_start {
                    0.0
                } else {
                    limit
                };
                refilled = arrival;
            }
            tokens = (tokens + (arrival - refilled).max(0.0) * limit).min(limit);
            refilled = refilled.max(arrival);
            let second = (arrival as usize).min(secs - 1);
            let signal = if tokens >= 1.0 {
                tokens -= 1.0;
                out.accepted[second] += 1;
                let draw: f64 = rng.random();
                if draw < server.unavailable {
                    1
                } else if draw < server.unavailable + server.failed {
                    2
                } else {
                    0
                }
            } else {
                out.refused[second] += 1;
                1
            };
            let back = ((arrival + server.latency) * 1e6) as u64;
            answers.push(Reverse((back, ticket.cuts, signal)));
            t += 1.0 / c.rate();
        }
        out
    }

    const STRICT: Server = Server {
        limit: |_| 100.0,
        spent_at_start: false,
        latency: 0.01,
        jitter: 0.002,
        unavailable: 0.0,
        failed: 0.0,
    };

    /// `--rate 150` against `server` for 20 s, five seeds: at least 95% of
    /// the limit in steady state, at most `most_refused` of the answers refused.
    fn holds_near_the_limit(server: &Server, most_refused: f64) {
        for seed in 0..5 {
            let mut c = RateController::fixed(nz(150));
            let run = simulate(&mut c, server, 20, seed);
            let (of_limit, refused) = run.steady(3, server.limit);
            eprintln!("seed {seed}: {of_limit:.3} of the limit, {refused:.4} refused; accepted {:?} refused {:?}", run.accepted, run.refused);
            assert!(of_limit >= 0.95, "{of_limit}");
            assert!(refused <= most_refused, "{refused}");
        }
    }

    #[test]
    fn above_the_limit_holds_just_under_it_with_few_refusals() {
        holds_near_the_limit(&STRICT, 0.02);
    }

    #[test]
    fn a_probe_that_meets_the_same_limit_ends_within_a_few_refusals() {
        for seed in 0..5 {
            let mut c = RateController::fixed(nz(150));
            let run = simulate(&mut c, &STRICT, 40, seed);
            eprintln!(
                "seed {seed}: accepted {:?} refused {:?}",
                run.accepted, run.refused
            );
            // From the fourth second on (after the first burst's cut), the
            // pace probes beyond the limit (the bucket saved while cruising
            // lets more through), and each probe costs a few refusals.
            assert!(run.accepted[4..].iter().any(|&n| n > 110), "no probe");
            let worst = run.refused[4..].iter().max().copied().unwrap_or(0);
            assert!(worst <= 5, "{worst} refusals in a second");
            let (of_limit, _) = run.steady(3, STRICT.limit);
            assert!(of_limit >= 0.95, "{of_limit}");
        }
    }

    #[test]
    fn faults_do_not_hold_the_pace_down() {
        let faulty = Server {
            unavailable: 0.02,
            failed: 0.05,
            ..STRICT
        };
        holds_near_the_limit(&faulty, 0.03);
    }

    #[test]
    fn at_a_spent_limit_keeps_to_it() {
        let spent = Server {
            limit: |_| 1000.0,
            spent_at_start: true,
            latency: 0.025,
            ..STRICT
        };
        let mut c = RateController::fixed(nz(1000));
        let run = simulate(&mut c, &spent, 10, 1);
        let (of_limit, refused) = run.steady(1, spent.limit);
        eprintln!(
            "{of_limit:.3} of the limit, {refused:.4} refused; accepted {:?} refused {:?}",
            run.accepted, run.refused
        );
        assert!(of_limit >= 0.97, "{of_limit}");
    }

    #[test]
    fn auto_finds_an_unknown_limit_and_follows_it() {
        let unknown = Server {
            limit: |_| 200.0,
            ..STRICT
        };
        let mut c = RateController::auto(nz(1000));
        let run = simulate(&mut c, &unknown, 40, 2);
        let (of_limit, refused) = run.steady(20, unknown.limit);
        eprintln!(
            "{of_limit:.3} of the limit, {refused:.4} refused; accepted {:?} refused {:?}",
            run.accepted, run.refused
        );
        assert!(of_limit >= 0.9, "{of_limit}");
        let changing = Server {
            limit: |t| {
                if t < 15.0 {
                    200.0
                } else if t < 30.0 {
                    400.0
                } else {
                    150.0
                }
            },
            ..STRICT
        };
        let mut c = RateController::auto(nz(1000));
        let run = simulate(&mut c, &changing, 50, 3);
        let (of_limit, refused) = run.steady(5, changing.limit);
        eprintln!("changing: {of_limit:.3} of the limit, {refused:.4} refused; accepted {:?} refused {:?}", run.accepted, run.refused);
    }
}
