//! One row's journey: resolve its references, find out whether its product
//! exists, then create, update, skip or fail it, and say so in a
//! [`RowRecord`].
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
//! ([`SettlePolicy`]). While it waits it gives its concurrency slot to other
//! rows. Only when the last lookup finds nothing of its own is the row sent
//! again (a retry). A row with neither number nor EAN cannot be looked up:
//! it is `failed` with [`UNCONFIRMED_NO_KEY`] and never sent twice.
//! Rows that `--resume` finds in the sending journal settle the same way
//! before anything else, counted from when the journal was last written.
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

use super::existing::{
    changes, find_existing, lookup_all, EanCatalogue, ExistingIndex, ExistingMode,
};
use super::journal::Journal;
use super::references::{RefKind, References, Resolution};
use super::resume::UNCONFIRMED_NO_KEY;
use super::retry::{retry_idempotent, Attempts, RetryPolicy, SettlePolicy};
use crate::api::types::{IdRef, NewProduct, Product};
use crate::client::{ApiError, ErrorClass, ProductApi, ProductKey, RequestCounters};
use crate::results::{RowRecord, RowStatus};
use crate::validate::{Draft, PreparedRow, Reference};

/// Settings of a run that every row needs.
#[derive(Debug, Clone)]
pub struct RowSettings {
    /// What to do with existing products.
    pub existing: ExistingMode,
    /// Send no writes; say what would happen.
    pub dry_run: bool,
    /// Retry policy.
    pub retry: RetryPolicy,
    /// How an unknown outcome is settled.
    pub settle: SettlePolicy,
    /// The sheet name for the results file.
    pub sheet: Option<String>,
}

/// Everything the workers share.
#[derive(Debug)]
pub struct Context<A> {
    /// The API.
    pub api: A,
    /// Settings.
    pub settings: RowSettings,
    /// Reference resolution cache.
    pub references: References,
    /// Prefetched existing products, when prefetching was cheaper.
    pub index: Option<ExistingIndex>,
    /// Without a prefetch: the catalogue's EANs, read once for all EAN-only rows.
    pub ean_catalogue: EanCatalogue,
    /// The sending journal (none in a dry run).
    pub journal: Option<Journal>,
    /// Request counters.
    pub counters: Arc<RequestCounters>,
    /// What the run has seen and made of the server's products.
    pub ledger: Ledger,
    /// Concurrency slots: a row holds one while it works, not while it settles.
    pub slots: Arc<Semaphore>,
}

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

    /// This run created product `id`: the newest id there is.
    fn made(&self, id: i64) {
        self.saw(id);
        self.covers_catalogue.store(true, Ordering::SeqCst);
        self.ours.lock().expect("ledger lock").insert(id);
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

    /// Rows that settled an unknown outcome, and of those, rows whose
    /// product was found while settling.
    pub fn settled(&self) -> (u64, u64) {
        (
            self.settled.load(Ordering::Relaxed),
            self.settled_found.load(Ordering::Relaxed),
        )
    }
}

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

/// A row's concurrency slot (a permit of [`Context::slots`]), given back
/// while the row settles.
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

    fn give_back(&mut self) {
        self.permit = None;
    }

    async fn retake(&mut self) {
        if self.permit.is_none() {
            let permit = self.slots.clone().acquire_owned().await;
            self.permit = Some(permit.expect("slots are never closed"));
        }
    }
}

/// How a row ended, before the results columns are filled in.
struct Outcome {
    status: RowStatus,
    id: Option<i64>,
    http_status: Option<u16>,
    trace_id: Option<String>,
    error: Option<String>,
}

