//! A watch on the outcomes on their way to the output files: it notes the
//! products the run created (for the job state) and, with
//! `--log-format json`, writes a `row_failed` event for each row that failed
//! or was invalid. Everything else passes through to the run's outputs.

use std::sync::{Arc, Mutex};

use serde_json::json;

use super::guard::kept_cell;
use crate::log::{self, Level};
use crate::mapping::{ColumnMapping, Field};
use crate::pipeline::known::KnownProduct;
use crate::results::{OutputError, RecordSink, RowRecord, RowStatus};

/// Products created during a run: id, number and EAN.
pub type CreatedList = Arc<Mutex<Vec<KnownProduct>>>;

/// Where a record's cells hold the product's keys.
#[derive(Debug, Clone, Copy)]
pub struct KeyCells {
    number: Option<usize>,
    ean: Option<usize>,
}

impl KeyCells {
    /// The number and EAN columns of `mapping` among the cells a row keeps.
    pub fn of(mapping: &ColumnMapping) -> KeyCells {
        KeyCells {
            number: kept_cell(mapping, Field::Number),
            ean: kept_cell(mapping, Field::Ean),
        }
    }

    /// Key cells at the given positions.
    #[cfg(test)]
    pub fn for_tests(number: Option<usize>, ean: Option<usize>) -> KeyCells {
        KeyCells { number, ean }
    }

    /// A record's number and EAN, trimmed; `None` for an empty cell.
    pub fn keys_of(self, record: &RowRecord) -> (Option<String>, Option<String>) {
        let cell = |i: Option<usize>| {
            i.and_then(|i| record.cells.get(i))
                .map(|c| c.trim().to_string())
                .filter(|c| !c.is_empty())
        };
        (cell(self.number), cell(self.ean))
    }
}

/// A [`RecordSink`] in front of another.
pub struct ObservedSink {
    inner: Box<dyn RecordSink>,
    created: CreatedList,
    keys: KeyCells,
}

impl ObservedSink {
    /// Watches the records going to `inner`; `keys` says where a record's
    /// cells hold the product's number and EAN.
    pub fn new(inner: Box<dyn RecordSink>, keys: KeyCells) -> (ObservedSink, CreatedList) {
        let created = CreatedList::default();
        (
            ObservedSink {
                inner,
                created: created.clone(),
                keys,
            },
            created,
        )
    }

    /// Notes a record (also one kept from an earlier run).
    pub fn note(created: &CreatedList, keys: KeyCells, record: &RowRecord) {
        if let (RowStatus::Created, Some(id)) = (record.status, record.id) {
            let (number, ean) = keys.keys_of(record);
            created
                .lock()
                .expect("created list")
                .push(KnownProduct { id, number, ean });
        }
    }
}

impl RecordSink for ObservedSink {
    fn write(&mut self, record: &RowRecord) -> Result<(), OutputError> {
        Self::note(&self.created, self.keys, record);
        if matches!(record.status, RowStatus::Failed | RowStatus::Invalid) && log::is_json() {
            log::event(
                if record.status == RowStatus::Failed {
                    Level::Error
                } else {
                    Level::Warn
                },
                "row_failed",
                json!({
                    "row": record.row,
                    "sheet": record.sheet,
                    "status": record.status.as_str(),
                    "id": record.id,
                    "http_status": record.http_status,
                    "trace_id": record.trace_id,
                    "error": record.error,
                }),
            );
        }
        self.inner.write(record)
    }

    fn flush(&mut self) -> Result<(), OutputError> {
        self.inner.flush()
    }

    fn finish(self: Box<Self>) -> Result<(), OutputError> {
        self.inner.finish()
    }
}
