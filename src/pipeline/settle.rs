//! Settling a row whose outcome is unknown, and the run's record of the
//! server's products that decides which product found is the row's own
//! ([`Ledger`]). Used by [`super::row`] after an unknown create and for rows
//! an earlier run may have sent.
//!
//! # Duplicate safety: settling an unknown outcome
//!
//! A POST whose outcome is unknown (timeout after sending, lost connection,
//! 502, 504, an unreadable success: [`ErrorClass::Unknown`]) is never settled
//! by one immediate lookup, because a server may finish the POST after the
//! client gave up and a new product may reach search results only after a
//! delay. The row *settles* instead: it waits out the settle time
//! (`--settle`, default `max(--timeout, 5 s)`), looking its product up by
//! number (else EAN) at a third, two thirds and all of it
//! ([`SettlePolicy`](super::retry::SettlePolicy)). While it waits it gives
//! its concurrency slot to other rows. Only when the last lookup finds
//! nothing of its own is the row sent again (a retry). A row with neither
//! number nor EAN cannot be looked up: it is `failed` with
//! [`UNCONFIRMED_NO_KEY`](super::resume::UNCONFIRMED_NO_KEY) and never sent
//! twice. Rows that `--resume` finds in the sending journal settle the same
//! way before anything else, counted from when the journal was last written.
//!
//! # Which product found is the row's own
//!
//! A product found while settling counts as made by this row only if all of:
//! - it has the row's key exactly and the row's name (both trimmed);
//! - its id is above the run's *high-water mark* as it was just before the
//!   row was first sent: the highest product id seen in any answer until
//!   then (the prefetch, lookups, creates). Product ids are assumed to grow
//!   (the sandbox's do; the vendor's are sequential integers), so a product
//!   made by the row's POST has a higher id than any product seen before it
//!   was sent, and a product that existed before has a lower one, provided
//!   the mark covers it. It does once the run has prefetched the catalogue
//!   or created a product (the newest id then bounds every older one), and
//!   for the row's own key whenever the row was looked up before it was
//!   sent. Under `--existing create`, a row sent before either is therefore
//!   looked up first (a few rows at the start of a run);
//! - no other row of this run made or claimed it.
//!
//! # Asking by id
//!
//! A search may not show a new product for longer than the settle time (the
//! vendor does not say how long), but `GET /products/{id}` finds it as soon
//! as it exists. So when the last checkpoint's search finds nothing of the
//! row's own, the row also asks for a few ids beyond the run's newest
//! ([`PROBED_ABOVE`]), then for the ids above its own high-water mark that
//! this run has neither made nor claimed, lowest first, at most
//! [`PROBED_IDS`]. A row sent before the run knew any id (a mark of 0 in a
//! catalogue not read first) goes up from the first product the run made
//! instead, then down from it, no more than [`PROBED_IDS`] below. A
//! product found so counts as the row's own by the same rule. Only the last
//! checkpoint asks: it decides whether the row is sent again, and by then
//! the creates other rows had in flight are answered (fewer ids to ask).
//! Without a mark (an old journal) nothing is asked by id.
//!
//! The high-water mark is used rather than `createdAt`: the client sees no
//! server clock to compare a creation time with before its first create, and
//! a clock compared wrongly would turn into a duplicate. A product found that
//! is not the row's own is, under `--existing skip`, `update` or `fail`, an
//! existing product like any other; under `--existing create` it is ignored
//! and the row, once settled, sends its own POST again.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

use super::existing::{lookup_all, ExistingIndex};
use super::retry::retry_idempotent;
use super::row::Context;
use crate::api::types::{NewProduct, Product};
use crate::client::{ApiError, ErrorClass, ProductApi, ProductKey};

/// A product found on the server, with the status and trace id of the answer.
pub type Found = (Product, u16, Option<String>);

/// At most this many ids are asked for at one checkpoint of a settle.
pub const PROBED_IDS: usize = 64;

/// How many ids beyond the run's high-water mark a settle asks for: the
/// row's product may be the newest there is.
pub const PROBED_ABOVE: i64 = 8;

/// What a run has seen and made of the server's products: the high-water
/// mark of product ids, whether it bounds the whole catalogue, the ids this
/// run made or claimed, and how many rows settled.
#[derive(Debug, Default)]
pub struct Ledger {
    high_water: AtomicI64,
    covers_catalogue: AtomicBool,
    ours: Mutex<HashSet<i64>>,
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