impl Outcome {
    fn new(status: RowStatus) -> Outcome {
        Outcome {
            status,
            id: None,
            http_status: None,
            trace_id: None,
            error: None,
        }
    }
    fn id(mut self, id: i64) -> Outcome {
        self.id = Some(id);
        self
    }
    fn http(mut self, status: u16, trace: Option<String>) -> Outcome {
        self.http_status = Some(status);
        self.trace_id = trace;
        self
    }
    fn error(mut self, e: impl Into<String>) -> Outcome {
        self.error = Some(e.into());
        self
    }
    fn failed(e: &ApiError, context: &str) -> Outcome {
        Outcome {
            status: RowStatus::Failed,
            id: None,
            http_status: e.http_status(),
            trace_id: e.trace_id().map(str::to_string),
            error: Some(format!("{context}{e}")),
        }
    }
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
        Ok(draft) => (
            submit(ctx, &mut slot, row, draft, job.earlier).await?,
            Vec::new(),
        ),
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

/// A product found on the server, with the status and trace id of the answer.
type Found = (Product, u16, Option<String>);

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
    } = draft;
    let policy = &ctx.settings.retry;
    let mut problems = Vec::new();
    let mut notes = Vec::new();
    for (kind, reference) in [
        (RefKind::Category, category),
        (RefKind::Unit, unit),
        (RefKind::Supplier, supplier),
    ] {
        let Some(reference) = reference else { continue };
        let name = match &reference {
            Reference::Id(id) => id.to_string(),
            Reference::Name(n) => n.clone(),
        };
        match ctx
            .references
            .resolve(&ctx.api, policy, &ctx.counters, kind, &reference)
            .await
        {
            Ok(Resolution::Id(id)) => {
                let slot = match kind {
                    RefKind::Category => &mut product.category,
                    RefKind::Unit => &mut product.units,
                    RefKind::Supplier => &mut product.supplier,
                };
                *slot = Some(IdRef { id });
            }
            Ok(Resolution::Missing) => problems.push(References::missing_message(kind, &name)),
            Ok(Resolution::Refused(message)) => problems.push(message),
            Ok(Resolution::WouldCreate) => {
                notes.push(format!("would create category \"{}\"", name.trim()))
            }
            Err(e) if e.class() == ErrorClass::Fatal => return Err(e),
            Err(e) => {
                let what = match kind {
                    RefKind::Category => "category",
                    RefKind::Unit => "unit",
                    RefKind::Supplier => "supplier",
                };
                return Ok(Outcome::failed(
                    &e,
                    &format!("could not look up {what} \"{name}\": "),
                ));
            }
        }
    }
    if !problems.is_empty() {
        return Ok(Outcome::new(RowStatus::Invalid).error(problems.join("; ")));
    }

    let key = ProductKey::of(&product);
    let mode = ctx.settings.existing;

    // A row an earlier run may have sent settles before anything else.
    let mut looked_up: Option<Option<Found>> = None;
    if let Some(earlier) = earlier.filter(|_| key.is_some() || !ctx.settings.dry_run) {
        let Some(key) = &key else {
            // An interrupted run may have created it, and nothing identifies
            // it for sure: sending it again could make a duplicate.
            return Ok(Outcome::new(RowStatus::Failed).error(format!(
                "{UNCONFIRMED_NO_KEY}: the interrupted run may have created this product, and the row has no \
                 number or EAN to look it up by, so it was not sent again; check for a product named \"{}\" \
                 before importing this row again",
                product.name.as_deref().unwrap_or_default()
            )));
        };
        match settle(
            ctx,
            slot,
            key,
            &product,
            earlier.high_water,
            earlier.at_latest,
        )
        .await
        {
            Ok(Settled::Ours(ours)) => {
                let (found, status, trace) = *ours;
                return Ok(Outcome::new(RowStatus::Created)
                    .id(found.id)
                    .http(status, trace));
            }
            Ok(Settled::Others(others)) => looked_up = Some(others.into_iter().next()),
            Err(e) if e.class() == ErrorClass::Fatal => return Err(e),
            Err(e) => {
                return Ok(Outcome::failed(
                    &e,
                    &format!(
                        "an earlier run may have sent this row, and looking up {key} failed; \
                         check for it before importing this row again: "
                    ),
                ))
            }
        }
    }

    let existing = match (&key, looked_up) {
        (Some(_), Some(found)) if mode != ExistingMode::Create => found,
        (Some(key), None) if mode != ExistingMode::Create => {
            match existing_product(ctx, key, product.name.as_deref()).await {
                Ok(found) => found,
                Err(e) if e.class() == ErrorClass::Fatal => return Err(e),
                Err(e) => return Ok(Outcome::failed(&e, &format!("could not look up {key}: "))),
            }
        }
        (Some(key), None) if !ctx.ledger.covers_catalogue() && !ctx.settings.dry_run => {
            // `--existing create` before the high-water mark bounds the
            // catalogue: a lookup now makes it bound this row's key, so that
            // an older product with the same number is never taken for the
            // row's own after an unknown outcome.
            let name = product.name.as_deref();
            match lookup_all(&ctx.api, &ctx.settings.retry, &ctx.counters, key, name).await {
                Ok(found) => {
                    for (p, _, _) in &found {
                        ctx.ledger.saw(p.id);
                    }
                    None
                }
                Err(e) if e.class() == ErrorClass::Fatal => return Err(e),
                Err(e) => return Ok(Outcome::failed(&e, &format!("could not look up {key}: "))),
            }
        }
        _ => None,
    };

    if let Some(found) = existing {
        let key = key.as_ref().expect("found by key");
        return decide_existing(ctx, key, &product, found).await;
    }

    if ctx.settings.dry_run {
        notes.insert(0, "would create".to_string());
        return Ok(Outcome::new(RowStatus::Valid).error(format!("dry run: {}", notes.join("; "))));
    }
    match create(ctx, slot, row, &product, key.as_ref()).await? {
        CreateEnd::Done(outcome) => Ok(outcome),
        CreateEnd::Existing(found) => {
            let key = key.as_ref().expect("found by key");
            decide_existing(ctx, key, &product, *found).await
        }
    }
}

