//! What a run has seen and made of the server's products ([`Ledger`]): the
//! high-water mark of product ids, whether it bounds the whole catalogue,
//! the ids this run made or claimed, and which ids a settling row asks for.
//! The rule it serves (which product found is a row's own) is described in
//! [`super::settle`].

use std::collections::{HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;

use tokio::sync::Notify;
use tokio::time::Instant;

use super::existing::ExistingIndex;
use super::found::FoundProduct;
use crate::api::types::Product;

/// At most this many ids are asked for at one checkpoint of a settle.
pub const PROBED_IDS: usize = 64;

/// How many ids beyond the run's high-water mark a settle asks for: the
/// row's product may be the newest there is.
pub const PROBED_ABOVE: i64 = 8;

/// How many of the run's latest answered creates are kept with the moment
/// each was sent (see [`Ledger::newer_than`]).
const RECENT_CREATES: usize = 4096;

/// What a run has seen and made of the server's products: the high-water
/// mark of product ids, whether it bounds the whole catalogue, the ids this
/// run made or claimed, and how many rows settled.
#[derive(Debug, Default)]
pub struct Ledger {
    high_water: AtomicI64,
    covers_catalogue: AtomicBool,
    ours: Mutex<HashSet<i64>>,
    /// The latest creates answered: when each was sent, and its id.
    recent: Mutex<VecDeque<(Instant, i64)>>,
    /// Creates sent and not answered yet.
    in_flight: AtomicUsize,
    /// Woken when a create is answered or ends without an answer.
    answered: Notify,
    settled: AtomicU64,
    settled_found: AtomicU64,
}

impl Ledger {
    /// A ledger that starts from a prefetched catalogue (whose highest id
    /// bounds every existing product), or from nothing.
    pub fn new(index: Option<&ExistingIndex>) -> Ledger {
        let ledger = Ledger::default();
        if let Some(index) = index {
            ledger.saw(index.max_id());
            ledger.covers_catalogue.store(true, Ordering::SeqCst);
        }
        ledger
    }

    /// Raises the high-water mark to `id`.
    pub fn saw(&self, id: i64) {
        self.high_water.fetch_max(id, Ordering::SeqCst);
    }

    /// The highest product id seen so far (0 before any).
    pub fn high_water(&self) -> i64 {
        self.high_water.load(Ordering::SeqCst)
    }

    /// Whether the high-water mark bounds every product that existed before
    /// the run (after a prefetch or a create).
    pub fn covers_catalogue(&self) -> bool {
        self.covers_catalogue.load(Ordering::SeqCst)
    }

    /// This run created product `id` with a POST sent at `sent_at`: the
    /// newest id there is. False, and nothing recorded, when `id` cannot be
    /// a new product's: not a positive integer, or one this run already
    /// made or claimed for another row. The create's outcome is then unknown.
    pub(super) fn made(&self, id: i64, sent_at: Instant) -> bool {
        if id < 1 || !self.ours.lock().expect("ledger lock").insert(id) {
            return false;
        }
        self.saw(id);
        self.covers_catalogue.store(true, Ordering::SeqCst);
        let mut recent = self.recent.lock().expect("ledger lock");
        if recent.len() == RECENT_CREATES {
            recent.pop_front();
        }
        recent.push_back((sent_at, id));
        drop(recent);
        self.answered.notify_waiters();
        true
    }

    /// A create is being sent: counted in flight until the guard is dropped.
    pub(super) fn sending(&self) -> Sending<'_> {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        Sending(self)
    }

    /// The lowest id of the creates this run sent at `at` or later and has
    /// had answered. Ids grow, so every product made before `at` has a
    /// lower id: one made by a POST the server could only finish until
    /// `at` (a settled row's) is below it.
    pub(super) fn newer_than(&self, at: Instant) -> Option<i64> {
        let recent = self.recent.lock().expect("ledger lock");
        recent
            .iter()
            .rev()
            .filter(|(sent, _)| *sent >= at)
            .map(|(_, id)| *id)
            .min()
    }

    /// [`Ledger::newer_than`], waiting until `deadline` for one while
    /// creates are in flight (they are usually answered within a round
    /// trip). `None` when no create sent at `at` or later is answered by
    /// then, or none is in flight.
    pub(super) async fn newer_than_soon(&self, at: Instant, deadline: Instant) -> Option<i64> {
        loop {
            let answered = self.answered.notified();
            tokio::pin!(answered);
            answered.as_mut().enable();
            if let Some(bound) = self.newer_than(at) {
                return Some(bound);
            }
            if self.in_flight.load(Ordering::SeqCst) == 0 || Instant::now() >= deadline {
                return None;
            }
            if tokio::time::timeout_at(deadline, answered).await.is_err() {
                return self.newer_than(at);
            }
        }
    }

    /// Claims the oldest of `found` that a row named `name` could have made
    /// when sent with the high-water mark `sent_above` (`None`: unknown, as
    /// in an old journal; then only the name and key count).
    pub(super) fn claim(
        &self,
        found: &[FoundProduct],
        name: Option<&str>,
        sent_above: Option<i64>,
    ) -> Option<FoundProduct> {
        let mut ours = self.ours.lock().expect("ledger lock");
        let same_name = |p: &Product| match name.map(str::trim) {
            Some(n) => p.name.as_deref().map(str::trim) == Some(n),
            None => true,
        };
        let pick = found.iter().find(|f| {
            let p = &f.product;
            sent_above.is_none_or(|h| p.id > h) && same_name(p) && !ours.contains(&p.id)
        })?;
        ours.insert(pick.id());
        Some(pick.clone())
    }

    /// The ids to ask for a row sent with the mark `sent_above`: the
    /// [`PROBED_ABOVE`] ids beyond the high-water mark (its product may be
    /// the newest there is), then up to [`PROBED_IDS`] ids between the mark
    /// and the high-water mark that this run has neither made nor claimed,
    /// lowest first. With `below`, the id of a create sent after the row's
    /// product could still be made, the product is below it: then none
    /// beyond, and only the ids under `below`.
    ///
    /// A row sent before the run's first create was answered has a low mark
    /// when the catalogue was not read (the ids below are then old products
    /// the run never saw). Its product was made after that first one, or
    /// shortly before it: so for it the ids go up from the run's first
    /// product, then down from it, no more than [`PROBED_IDS`] below.
    pub(super) fn unclaimed_ids(&self, sent_above: i64, below: Option<i64>) -> Vec<i64> {
        let ours = self.ours.lock().expect("ledger lock");
        let high = match below {
            Some(below) => below - 1,
            None => self.high_water(),
        }
        .max(sent_above);
        let unclaimed = |id: &i64| !ours.contains(id);
        let first_made = ours.iter().min().copied();
        let (up_from, down) = match first_made {
            Some(first) if first - PROBED_IDS as i64 > sent_above => {
                (first, (first - PROBED_IDS as i64 + 1..first).rev())
            }
            _ => (sent_above, (0..0).rev()),
        };
        let between = (up_from + 1..=high)
            .filter(unclaimed)
            .chain(down.filter(unclaimed))
            .take(PROBED_IDS);
        let above = if below.is_some() { 0 } else { PROBED_ABOVE };
        (high + 1..=high + above).chain(between).collect()
    }

    /// Counts a row that settles an unknown outcome.
    pub(super) fn count_settling(&self) {
        self.settled.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a row whose product was found while settling.
    pub(super) fn count_found_settling(&self) {
        self.settled_found.fetch_add(1, Ordering::Relaxed);
    }

    /// Rows that settled an unknown outcome, and of those, rows whose
    /// product was found while settling.
    pub fn settled(&self) -> (u64, u64) {
        (
            self.settled.load(Ordering::Relaxed),
            self.settled_found.load(Ordering::Relaxed),
        )
    }
}

/// Where a settled row's product id can be: above the run's high-water
/// mark before the row was first sent, and below the id of a create sent
/// after the row settled, when there is one.
#[derive(Debug, Clone, Copy)]
pub(super) struct IdWindow {
    /// The high-water mark before the row was first sent.
    pub above: i64,
    /// The lowest id of the creates sent after the row settled, if answered.
    pub below: Option<i64>,
}

/// A create in flight ([`Ledger::sending`]); dropping it ends it.
pub(super) struct Sending<'a>(&'a Ledger);