    /// This run created product `id`: the newest id there is. False, and
    /// nothing recorded, when `id` cannot be a new product's: not a positive
    /// integer, or one this run already made or claimed for another row.
    /// The create's outcome is then unknown.
    pub(super) fn made(&self, id: i64) -> bool {
        if id < 1 || !self.ours.lock().expect("ledger lock").insert(id) {
            return false;
        }
        self.saw(id);
        self.covers_catalogue.store(true, Ordering::SeqCst);
        true
    }

    /// Claims the oldest of `found` that a row named `name` could have made
    /// when sent with the high-water mark `sent_above` (`None`: unknown, as
    /// in an old journal; then only the name and key count).
    fn claim(
        &self,
        found: &[(Product, u16, Option<String>)],
        name: Option<&str>,
        sent_above: Option<i64>,
    ) -> Option<(Product, u16, Option<String>)> {
        let mut ours = self.ours.lock().expect("ledger lock");
        let same_name = |p: &Product| match name.map(str::trim) {
            Some(n) => p.name.as_deref().map(str::trim) == Some(n),
            None => true,
        };
        let pick = found.iter().find(|(p, _, _)| {
            sent_above.is_none_or(|h| p.id > h) && same_name(p) && !ours.contains(&p.id)
        })?;
        ours.insert(pick.0.id);
        Some(pick.clone())
    }