/// What `--existing` makes of a row whose product exists.
async fn decide_existing<A: ProductApi>(
    ctx: &Context<A>,
    key: &ProductKey,
    product: &NewProduct,
    (found, status, trace): Found,
) -> Result<Outcome, ApiError> {
    Ok(match ctx.settings.existing {
        ExistingMode::Skip | ExistingMode::Create => Outcome::new(RowStatus::Skipped)
            .id(found.id)
            .http(status, trace)
            .error_if(ctx.settings.dry_run, || {
                format!(
                    "dry run: a product with {key} exists (id {}); would skip",
                    found.id
                )
            }),
        ExistingMode::Fail => Outcome::new(RowStatus::Failed)
            .id(found.id)
            .http(status, trace)
            .error(format!(
                "a product with {key} already exists (id {})",
                found.id
            )),
        ExistingMode::Update => {
            let (patch, names) = changes(product, &found);
            if names.is_empty() {
                Outcome::new(RowStatus::Skipped)
                    .id(found.id)
                    .http(status, trace)
                    .error_if(ctx.settings.dry_run, || {
                        format!("dry run: product {} is unchanged; would skip", found.id)
                    })
            } else if ctx.settings.dry_run {
                Outcome::new(RowStatus::Valid).id(found.id).error(format!(
                    "dry run: would update {} of product {}",
                    names.join(", "),
                    found.id
                ))
            } else {
                update(ctx, found.id, &patch).await?
            }
        }
    })
}

impl Outcome {
    fn error_if(self, cond: bool, e: impl FnOnce() -> String) -> Outcome {
        if cond {
            self.error(e())
        } else {
            self
        }
    }
}

/// The oldest product with this key: from the prefetched index, else from the
/// server (every match found raises the high-water mark).
async fn existing_product<A: ProductApi>(
    ctx: &Context<A>,
    key: &ProductKey,
    name: Option<&str>,
) -> Result<Option<Found>, ApiError> {
    if let Some(index) = &ctx.index {
        return Ok(index.get(key).cloned().map(|p| (p, 200, None)));
    }
    let found = find_existing(
        &ctx.api,
        &ctx.settings.retry,
        &ctx.counters,
        key,
        name,
        &ctx.ean_catalogue,
    )
    .await?;
    if let Some((p, _, _)) = &found {
        ctx.ledger.saw(p.id);
    }
    Ok(found)
}

