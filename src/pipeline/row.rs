//! One row's journey: resolve its references, find out whether its product
//! exists, then create, update, skip or fail it, and say so in a
//! [`RowRecord`].
//!
//! A create whose outcome is unknown, and a row an earlier run may have
//! sent, *settle* before the row is sent again: the rule, and which product
//! found counts as the row's own, are in [`super::settle`].
//!
//! The steps that stand on their own have their own modules: resolving the
//! references ([`super::resolve`]), sending the POST ([`super::create`]),
//! settling ([`super::settle`]) and meeting an existing product
//! ([`super::update`]). None of them calls another: this file drives them,
//! a create whose outcome is unknown coming back here to be settled. How a
//! row and each step end is in [`super::outcome`].

use std::ops::ControlFlow;

use tokio::time::Instant;

use super::catalogue::{Reading, RefKind};
use super::context::{Context, Slot};
use super::create::{Creating, Sent};
use super::existing::{ambiguous, ExistingMode};
use super::found::FoundProduct;
use super::outcome::{failed_step, Outcome, Step};
use super::resolve::resolve_references;
use super::resume::UNCONFIRMED_NO_KEY;
use super::settle::{settle, Settled};
use super::update::decide_existing;
use crate::api::types::NewProduct;
use crate::client::{ApiError, ErrorClass, ProductApi, ProductKey};
use crate::results::{RowRecord, RowStatus};
use crate::validate::{Draft, PreparedRow};

/// A row to process.
#[derive(Debug, Clone)]
pub struct RowJob {
    /// The validated row.
    pub row: PreparedRow,
    /// An earlier run may have sent it without recording the outcome.
    pub earlier: Option<EarlierSend>,
}

/// What the sending journal of an earlier run says about a row it may have sent.
#[derive(Debug, Clone, Copy)]
pub struct EarlierSend {
    /// The highest product id that run had seen before sending the row
    /// (`None` when the journal does not say).
    pub high_water: Option<i64>,
    /// When that run last wrote its journal: the row was sent then at the latest.
    pub at_latest: Instant,
}

