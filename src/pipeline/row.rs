//! One row's journey: resolve its references, find out whether its product
//! exists, then create, update, skip or fail it, and say so in a
//! [`RowRecord`].
//!
//! Duplicate safety lives here. A POST whose outcome is unknown (timeout,
//! lost connection, 502, 504) is never repeated blindly: the product is looked
//! up by number (else EAN) first; found means it was created, not found means
//! it is sent again. A row with neither key whose outcome stays unknown is
//! `failed` and never sent twice.

use std::sync::Arc;

use super::existing::{changes, lookup, ExistingIndex, ExistingMode};
use super::journal::Journal;
use super::references::{RefKind, References, Resolution};
use super::resume::UNCONFIRMED_NO_KEY;
use super::retry::{retry_idempotent, Attempts, RetryPolicy};
use crate::api::types::{IdRef, NewProduct};
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
    /// The sending journal (none in a dry run).
    pub journal: Option<Journal>,
    /// Request counters.
    pub counters: Arc<RequestCounters>,
}

/// A row to process.
#[derive(Debug, Clone)]
pub struct RowJob {
    /// The validated row.
    pub row: PreparedRow,
    /// An earlier run may have sent it without recording the outcome.
    pub maybe_sent: bool,
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

/// Processes one row. `Err` only for a fatal error (credentials refused)
/// that must stop the run.
pub async fn process<A: ProductApi>(ctx: &Context<A>, job: RowJob) -> Result<RowRecord, ApiError> {
    let PreparedRow {
        row,
        cells,
        outcome,
    } = job.row;
    let result = match outcome {
        Err(problems) => Outcome::new(RowStatus::Invalid).error(
            problems
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; "),
        ),
        Ok(draft) => submit(ctx, row, draft, job.maybe_sent).await?,
    };
    Ok(RowRecord {
        row,
        sheet: ctx.settings.sheet.clone(),
        status: result.status,
        id: result.id,
        http_status: result.http_status,
        trace_id: result.trace_id,
        error: result.error,
        cells,
    })
}

async fn submit<A: ProductApi>(
    ctx: &Context<A>,
    row: u64,
    draft: Draft,
    maybe_sent: bool,
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
    let existing = match &key {
        Some(key) if maybe_sent || mode != ExistingMode::Create => {
            match existing_product(ctx, key, product.name.as_deref()).await {
                Ok(found) => found,
                Err(e) if e.class() == ErrorClass::Fatal => return Err(e),
                Err(e) => return Ok(Outcome::failed(&e, &format!("could not look up {key}: "))),
            }
        }
        _ => None,
    };

    if let Some((found, status, trace)) = existing {
        if maybe_sent {
            // An earlier, interrupted run sent this row: the product is ours.
            return Ok(Outcome::new(RowStatus::Created)
                .id(found.id)
                .http(status, trace));
        }
        let key = key.as_ref().expect("found by key");
        return Ok(match mode {
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
                let (patch, names) = changes(&product, &found);
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
        });
    }

    if ctx.settings.dry_run {
        notes.insert(0, "would create".to_string());
        return Ok(Outcome::new(RowStatus::Valid).error(format!("dry run: {}", notes.join("; "))));
    }
    create(ctx, row, &product, key.as_ref()).await
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

async fn existing_product<A: ProductApi>(
    ctx: &Context<A>,
    key: &ProductKey,
    name: Option<&str>,
) -> Result<Option<(crate::api::types::Product, u16, Option<String>)>, ApiError> {
    if let Some(index) = &ctx.index {
        return Ok(index.get(key).cloned().map(|p| (p, 200, None)));
    }
    lookup(&ctx.api, &ctx.settings.retry, &ctx.counters, key, name).await
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

async fn create<A: ProductApi>(
    ctx: &Context<A>,
    row: u64,
    product: &NewProduct,
    key: Option<&ProductKey>,
) -> Result<Outcome, ApiError> {
    let policy: &RetryPolicy = &ctx.settings.retry;
    if let Some(journal) = &ctx.journal {
        if let Err(e) = journal.mark(row) {
            return Ok(Outcome::new(RowStatus::Failed).error(format!(
                "not sent: could not write the sending journal: {e}"
            )));
        }
    }
    let mut attempts = Attempts::default();
    let mut uncertain = false;
    loop {
        if uncertain {
            let key = key.expect("rows without a key stop at the first unknown outcome");
            match lookup(
                &ctx.api,
                policy,
                &ctx.counters,
                key,
                product.name.as_deref(),
            )
            .await
            {
                Ok(Some((found, status, trace))) => {
                    return Ok(Outcome::new(RowStatus::Created)
                        .id(found.id)
                        .http(status, trace));
                }
                Ok(None) => {}
                Err(e) if e.class() == ErrorClass::Fatal => return Err(e),
                Err(e) => {
                    return Ok(Outcome::failed(
                        &e,
                        &format!(
                            "the server did not confirm the product was created, and looking up {key} failed; \
                             check for it before importing this row again: "
                        ),
                    ));
                }
            }
        }
        let e = match ctx.api.create_product(product).await {
            Ok(a) => {
                return Ok(Outcome::new(RowStatus::Created)
                    .id(a.value.id)
                    .http(a.status, a.trace_id))
            }
            Err(e) => e,
        };
        let class = e.class();
        match class {
            ErrorClass::Fatal => return Err(e),
            ErrorClass::Permanent => return Ok(Outcome::failed(&e, "")),
            ErrorClass::Unknown if key.is_none() => {
                return Ok(Outcome::failed(
                    &e,
                    &format!(
                        "{UNCONFIRMED_NO_KEY}: the row has no number or EAN to look the product up by, so it was \
                         not sent again to avoid a duplicate; check for it by name before importing this row again: "
                    ),
                ));
            }
            ErrorClass::Unknown => uncertain = true,
            _ => {}
        }
        match attempts.next_wait(policy, class) {
            Some(wait) => {
                RequestCounters::bump(&ctx.counters.retries);
                tokio::time::sleep(wait).await;
            }
            None if uncertain => {
                // Out of retries: one last look decides between created and failed.
                let key = key.expect("checked above");
                return Ok(
                    match lookup(
                        &ctx.api,
                        policy,
                        &ctx.counters,
                        key,
                        product.name.as_deref(),
                    )
                    .await
                    {
                        Ok(Some((found, status, trace))) => Outcome::new(RowStatus::Created)
                            .id(found.id)
                            .http(status, trace),
                        Ok(None) => Outcome::failed(
                            &e,
                            &format!("gave up after {} retries: ", policy.max_retries),
                        ),
                        Err(le) if le.class() == ErrorClass::Fatal => return Err(le),
                        Err(_) => Outcome::failed(
                            &e,
                            &format!(
                            "gave up after {} retries, and could not look up {key}; check for it: ",
                            policy.max_retries
                        ),
                        ),
                    },
                );
            }
            None => {
                return Ok(Outcome::failed(
                    &e,
                    &format!("gave up after {} retries: ", policy.max_retries),
                ))
            }
        }
    }
}
