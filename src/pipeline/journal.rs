//! The sending journal: before a row's first POST, the intent to send it is
//! committed to the job's run store ([`crate::store`]) with the highest
//! product id the run had seen then (its high-water mark). After a crash
//! (kill -9 included), `--resume` knows which rows may have reached the
//! server without their outcome being recorded, and settles them like any
//! unknown outcome ([`crate::pipeline::row`]): a product found with the row's
//! key and name counts as made by the killed run only if its id is above the
//! one journaled.
//!
//! Each mark is one committed SQLite transaction, in the operating system's
//! hands before the request leaves.

use std::collections::HashMap;
use std::io;
use std::time::Duration;

use crate::store::JobStore;

/// The run's journal, marked by every worker.
#[derive(Debug, Clone)]
pub struct Journal {
    store: JobStore,
}

impl Journal {
    /// The journal kept in `store`.
    pub fn new(store: JobStore) -> Journal {
        Journal { store }
    }

    /// Records that `row` is about to be sent, when the highest product id
    /// the run had seen was `high_water`.
    pub fn mark(&self, row: u64, high_water: i64) -> io::Result<()> {
        self.store
            .mark_sending(row, high_water)
            .map_err(|e| io::Error::other(e.to_string()))
    }
}

/// The rows an earlier run may have sent without recording an outcome.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MaybeSent {
    /// Row number → the highest product id that run had seen before sending
    /// it (`None` when the journal line does not say).
    pub rows: HashMap<u64, Option<i64>>,
    /// How long ago the journal was last written: how long ago the last of
    /// those rows was sent, at the latest.
    pub age: Duration,
}

impl MaybeSent {
    /// Rows sent with no id recorded (tests, a cut line).
    #[cfg(test)]
    pub fn rows(rows: impl IntoIterator<Item = u64>) -> MaybeSent {
        MaybeSent {
            rows: rows.into_iter().map(|r| (r, None)).collect(),
            age: Duration::ZERO,
        }
    }

    /// Whether `row` may have been sent, and with which high-water mark.
    pub fn get(&self, row: u64) -> Option<Option<i64>> {
        self.rows.get(&row).copied()
    }
}