async fn update<A: ProductApi>(
    ctx: &Context<A>,
    id: i64,
    patch: &NewProduct,
) -> Result<Outcome, ApiError> {
    match retry_idempotent(&ctx.settings.retry, &ctx.counters, || {
        ctx.api.update_product(id, patch)
    })
    .await
    {
        Ok(a) => Ok(Outcome::new(RowStatus::Updated)
            .id(id)
            .http(a.status, a.trace_id)),
        Err(e) if e.class() == ErrorClass::Fatal => Err(e),
        Err(e) => Ok(Outcome::failed(&e, "")),
    }
}

/// How a settle ended.
enum Settled {
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
async fn settle<A: ProductApi>(
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
    }
    last.map(Settled::Others)
}

/// How a create ended.
enum CreateEnd {
    /// Created, failed, or settled as created.
    Done(Outcome),
    /// Settling found a product with the row's key that is not its own
    /// (never under `--existing create`).
    Existing(Box<Found>),
}

async fn create<A: ProductApi>(
    ctx: &Context<A>,
    slot: &mut Slot,
    row: u64,
    product: &NewProduct,
    key: Option<&ProductKey>,
) -> Result<CreateEnd, ApiError> {
    let policy: &RetryPolicy = &ctx.settings.retry;
    let sent_above = ctx.ledger.high_water();
    if let Some(journal) = &ctx.journal {
        if let Err(e) = journal.mark(row, sent_above) {
            return Ok(CreateEnd::Done(Outcome::new(RowStatus::Failed).error(
                format!("not sent: could not write the sending journal: {e}"),
            )));
        }
    }
    let done = |o: Outcome| Ok(CreateEnd::Done(o));
    let mut attempts = Attempts::default();
    loop {
        let e = match ctx.api.create_product(product).await {
            Ok(a) => {
                ctx.ledger.made(a.value.id);
                return done(
                    Outcome::new(RowStatus::Created)
                        .id(a.value.id)
                        .http(a.status, a.trace_id),
                );
            }
            Err(e) => e,
        };
        let class = e.class();
        match class {
            ErrorClass::Fatal => return Err(e),
            ErrorClass::Permanent => return done(Outcome::failed(&e, "")),
            ErrorClass::Unknown => {
                let Some(key) = key else {
                    return done(Outcome::failed(
                        &e,
                        &format!(
                            "{UNCONFIRMED_NO_KEY}: the row has no number or EAN to look the product up by, so it was \
                             not sent again to avoid a duplicate; check for it by name before importing this row again: "
                        ),
                    ));
                };
                let may_retry = attempts.next_wait(policy, class).is_some();
                match settle(ctx, slot, key, product, Some(sent_above), Instant::now()).await {
                    Ok(Settled::Ours(ours)) => {
                        let (found, status, trace) = *ours;
                        return done(
                            Outcome::new(RowStatus::Created)
                                .id(found.id)
                                .http(status, trace),
                        );
                    }
                    Ok(Settled::Others(others)) => {
                        if ctx.settings.existing != ExistingMode::Create {
                            if let Some(found) = others.into_iter().next() {
                                return Ok(CreateEnd::Existing(Box::new(found)));
                            }
                        }
                    }
                    Err(le) if le.class() == ErrorClass::Fatal => return Err(le),
                    Err(_) => {
                        return done(Outcome::failed(
                            &e,
                            &format!(
                                "the server did not confirm the product was created, and looking up {key} failed; \
                                 check for it before importing this row again: "
                            ),
                        ));
                    }
                }
                if !may_retry {
                    return done(Outcome::failed(
                        &e,
                        &format!(
                            "gave up after {} retries (not found after settling {:.0} s each time): ",
                            policy.max_retries,
                            ctx.settings.settle.time.as_secs_f64()
                        ),
                    ));
                }
                // Settled and not found: send again at once, the settle was the wait.
                RequestCounters::bump(&ctx.counters.retries);
                continue;
            }
            _ => {}
        }
        match attempts.next_wait(policy, class) {
            Some(wait) => {
                RequestCounters::bump(&ctx.counters.retries);
                tokio::time::sleep(wait).await;
            }
            None => {
                return done(Outcome::failed(
                    &e,
                    &format!("gave up after {} retries: ", policy.max_retries),
                ))
            }
        }
    }
}