    /// The ids to ask for a row sent with the mark `sent_above`: the
    /// [`PROBED_ABOVE`] ids beyond the high-water mark (its product may be
    /// the newest there is), then up to [`PROBED_IDS`] ids between the mark
    /// and the high-water mark that this run has neither made nor claimed,
    /// lowest first.
    ///
    /// A row sent before the run's first create was answered has a low mark
    /// when the catalogue was not read (the ids below are then old products
    /// the run never saw). Its product was made after that first one, or
    /// shortly before it: so for it the ids go up from the run's first
    /// product, then down from it, no more than [`PROBED_IDS`] below.
    fn unclaimed_ids(&self, sent_above: i64) -> Vec<i64> {
        let ours = self.ours.lock().expect("ledger lock");
        let high = self.high_water().max(sent_above);
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
        (high + 1..=high + PROBED_ABOVE).chain(between).collect()
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

/// A row's concurrency slot (a permit of [`Context::slots`]), given back
/// while the row settles or waits before a retry.
pub struct Slot {
    slots: Arc<Semaphore>,
    permit: Option<OwnedSemaphorePermit>,
    /// Whether the row has settled an unknown outcome (counted once).
    settled: bool,
}

impl Slot {
    /// Waits for a free slot.
    pub async fn take(slots: &Arc<Semaphore>) -> Slot {
        let mut slot = Slot {
            slots: slots.clone(),
            permit: None,
            settled: false,
        };
        slot.retake().await;
        slot
    }

    pub(super) fn give_back(&mut self) {
        self.permit = None;
    }

    pub(super) async fn retake(&mut self) {
        if self.permit.is_none() {
            let permit = self.slots.clone().acquire_owned().await;
            self.permit = Some(permit.expect("slots are never closed"));
        }
    }
}

/// Looks `key` up and raises the high-water mark over every product found.
/// For `--existing create` before the mark bounds the catalogue: the mark
/// then bounds this row's key, so that an older product with the same number
/// is never taken for the row's own after an unknown outcome.
pub async fn mark_key_seen<A: ProductApi>(
    ctx: &Context<A>,
    key: &ProductKey,
    name: Option<&str>,
) -> Result<(), ApiError> {
    let found = lookup_all(&ctx.api, &ctx.settings.retry, &ctx.counters, key, name).await?;
    for (p, _, _) in &found {
        ctx.ledger.saw(p.id);
    }
    Ok(())
}

/// How a settle ended.
pub enum Settled {
    /// The row's own product (see the module docs for the rule).
    Ours(Box<Found>),
    /// Not found; these products have the key but are not the row's own, oldest first.
    Others(Vec<Found>),
}

/// Waits out the settle time counted from `since`, looking the row's product
/// up at each checkpoint (checkpoints already past are skipped but the last),
/// with the row's slot given back while it waits. `sent_above` is the
/// high-water mark before the row was first sent. `Err` when the last lookup
/// failed.
pub async fn settle<A: ProductApi>(
    ctx: &Context<A>,
    slot: &mut Slot,
    key: &ProductKey,
    product: &NewProduct,
    sent_above: Option<i64>,
    since: Instant,
) -> Result<Settled, ApiError> {
    if !slot.settled {
        slot.settled = true;
        ctx.ledger.settled.fetch_add(1, Ordering::Relaxed);
    }
    let times: Vec<Instant> = ctx
        .settings
        .settle
        .checkpoints()
        .map(|d| since + d)
        .collect();
    let name = product.name.as_deref();
    let mut last: Result<Vec<Found>, ApiError> = Ok(Vec::new());
    for (i, at) in times.iter().enumerate() {
        if times.get(i + 1).is_some_and(|next| *next <= Instant::now()) {
            continue;
        }
        if *at > Instant::now() {
            slot.give_back();
            tokio::time::sleep_until(*at).await;
            slot.retake().await;
        }
        last = lookup_all(&ctx.api, &ctx.settings.retry, &ctx.counters, key, name).await;
        match &last {
            Ok(found) => {
                for (p, _, _) in found {
                    ctx.ledger.saw(p.id);
                }
                if let Some(ours) = ctx.ledger.claim(found, name, sent_above) {
                    ctx.ledger.settled_found.fetch_add(1, Ordering::Relaxed);
                    return Ok(Settled::Ours(Box::new(ours)));
                }
            }
            Err(e) if e.class() == ErrorClass::Fatal => break,
            Err(_) => {}
        }
        // Asked at the last lookup only: it decides whether the row is sent
        // again, and by then the other rows' creates of the moment are answered.
        let last_lookup = i + 1 == times.len();
        if let Some(sent_above) = sent_above.filter(|_| last_lookup) {
            if let Some(ours) = ask_by_id(ctx, key, name, sent_above).await? {
                ctx.ledger.settled_found.fetch_add(1, Ordering::Relaxed);
                return Ok(Settled::Ours(Box::new(ours)));
            }
        }
    }
    last.map(Settled::Others)
}

/// Asks for the ids a row's product may have (see "Asking by id" above) and
/// claims the first that is its own. A failed request is passed over (the
/// search decides); only a fatal one is an error.
async fn ask_by_id<A: ProductApi>(
    ctx: &Context<A>,
    key: &ProductKey,
    name: Option<&str>,
    sent_above: i64,
) -> Result<Option<Found>, ApiError> {
    for id in ctx.ledger.unclaimed_ids(sent_above) {
        let asked = retry_idempotent(&ctx.settings.retry, &ctx.counters, || {
            ctx.api.get_product(id)
        })
        .await;
        let answer = match asked {
            Ok(Some(answer)) => answer,
            Ok(None) => continue,
            Err(e) if e.class() == ErrorClass::Fatal => return Err(e),
            Err(_) => continue,
        };
        ctx.ledger.saw(id);
        let found = [(answer.value, answer.status, answer.trace_id)];
        if key.matches(&found[0].0) {
            if let Some(ours) = ctx.ledger.claim(&found, name, Some(sent_above)) {
                return Ok(Some(ours));
            }
        }
    }
    Ok(None)
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
            ledger.unclaimed_ids(38),
            [41, 42, 43, 44, 45, 46, 47, 48, 39, 40]
        );
        // A catalogue of 100,000 products the run never read: a row sent
        // with the mark 0 is looked for from the run's first product up,
        // then down from it.
        for id in [100_001, 100_003, 100_005] {
            ledger.made(id);
        }
        let ids = ledger.unclaimed_ids(0);
        let above: Vec<i64> = (100_006..=100_013).collect();
        assert_eq!(ids[..8], above[..], "the newest first");
        assert_eq!(ids[8..13], [100_002, 100_004, 100_000, 99_999, 99_998]);
        assert_eq!(ids.len(), PROBED_ABOVE as usize + PROBED_IDS);
        assert!(ids.iter().all(|id| *id > 100_001 - PROBED_IDS as i64));
        // A row sent after the first create: beyond the newest, then up from its own mark.
        assert_eq!(ledger.unclaimed_ids(100_001)[8..], [100_002, 100_004]);
    }
}
