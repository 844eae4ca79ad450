//! One row's journey: resolve its references, find out whether its product
//! exists, then create, update, skip or fail it, and say so in a
//! [`RowRecord`].
//!
//! A create whose outcome is unknown, and a row an earlier run may have
//! sent, *settle* before the row is sent again: the rule, and which product
//! found counts as the row's own, are in [`super::settle`].

use std::ops::ControlFlow;
use std::sync::Arc;

use tokio::sync::Semaphore;
use tokio::time::Instant;

use super::emptied::{still_held, EmptyCells, RefusedPrice};
use super::existing::{find_existing, patch_for, EanCatalogue, ExistingIndex, ExistingMode};
use super::journal::Journal;
use super::known::KnownProducts;
use super::references::{RefKind, References, Resolution};
use super::resume::UNCONFIRMED_NO_KEY;
use super::retry::{retry_idempotent, Attempts, RetryPolicy, SettlePolicy};
use super::settle::{mark_key_seen, settle, Found, Ledger, Settled, Slot};
use crate::api::types::{IdRef, NewProduct, ProductPatch};
use crate::client::{ApiError, ErrorClass, ProductApi, ProductKey, RequestCounters};
use crate::mapping::{ColumnMapping, Field};
use crate::results::{RowRecord, RowStatus};
use crate::validate::{Draft, PreparedRow, Problem, ProblemKind, Reference};

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
    /// The column (as written in the file) that names each kind of
    /// reference, for the problems of names that cannot be resolved.
    pub reference_columns: ReferenceColumns,
    /// The columns whose empty cells clear a field on update (none under
    /// `--empty-cells keep`).
    pub empty_cells: EmptyCells,
}

/// The columns that hold the category, unit and supplier, as written in the
/// file (or the field, when a mapping constant gives it).
#[derive(Debug, Clone, Default)]
pub struct ReferenceColumns {
    /// The category's column.
    pub category: Option<String>,
    /// The unit's column.
    pub unit: Option<String>,
    /// The supplier's column.
    pub supplier: Option<String>,
}

impl ReferenceColumns {
    /// The columns of `mapping`: a name column, else an id column, else the
    /// field a constant fills.
    pub fn of(mapping: &ColumnMapping) -> ReferenceColumns {
        let column = |fields: [Field; 2]| {
            fields.iter().find_map(|&f| {
                mapping
                    .column(f)
                    .map(|i| mapping.headers[i].clone())
                    .or_else(|| mapping.constant(f).map(|_| f.path().to_string()))
            })
        };
        ReferenceColumns {
            category: column([Field::Category, Field::CategoryId]),
            unit: column([Field::Unit, Field::UnitsId]),
            supplier: column([Field::Supplier, Field::SupplierId]),
        }
    }

