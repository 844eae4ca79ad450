//! A row's first step: its category, unit and supplier resolved into ids on
//! its payload (through the run's [`Catalogue`](super::catalogue::Catalogue)),
//! a name that cannot be resolved being a problem on the column that holds it
//! ([`ReferenceColumns`](super::context::ReferenceColumns)).

use std::ops::ControlFlow;

use super::catalogue::{RefKind, Resolution};
use super::context::Context;
use super::outcome::{failed_step, Outcome, Step};
use crate::api::types::{IdRef, NewProduct};
use crate::client::ProductApi;
use crate::results::RowStatus;
use crate::validate::{Problem, ProblemKind, Reference};

/// Resolves the row's category, unit and supplier into ids on `product`, in
/// that order. Goes on with the dry run's notes (a category it would
/// create); ends the row as `invalid` when a reference is missing or
/// refused, as `failed` when a lookup failed.
pub(super) async fn resolve_references<A: ProductApi>(
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
        let name = reference.text();
        let resolved = ctx
            .catalogue
            .resolve_reference(
                &ctx.api,
                &ctx.settings.retry,
                &ctx.counters,
                kind,
                &reference,
            )
            .await;
        match resolved {
            Ok(Resolution::Id(id)) => *reference_field(product, kind) = Some(IdRef { id }),
            Ok(Resolution::Missing(message)) => {
                problems.push(problem(kind, &name, ProblemKind::UnknownName, message))
            }
            Ok(Resolution::Ambiguous(message)) => {
                problems.push(problem(kind, &name, ProblemKind::AmbiguousName, message))
            }
            Ok(Resolution::Refused(message)) => {
                problems.push(problem(kind, &name, ProblemKind::MissingScope, message))
            }
            Ok(Resolution::WouldCreate(note)) => notes.push(note),
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
