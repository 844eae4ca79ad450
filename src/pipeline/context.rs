//! What every row of a run shares ([`Context`]): the API, the run's
//! settings ([`RowSettings`]), what the run knows of the server
//! ([`Catalogue`]), the sending
//! journal, the request counters and the concurrency slots ([`Slot`]).
//!
//! The row's steps ([`super::row`], [`super::resolve`], [`super::create`],
//! [`super::settle`]) all take a `Context`; it lives here, below them, so
//! that none of them imports another to reach it.

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::catalogue::Catalogue;
use super::emptied::EmptyCells;
use super::existing::ExistingMode;
use super::journal::Journal;
use super::references::RefKind;
use super::retry::{RetryPolicy, SettlePolicy};
use crate::client::RequestCounters;
use crate::mapping::{ColumnMapping, Field};

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
    /// Rows with neither number nor EAN are found by exact name.
    pub match_by_name: bool,
}

/// Everything the workers share.
#[derive(Debug)]
pub struct Context<A> {
    /// The API.
    pub api: A,
    /// Settings.
    pub settings: RowSettings,
    /// What the run knows of the server's products and references.
    pub catalogue: Catalogue,
    /// The sending journal (none in a dry run).
    pub journal: Option<Journal>,
    /// Request counters.
    pub counters: Arc<RequestCounters>,
    /// Concurrency slots: a row holds one while it works, not while it settles.
    pub slots: Arc<Semaphore>,
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

    pub(super) fn of_kind(&self, kind: RefKind) -> Option<String> {
        match kind {
            RefKind::Category => self.category.clone(),
            RefKind::Unit => self.unit.clone(),
            RefKind::Supplier => self.supplier.clone(),
        }
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

impl Slot {
    /// Whether this is the row's first settle (each row is counted once);
    /// marks it as settling.
    pub(super) fn first_settle(&mut self) -> bool {
        !std::mem::replace(&mut self.settled, true)
    }
}
