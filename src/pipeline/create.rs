//! A row's create step: its POST, sent again as the retry policy allows, an
//! unknown outcome settled before the row is sent again (see
//! [`super::settle`]), and the row in the sending journal before the first send.

use tokio::time::Instant;

use super::context::{Context, Slot};
use super::existing::ExistingMode;
use super::found::FoundProduct;
use super::outcome::Outcome;
use super::resume::UNCONFIRMED_NO_KEY;
use super::retry::{Attempts, RetryPolicy};
use super::settle::{settle, Settled};
use crate::api::types::NewProduct;
use crate::client::{ApiError, ErrorClass, ProductApi, ProductKey, RequestCounters};
use crate::results::RowStatus;

/// How a create ended.
pub(super) enum CreateEnd {
    /// Created, failed, or settled as created.
    Done(Outcome),
    /// Settling found products with the row's key that are not its own,
    /// oldest first, at least one (never under `--existing create`).
    Existing(Vec<FoundProduct>),
}

/// Sends the row's POST, retrying as the policy allows. A transient error
/// waits before the next send; an unknown outcome settles first (and the
/// settle is the wait). The row is in the sending journal before the first send.
pub(super) async fn create<A: ProductApi>(
    ctx: &Context<A>,
    slot: &mut Slot,
    row: u64,
    product: &NewProduct,
    key: Option<&ProductKey>,
) -> Result<CreateEnd, ApiError> {
    let policy: &RetryPolicy = &ctx.settings.retry;
    let sent_above = ctx.catalogue.high_water();
    if let Err(not_sent) = mark_sending(ctx, row, sent_above) {
        return Ok(CreateEnd::Done(not_sent));
    }
    let mut attempts = Attempts::default();
    loop {
        let e = match ctx.api.create_product(product).await {
            Ok(a) if ctx.catalogue.made(a.value.id) => {
                let created = Outcome::new(RowStatus::Created)
                    .id(a.value.id)
                    .http(a.status, a.trace_id);
                return Ok(CreateEnd::Done(created));
            }
            // An id that cannot be the new product's says nothing of what
            // was made: the outcome is unknown, and settles as such.
            Ok(a) => ApiError::Decode {
                status: a.status,
                message: impossible_id(a.value.id),
                trace_id: a.trace_id,
            },
            Err(e) => e,
        };
        let class = e.class();
        match class {
            ErrorClass::Fatal => return Err(e),
            ErrorClass::Permanent => return Ok(CreateEnd::Done(Outcome::failed(&e, ""))),
            ErrorClass::Unknown => {
                let settled = settle_unconfirmed_create(ctx, slot, key, product, sent_above, &e);
                if let Some(end) = settled.await? {
                    return Ok(end);
                }
                if attempts.next_wait(policy, class).is_none() {
                    return Ok(CreateEnd::Done(gave_up_settling(ctx, &e)));
                }
                // Settled and not found: send again at once, the settle was the wait.
                RequestCounters::bump(&ctx.counters.retries);
            }
            _ => match attempts.next_wait(policy, class) {
                Some(wait) => {
                    // Waiting is not working: the slot goes to another row
                    // meanwhile, so a `Retry-After` delays this row only.
                    RequestCounters::bump(&ctx.counters.retries);
                    slot.give_back();
                    tokio::time::sleep(wait).await;
                    slot.retake().await;
                }
                None => {
                    let context = format!("gave up after {} retries: ", policy.max_retries);
                    return Ok(CreateEnd::Done(Outcome::failed(&e, &context)));
                }
            },
        }
    }
}

/// Why an id answered for a new product cannot be its id.
fn impossible_id(id: i64) -> String {
    if id < 1 {
        format!("the server answered id {id} for the new product, not a positive integer")
    } else {
        format!("the server answered id {id} for the new product, an id another row of this run already has")
    }
}

/// Writes the row into the sending journal (if any) with the high-water
/// mark before it is sent; `Err` is the row's `failed` outcome, not sent.
fn mark_sending<A>(ctx: &Context<A>, row: u64, sent_above: i64) -> Result<(), Outcome> {
    match &ctx.journal {
        Some(journal) => journal.mark(row, sent_above).map_err(|e| {
            Outcome::new(RowStatus::Failed).error(format!(
                "not sent: could not write the sending journal: {e}"
            ))
        }),
        None => Ok(()),
    }
}

/// Settles a POST whose outcome `e` is unknown: `Some` when that ends the
/// create (its product found, another with its key found unless under
/// `--existing create`, no key to look it up by, or the last lookup failed),
/// `None` when the row may be sent again.
async fn settle_unconfirmed_create<A: ProductApi>(
    ctx: &Context<A>,
    slot: &mut Slot,
    key: Option<&ProductKey>,
    product: &NewProduct,
    sent_above: i64,
    e: &ApiError,
) -> Result<Option<CreateEnd>, ApiError> {
    let done = |outcome: Outcome| Ok(Some(CreateEnd::Done(outcome)));
    let Some(key) = key else {
        return done(Outcome::failed(
            e,
            &format!(
                "{UNCONFIRMED_NO_KEY}: the row has no number or EAN to look the product up by, so it was \
                 not sent again to avoid a duplicate; check for it by name before importing this row again: "
            ),
        ));
    };
    match settle(ctx, slot, key, product, Some(sent_above), Instant::now()).await {
        Ok(Settled::Ours(ours)) => done(Outcome::found_created(*ours)),
        Ok(Settled::Others(others)) => {
            if ctx.settings.existing != ExistingMode::Create && !others.is_empty() {
                return Ok(Some(CreateEnd::Existing(others)));
            }
            Ok(None)
        }
        Err(le) if le.class() == ErrorClass::Fatal => Err(le),
        Err(_) => done(Outcome::failed(
            e,
            &format!(
                "the server did not confirm the product was created, and looking up {key} failed; \
                 check for it before importing this row again: "
            ),
        )),
    }
}

/// The row's `failed` outcome when its retries are spent, each unknown
/// outcome settled and its product not found.
fn gave_up_settling<A>(ctx: &Context<A>, e: &ApiError) -> Outcome {
    Outcome::failed(
        e,
        &format!(
            "gave up after {} retries (not found after settling {:.0} s each time): ",
            ctx.settings.retry.max_retries,
            ctx.settings.settle.time.as_secs_f64()
        ),
    )
}
