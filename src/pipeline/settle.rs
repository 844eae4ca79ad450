//! Settling a row whose outcome is unknown, and the rule that decides which
//! product found is the row's own (kept by the run's
//! [`Ledger`](super::ledger::Ledger)). Used by [`super::row`] for rows an
//! earlier run may have sent, and after a create whose outcome is unknown
//! ([`super::create`] hands it back to the row for that).
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
//! row's own, the row also asks by id: for the ids above its own high-water
//! mark that this run has neither made nor claimed, lowest first, at most
//! [`PROBED_IDS`], and before them a few beyond the run's newest
//! ([`PROBED_ABOVE`]): its product may be the newest there is. Those are
//! left out when the run has a bound from above: the server may finish the
//! lost POST until the settle's end at the latest, so a create this run
//! *sent* after that moment has a higher id than the row's product, and
//! once one such create is answered, only the ids below the lowest of them
//! are asked. While other creates are in flight the row waits for that
//! answer, [`BOUND_WAIT`] at most; it usually comes within a round trip.
//! (Each id beyond the newest costs a request, most of them finding another
//! row's product; with the bound a lost answer costs about half the
//! requests it did.) A row sent before the run knew any id (a mark of 0 in
//! a catalogue not read first) goes up from the first product the run made
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

use tokio::time::Instant;

use super::catalogue::Reading;
#[cfg(doc)]
use super::catalogue::BOUND_WAIT;
use super::context::{Context, Slot};
use super::found::FoundProduct;
#[cfg(doc)]
use super::ledger::{PROBED_ABOVE, PROBED_IDS};
use crate::api::types::NewProduct;
use crate::client::{ApiError, ErrorClass, ProductApi, ProductKey};

/// How a settle ended.
pub enum Settled {
    /// The row's own product (see the module docs for the rule).
    Ours(Box<FoundProduct>),
    /// Not found; these products have the key but are not the row's own, oldest first.
    Others(Vec<FoundProduct>),
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
    let catalogue = &ctx.catalogue;
    let (api, policy, counters) = (&ctx.api, &ctx.settings.retry, &*ctx.counters);
    if slot.first_settle() {
        catalogue.count_settling();
    }
    let times = checkpoints(ctx, since);
    let name = product.name.as_deref();
    let mut last: Result<Vec<FoundProduct>, ApiError> = Ok(Vec::new());
    for (i, at) in times.iter().enumerate() {
        if times.get(i + 1).is_some_and(|next| *next <= Instant::now()) {
            continue;
        }
        if *at > Instant::now() {
            slot.give_back();
            tokio::time::sleep_until(*at).await;
            slot.retake().await;
        }
        last = catalogue
            .lookup(api, policy, counters, key, name, Reading::Afresh)
            .await;
        match &last {
            Ok(found) => {
                if let Some(ours) = catalogue.claim(found, name, sent_above) {
                    catalogue.count_found_settling();
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
            let window = catalogue.id_window(sent_above, *at).await;
            let by_id = catalogue.find_own_by_id(api, policy, counters, key, name, window);
            if let Some(ours) = by_id.await? {
                catalogue.count_found_settling();
                return Ok(Settled::Ours(Box::new(ours)));
            }
        }
    }
    last.map(Settled::Others)
}

/// When a row settling from `since` looks its product up: the settle
/// policy's checkpoints, counted from then. The last is when the row may be
/// sent again.
fn checkpoints<A>(ctx: &Context<A>, since: Instant) -> Vec<Instant> {
    let policy = &ctx.settings.settle;
    policy.checkpoints().map(|d| since + d).collect()
}