    fn of_kind(&self, kind: RefKind) -> Option<String> {
        match kind {
            RefKind::Category => self.category.clone(),
            RefKind::Unit => self.unit.clone(),
            RefKind::Supplier => self.supplier.clone(),
        }
    }
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
    /// The products this job created in earlier runs.
    pub known: KnownProducts,
    /// The sending journal (none in a dry run).
    pub journal: Option<Journal>,
    /// Request counters.
    pub counters: Arc<RequestCounters>,
    /// What the run has seen and made of the server's products.
    pub ledger: Ledger,
    /// Concurrency slots: a row holds one while it works, not while it settles.
    pub slots: Arc<Semaphore>,
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

/// How a row ended, before the results columns are filled in.
struct Outcome {
    status: RowStatus,
    id: Option<i64>,
    http_status: Option<u16>,
    trace_id: Option<String>,
    error: Option<String>,
    problems: Vec<Problem>,
}

impl Outcome {
    fn new(status: RowStatus) -> Outcome {
        Outcome {
            status,
            id: None,
            http_status: None,
            trace_id: None,
            error: None,
            problems: Vec::new(),
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
    /// The row's own product, found while settling: `created`.
    fn found_created((found, status, trace): Found) -> Outcome {
        Outcome::new(RowStatus::Created)
            .id(found.id)
            .http(status, trace)
    }
    fn failed(e: &ApiError, context: &str) -> Outcome {
        Outcome {
            status: RowStatus::Failed,
            id: None,
            http_status: e.http_status(),
            trace_id: e.trace_id().map(str::to_string),
            error: Some(format!("{context}{e}")),
            problems: Vec::new(),
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
        Ok(draft) => {
            let mut outcome = submit(ctx, &mut slot, row, draft, job.earlier).await?;
            let problems = std::mem::take(&mut outcome.problems);
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

/// A step of a row's journey: `Continue` with what the next step needs, or
/// `Break` with the outcome the row ends with. `Err` only for a fatal error.
type Step<T> = Result<ControlFlow<Outcome, T>, ApiError>;

/// A request that failed at a step: a fatal error stops the run, any other
/// ends the row as `failed`, its message after `context`.
fn failed_step<T>(e: ApiError, context: &str) -> Step<T> {
    if e.class() == ErrorClass::Fatal {
        Err(e)
    } else {
        Ok(ControlFlow::Break(Outcome::failed(&e, context)))
    }
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
    let key = ProductKey::of(&product);

    // A row an earlier run may have sent settles before anything else.
    let mut looked_up: Option<Option<Found>> = None;
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

    if let Some(found) = existing {
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
            decide_existing(ctx, row, key, &product, *found).await
        }
    }
}

/// Resolves the row's category, unit and supplier into ids on `product`, in
/// that order. Goes on with the dry run's notes (a category it would
/// create); ends the row as `invalid` when a reference is missing or
/// refused, as `failed` when a lookup failed.
async fn resolve_references<A: ProductApi>(
    ctx: &Context<A>,
    row: u64,
    product: &mut NewProduct,
    references: [(RefKind, Option<Reference>); 3],
) -> Step<Vec<String>> {
    let mut problems: Vec<Problem> = Vec::new();
    let mut notes = Vec::new();
    let problem = |kind: RefKind, name: &str, problem: ProblemKind, message: String| Problem {
        row,
        column: ctx.settings.reference_columns.of_kind(kind),
        value: Some(name.trim().to_string()),
        kind: problem,
        message,
    };
    for (kind, reference) in references {
        let Some(reference) = reference else { continue };
        let name = match &reference {
            Reference::Id(id) => id.to_string(),
            Reference::Name(n) => n.clone(),
        };
        let resolved = ctx
            .references
            .resolve(
                &ctx.api,
                &ctx.settings.retry,
                &ctx.counters,
                kind,
                &reference,
            )
            .await;
        match resolved {
            Ok(Resolution::Id(id)) => *reference_field(product, kind) = Some(IdRef { id }),
            Ok(Resolution::Missing) => problems.push(problem(
                kind,
                &name,
                ProblemKind::UnknownName,
                References::missing_message(kind, &name),
            )),
            Ok(Resolution::Refused(message)) => {
                problems.push(problem(kind, &name, ProblemKind::MissingScope, message))
            }
            Ok(Resolution::WouldCreate) => {
                notes.push(format!("would create category \"{}\"", name.trim()))
            }
            Err(e) => {
                let what = reference_label(kind);
                return failed_step(e, &format!("could not look up {what} \"{name}\": "));
            }
        }
    }
    if !problems.is_empty() {
        // The text stays the server-side message; the problems carry the
        // column, so an .xlsx results file can mark the cell.
        let text: Vec<&str> = problems.iter().map(|p| p.message.as_str()).collect();
        let mut invalid = Outcome::new(RowStatus::Invalid).error(text.join("; "));
        invalid.problems = problems;
        return Ok(ControlFlow::Break(invalid));
    }
    Ok(ControlFlow::Continue(notes))
}

/// The payload field a reference of `kind` goes into.
fn reference_field(product: &mut NewProduct, kind: RefKind) -> &mut Option<IdRef> {
    match kind {
        RefKind::Category => &mut product.category,
        RefKind::Unit => &mut product.units,
        RefKind::Supplier => &mut product.supplier,
    }
}

/// A reference kind as the results file names it.
fn reference_label(kind: RefKind) -> &'static str {
    match kind {
        RefKind::Category => "category",
        RefKind::Unit => "unit",
        RefKind::Supplier => "supplier",
    }
}

/// Settles a row an earlier run may have sent, counted from when that run
/// last wrote its journal. Ends the row as `created` when that run made its
/// product, as `failed` when it has no key or the last lookup failed; else
/// goes on with the oldest product found with its key that is not its own.
async fn settle_earlier_send<A: ProductApi>(
    ctx: &Context<A>,
    slot: &mut Slot,
    key: Option<&ProductKey>,
    product: &NewProduct,
    earlier: EarlierSend,
) -> Step<Option<Found>> {
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
        Ok(Settled::Others(others)) => Ok(ControlFlow::Continue(others.into_iter().next())),
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
/// bounds the catalogue, the row's key is looked up all the same (see
/// [`mark_key_seen`]). Ends the row as `failed` when a lookup failed.
async fn existing_for_row<A: ProductApi>(
    ctx: &Context<A>,
    key: Option<&ProductKey>,
    name: Option<&str>,
    looked_up: Option<Option<Found>>,
) -> Step<Option<Found>> {
    let Some(key) = key else {
        return Ok(ControlFlow::Continue(None));
    };
    let create_only = ctx.settings.existing == ExistingMode::Create;
    let found = match looked_up {
        Some(found) if !create_only => return Ok(ControlFlow::Continue(found)),
        None if !create_only => existing_product(ctx, key, name).await,
        None if !ctx.ledger.covers_catalogue() && !ctx.settings.dry_run => {
            mark_key_seen(ctx, key, name).await.map(|()| None)
        }
        _ => return Ok(ControlFlow::Continue(None)),
    };
    match found {
        Ok(found) => Ok(ControlFlow::Continue(found)),
        Err(e) => failed_step(e, &format!("could not look up {key}: ")),
    }
}

/// What `--existing` makes of a row whose product exists.
async fn decide_existing<A: ProductApi>(
    ctx: &Context<A>,
    row: u64,
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
            let empty = &ctx.settings.empty_cells;
            let (patch, names) = match patch_for(product, &found, empty) {
                Ok(patch) => patch,
                Err(refused) => return Ok(refused_prices(row, found.id, refused)),
            };
            if names.is_empty() && patch.clear.is_empty() {
                Outcome::new(RowStatus::Skipped)
                    .id(found.id)
                    .http(status, trace)
                    .error_if(ctx.settings.dry_run, || {
                        format!("dry run: product {} is unchanged; would skip", found.id)
                    })
            } else if ctx.settings.dry_run {
                Outcome::new(RowStatus::Valid).id(found.id).error(format!(
                    "dry run: would {} of product {}",
                    update_words(&names, &patch.clear),
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
/// server; when neither has one, a product this job made in an earlier run
/// that a search does not show yet. Every match found on the server raises
/// the high-water mark.
async fn existing_product<A: ProductApi>(
    ctx: &Context<A>,
    key: &ProductKey,
    name: Option<&str>,
) -> Result<Option<Found>, ApiError> {
    let (policy, counters) = (&ctx.settings.retry, &ctx.counters);
    let found = match &ctx.index {
        Some(index) => match index.get(key) {
            Some(p) => return Ok(Some((p.clone(), 200, None))),
            None => None,
        },
        None => find_existing(&ctx.api, policy, counters, key, name, &ctx.ean_catalogue).await?,
    };
    let found = match found {
        Some(found) => Some(found),
        None => ctx.known.find(&ctx.api, policy, counters, key).await?,
    };
    if let Some((p, _, _)) = &found {
        ctx.ledger.saw(p.id);
    }
    Ok(found)
}

/// `update salesPrice, name and clear description`: what a PATCH does.
fn update_words(names: &[&str], clear: &[&str]) -> String {
    match (names.is_empty(), clear.is_empty()) {
        (false, true) => format!("update {}", names.join(", ")),
        (true, false) => format!("clear {}", clear.join(", ")),
        _ => format!("update {} and clear {}", names.join(", "), clear.join(", ")),
    }
}

/// A row whose emptied price cells meet a product holding prices: `invalid`,
/// a problem on each of those cells.
fn refused_prices(row: u64, id: i64, refused: Vec<RefusedPrice>) -> Outcome {
    let problems: Vec<Problem> = refused
        .iter()
        .map(|r| Problem {
            row,
            column: Some(r.column.clone()),
            value: None,
            kind: ProblemKind::EmptiedPrice,
            message: r.message(id),
        })
        .collect();
    let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
    let mut invalid = Outcome::new(RowStatus::Invalid)
        .id(id)
        .error(text.join("; "));
    invalid.problems = problems;
    invalid
}

/// Sends the PATCH. A field sent as `null` that the product still holds
/// afterwards is said in the row's message: the server did not clear it.
async fn update<A: ProductApi>(
    ctx: &Context<A>,
    id: i64,
    patch: &ProductPatch,
) -> Result<Outcome, ApiError> {
    let (policy, counters) = (&ctx.settings.retry, &ctx.counters);
    match retry_idempotent(policy, counters, || ctx.api.update_product(id, patch)).await {
        Ok(a) => {
            let updated = Outcome::new(RowStatus::Updated)
                .id(id)
                .http(a.status, a.trace_id);
            if patch.clear.is_empty() {
                return Ok(updated);
            }
            // An answer without the product says nothing of the fields: read it.
            let after = match a.value {
                Some(product) => Ok(Some(product)),
                None => retry_idempotent(policy, counters, || ctx.api.get_product(id))
                    .await
                    .map(|a| a.map(|a| a.value)),
            };
            let kept = match after {
                Ok(Some(product)) => still_held(&patch.clear, &product),
                Ok(None) => Vec::new(),
                Err(e) if e.class() == ErrorClass::Fatal => return Err(e),
                Err(e) => {
                    return Ok(updated.error(format!(
                        "updated; whether the server cleared {} could not be read back: {e}",
                        patch.clear.join(", ")
                    )))
                }
            };
            Ok(updated.error_if(!kept.is_empty(), || {
                format!(
                    "the server kept {} though the update sent {} empty",
                    kept.join(", "),
                    if kept.len() == 1 { "it" } else { "them" }
                )
            }))
        }
        Err(e) if e.class() == ErrorClass::Fatal => Err(e),
        Err(e) => Ok(Outcome::failed(&e, "")),
    }
}

/// How a create ended.
enum CreateEnd {
    /// Created, failed, or settled as created.
    Done(Outcome),
    /// Settling found a product with the row's key that is not its own
    /// (never under `--existing create`).
    Existing(Box<Found>),
}

/// Sends the row's POST, retrying as the policy allows. A transient error
/// waits before the next send; an unknown outcome settles first (and the
/// settle is the wait). The row is in the sending journal before the first send.
async fn create<A: ProductApi>(
    ctx: &Context<A>,
    slot: &mut Slot,
    row: u64,
    product: &NewProduct,
    key: Option<&ProductKey>,
) -> Result<CreateEnd, ApiError> {
    let policy: &RetryPolicy = &ctx.settings.retry;
    let sent_above = ctx.ledger.high_water();
    if let Err(not_sent) = mark_sending(ctx, row, sent_above) {
        return Ok(CreateEnd::Done(not_sent));
    }
    let mut attempts = Attempts::default();
    loop {
        let e = match ctx.api.create_product(product).await {
            Ok(a) => {
                ctx.ledger.made(a.value.id);
                let created = Outcome::new(RowStatus::Created)
                    .id(a.value.id)
                    .http(a.status, a.trace_id);
                return Ok(CreateEnd::Done(created));
            }
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
                    RequestCounters::bump(&ctx.counters.retries);
                    tokio::time::sleep(wait).await;
                }
                None => {
                    let context = format!("gave up after {} retries: ", policy.max_retries);
                    return Ok(CreateEnd::Done(Outcome::failed(&e, &context)));
                }
            },
        }
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
            if ctx.settings.existing != ExistingMode::Create {
                if let Some(found) = others.into_iter().next() {
                    return Ok(Some(CreateEnd::Existing(Box::new(found))));
                }
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
