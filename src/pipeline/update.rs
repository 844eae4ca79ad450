//! A row's step when its product exists: what `--existing` makes of it
//! (skip, fail, or update), and the update itself: the PATCH made from the
//! fields that differ, a nested object read afresh before it goes whole,
//! and a field the server kept though the PATCH emptied it said in the
//! row's message. Driven by [`super::row`].

use super::changes::patch_for;
use super::context::Context;
use super::emptied::{still_held, RefusedPrice};
use super::existing::ExistingMode;
use super::found::FoundProduct;
use super::outcome::Outcome;
use super::retry::retry_idempotent;
use crate::api::types::{NewProduct, ProductPatch};
use crate::client::{ApiError, ErrorClass, ProductApi, ProductKey};
use crate::results::RowStatus;
use crate::validate::{Problem, ProblemKind};

/// What `--existing` makes of a row whose product exists.
pub(super) async fn decide_existing<A: ProductApi>(
    ctx: &Context<A>,
    row: u64,
    key: &ProductKey,
    product: &NewProduct,
    found: FoundProduct,
) -> Result<Outcome, ApiError> {
    let FoundProduct {
        product: found,
        status,
        trace_id: trace,
    } = found;
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
            } else if patch.set.stock.is_some() || patch.set.supplier_product.is_some() {
                update_nested(ctx, row, product, found.id).await?
            } else {
                update(ctx, found.id, &patch).await?
            }
        }
    })
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

/// Sends a PATCH that touches `stock` or `supplierProduct`. A nested object
/// goes whole (a server may replace it rather than merge), so its fields the
/// row does not give must be the server's values of now, not those read at
/// the start of the run: a stock quantity moves all day, and writing back an
/// old one reverts every movement since. So the product is read again just
/// before, and the PATCH made from that reading.
async fn update_nested<A: ProductApi>(
    ctx: &Context<A>,
    row: u64,
    product: &NewProduct,
    id: i64,
) -> Result<Outcome, ApiError> {
    let (policy, counters) = (&ctx.settings.retry, &ctx.counters);
    let fresh = match retry_idempotent(policy, counters, || ctx.api.get_product(id)).await {
        Ok(Some(fresh)) => fresh.value,
        Ok(None) => {
            return Ok(Outcome::new(RowStatus::Failed).id(id).error(format!(
                "product {id} was deleted on the server during the run; not updated"
            )))
        }
        Err(e) if e.class() == ErrorClass::Fatal => return Err(e),
        Err(e) => {
            return Ok(Outcome::failed(
                &e,
                &format!("could not read product {id} again before updating it: "),
            ))
        }
    };
    let (patch, names) = match patch_for(product, &fresh, &ctx.settings.empty_cells) {
        Ok(patch) => patch,
        Err(refused) => return Ok(refused_prices(row, id, refused)),
    };
    if names.is_empty() && patch.clear.is_empty() {
        return Ok(Outcome::new(RowStatus::Skipped).id(id));
    }
    update(ctx, id, &patch).await
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