impl Drop for Sending<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
        self.0.answered.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_asked_for_start_near_what_the_run_made() {
        let ledger = Ledger::default();
        // Nothing made yet: a few beyond the newest id, then from the row's mark.
        ledger.saw(40);
        assert_eq!(
            ledger.unclaimed_ids(38, None),
            [41, 42, 43, 44, 45, 46, 47, 48, 39, 40]
        );
        // A catalogue of 100,000 products the run never read: a row sent
        // with the mark 0 is looked for from the run's first product up,
        // then down from it.
        for id in [100_001, 100_003, 100_005] {
            ledger.made(id, Instant::now());
        }
        let ids = ledger.unclaimed_ids(0, None);
        let above: Vec<i64> = (100_006..=100_013).collect();
        assert_eq!(ids[..8], above[..], "the newest first");
        assert_eq!(ids[8..13], [100_002, 100_004, 100_000, 99_999, 99_998]);
        assert_eq!(ids.len(), PROBED_ABOVE as usize + PROBED_IDS);
        assert!(ids.iter().all(|id| *id > 100_001 - PROBED_IDS as i64));
        // A row sent after the first create: beyond the newest, then up from its own mark.
        assert_eq!(ledger.unclaimed_ids(100_001, None)[8..], [100_002, 100_004]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_create_sent_after_the_settle_bounds_the_ids_asked_for() {
        let ledger = Ledger::default();
        let settled = Instant::now();
        ledger.made(50, settled - std::time::Duration::from_millis(10));
        // Nothing sent since the row settled, nothing in flight: ask beyond.
        let no_bound = ledger.newer_than_soon(settled, settled + BOUND).await;
        assert_eq!(no_bound, None);
        assert_eq!(ledger.unclaimed_ids(45, None)[..3], [51, 52, 53]);
        // A create in flight, sent after the settle, answered with id 58:
        // the row's product is below it, and nothing beyond is asked.
        let sending = ledger.sending();
        let (bound, ()) = tokio::join!(ledger.newer_than_soon(settled, settled + BOUND), async {
            tokio::time::sleep(std::time::Duration::from_millis(30)).await;
            ledger.made(58, settled + std::time::Duration::from_millis(5));
            drop(sending);
        });
        assert_eq!(bound, Some(58));
        assert_eq!(
            ledger.unclaimed_ids(45, bound),
            [46, 47, 48, 49, 51, 52, 53, 54, 55, 56, 57]
        );
        ledger.made(52, settled + std::time::Duration::from_millis(1));
        assert_eq!(ledger.newer_than(settled), Some(52), "the lowest");
        // A create in flight that is not answered: the wait ends at the deadline.
        let _stuck = ledger.sending();
        let later = settled + std::time::Duration::from_secs(60);
        let started = Instant::now();
        assert_eq!(
            ledger.newer_than_soon(later, Instant::now() + BOUND).await,
            None
        );
        assert_eq!(started.elapsed(), BOUND);
    }

    const BOUND: std::time::Duration = std::time::Duration::from_secs(1);
}