/// Processes one row in the slot it was given. `Err` only for a fatal error
/// (credentials refused) that must stop the run.
pub async fn process<A: ProductApi>(
    ctx: &Context<A>,
    job: RowJob,
    mut slot: Slot,
) -> Result<RowRecord, ApiError> {
    let PreparedRow {
        row,
        cells,
        outcome,
    } = job.row;
    let (result, problems) = match outcome {
        Err(problems) => (
            Outcome::new(RowStatus::Invalid).error(
                problems
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
            problems,
        ),
        Ok(mut draft) => {
            let notes = std::mem::take(&mut draft.notes);
            let mut outcome = submit(ctx, &mut slot, row, draft, job.earlier).await?;
            let problems = std::mem::take(&mut outcome.problems);
            if !notes.is_empty() {
                let notes = format!("note: {}", notes.join("; note: "));
                outcome.error = Some(match outcome.error.take() {
                    Some(e) => format!("{e}; {notes}"),
                    None => notes,
                });
            }
            (outcome, problems)
        }
    };
    Ok(RowRecord {
        row,
        sheet: ctx.settings.sheet.clone(),
        status: result.status,
        id: result.id,
        http_status: result.http_status,
        trace_id: result.trace_id,
        error: result.error,
        problems,
        cells,
    })
}

/// Takes a valid row to its outcome: resolves its references, settles an
/// earlier run's send, looks for its product per `--existing`, then creates,
/// updates or skips it (or says what it would do, in a dry run).
async fn submit<A: ProductApi>(
    ctx: &Context<A>,
    slot: &mut Slot,
    row: u64,
    draft: Draft,
    earlier: Option<EarlierSend>,
) -> Result<Outcome, ApiError> {
    let Draft {
        mut product,
        category,
        unit,
        supplier,
        notes: _,
    } = draft;
    let references = [
        (RefKind::Category, category),
        (RefKind::Unit, unit),
        (RefKind::Supplier, supplier),
    ];
    let mut notes = match resolve_references(ctx, row, &mut product, references).await? {
        ControlFlow::Continue(notes) => notes,
        ControlFlow::Break(ended) => return Ok(ended),
    };
    let key = match ProductKey::of(&product) {
        None if ctx.settings.match_by_name => ProductKey::name_of(&product),
        key => key,
    };

    // A row an earlier run may have sent settles before anything else.
    let mut looked_up: Option<Vec<FoundProduct>> = None;
    if let Some(earlier) = earlier.filter(|_| key.is_some() || !ctx.settings.dry_run) {
        match settle_earlier_send(ctx, slot, key.as_ref(), &product, earlier).await? {
            ControlFlow::Continue(found) => looked_up = Some(found),
            ControlFlow::Break(ended) => return Ok(ended),
        }
    }
    let name = product.name.as_deref();
    let existing = match existing_for_row(ctx, key.as_ref(), name, looked_up).await? {
        ControlFlow::Continue(existing) => existing,
        ControlFlow::Break(ended) => return Ok(ended),
    };

    if let Some(found) = existing.into_iter().next() {
        let key = key.as_ref().expect("found by key");
        return decide_existing(ctx, row, key, &product, found).await;
    }

    if ctx.settings.dry_run {
        notes.insert(0, "would create".to_string());
        return Ok(Outcome::new(RowStatus::Valid).error(format!("dry run: {}", notes.join("; "))));
    }
    match create(ctx, slot, row, &product, key.as_ref()).await? {
        CreateEnd::Done(outcome) => Ok(outcome),
        CreateEnd::Existing(found) => {
            let key = key.as_ref().expect("found by key");
            match one_product(key, found) {
                Ok(Some(found)) => decide_existing(ctx, row, key, &product, found).await,
                Ok(None) => unreachable!("settling found products with the key"),
                Err(ambiguous) => Ok(ambiguous),
            }
        }
    }
}

/// How a create ended.
enum CreateEnd {
    /// Created, failed, or settled as created.
    Done(Outcome),
    /// Settling found products with the row's key that are not its own,
    /// oldest first, at least one (never under `--existing create`).
    Existing(Vec<FoundProduct>),
}

/// Creates the row ([`Creating`]): sends its POST, and settles each unknown
/// outcome before the row may be sent again.
async fn create<A: ProductApi>(
    ctx: &Context<A>,
    slot: &mut Slot,
    row: u64,
    product: &NewProduct,
    key: Option<&ProductKey>,
) -> Result<CreateEnd, ApiError> {
    let mut creating = match Creating::start(ctx, row) {
        Ok(creating) => creating,
        Err(not_sent) => return Ok(CreateEnd::Done(not_sent)),
    };
    loop {
        let e = match creating.send(ctx, slot, product).await? {
            Sent::Done(outcome) => return Ok(CreateEnd::Done(outcome)),
            Sent::Unknown(e) => e,
        };
        let sent_above = creating.sent_above();
        let settled = settle_unconfirmed_create(ctx, slot, key, product, sent_above, &e);
        if let Some(end) = settled.await? {
            return Ok(end);
        }
        // Settled and not found: send again at once, the settle was the wait.
        if let Err(gave_up) = creating.send_again(ctx, &e) {
            return Ok(CreateEnd::Done(gave_up));
        }
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

/// Settles a row an earlier run may have sent, counted from when that run
/// last wrote its journal. Ends the row as `created` when that run made its
/// product, as `failed` when it has no key or the last lookup failed; else
/// goes on with the products found with its key that are not its own.
async fn settle_earlier_send<A: ProductApi>(
    ctx: &Context<A>,
    slot: &mut Slot,
    key: Option<&ProductKey>,
    product: &NewProduct,
    earlier: EarlierSend,
) -> Step<Vec<FoundProduct>> {
    let Some(key) = key else {
        // An interrupted run may have created it, and nothing identifies
        // it for sure: sending it again could make a duplicate.
        return Ok(ControlFlow::Break(Outcome::new(RowStatus::Failed).error(format!(
            "{UNCONFIRMED_NO_KEY}: the interrupted run may have created this product, and the row has no \
             number or EAN to look it up by, so it was not sent again; check for a product named \"{}\" \
             before importing this row again",
            product.name.as_deref().unwrap_or_default()
        ))));
    };
    let (high_water, since) = (earlier.high_water, earlier.at_latest);
    match settle(ctx, slot, key, product, high_water, since).await {
        Ok(Settled::Ours(ours)) => Ok(ControlFlow::Break(Outcome::found_created(*ours))),
        Ok(Settled::Others(others)) => Ok(ControlFlow::Continue(others)),
        Err(e) => failed_step(
            e,
            &format!(
                "an earlier run may have sent this row, and looking up {key} failed; \
                 check for it before importing this row again: "
            ),
        ),
    }
}

/// The existing product the row meets, per `--existing`: none under
/// `create` or without a key; else the one settling found (`looked_up`),
/// else the one looked up now. Under `create`, before the high-water mark
/// bounds the catalogue, the row's key is looked up all the same: the mark
/// then bounds this row's key, so that an older product with the same
/// number is never taken for the row's own after an unknown outcome. Ends
/// the row as `failed` when a lookup failed, and when more than one product
/// has its key ([`ambiguous`]).
async fn existing_for_row<A: ProductApi>(
    ctx: &Context<A>,
    key: Option<&ProductKey>,
    name: Option<&str>,
    looked_up: Option<Vec<FoundProduct>>,
) -> Step<Option<FoundProduct>> {
    let Some(key) = key else {
        return Ok(ControlFlow::Continue(None));
    };
    let create_only = ctx.settings.existing == ExistingMode::Create;
    let (api, policy, counters) = (&ctx.api, &ctx.settings.retry, &*ctx.counters);
    let lookup = |reading| {
        ctx.catalogue
            .lookup(api, policy, counters, key, name, reading)
    };
    let found = match looked_up {
        Some(found) if !create_only => Ok(found),
        None if !create_only => lookup(Reading::BeforeSending).await,
        // Only to raise the high-water mark over the key's products.
        None if !ctx.catalogue.covers_catalogue() && !ctx.settings.dry_run => {
            lookup(Reading::Afresh).await.map(|_| Vec::new())
        }
        _ => return Ok(ControlFlow::Continue(None)),
    };
    match found {
        Ok(found) => Ok(match one_product(key, found) {
            Ok(found) => ControlFlow::Continue(found),
            Err(ambiguous) => ControlFlow::Break(ambiguous),
        }),
        Err(e) => failed_step(e, &format!("could not look up {key}: ")),
    }
}

/// The one product of `found` (none when empty); `Err` with the row's
/// `failed` outcome naming every id when the server holds the key more
/// than once: nothing is picked.
fn one_product(
    key: &ProductKey,
    found: Vec<FoundProduct>,
) -> Result<Option<FoundProduct>, Outcome> {
    if found.len() > 1 {
        let products: Vec<_> = found.iter().map(|f| f.product.clone()).collect();
        return Err(Outcome::new(RowStatus::Failed)
            .http(found[0].status, found[0].trace_id.clone())
            .error(ambiguous(key, &products)));
    }
    Ok(found.into_iter().next())
}
