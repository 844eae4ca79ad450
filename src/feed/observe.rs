//! A watch on the outcomes on their way to the output files: it notes the
//! products the run created (for the job state) and, with
//! `--log-format json`, writes a `row_failed` event for each row that failed
//! or was invalid. Everything else passes through to the run's outputs.

use std::sync::{Arc, Mutex};

use serde_json::json;

use crate::log::{self, Level};
use crate::results::{OutputError, RecordSink, RowRecord, RowStatus};

/// Products created during a run: id and number.
pub type CreatedList = Arc<Mutex<Vec<(i64, Option<String>)>>>;

/// A [`RecordSink`] in front of another.
pub struct ObservedSink {
    inner: Box<dyn RecordSink>,
    created: CreatedList,
    number_cell: Option<usize>,
}

impl ObservedSink {
    /// Watches the records going to `inner`; `number_cell` is where a
    /// record's cells hold the product number.
    pub fn new(
        inner: Box<dyn RecordSink>,
        number_cell: Option<usize>,
    ) -> (ObservedSink, CreatedList) {
        let created = CreatedList::default();
        (
            ObservedSink {
                inner,
                created: created.clone(),
                number_cell,
            },
            created,
        )
    }

    /// Notes a record (also one kept from an earlier run).
    pub fn note(created: &CreatedList, number_cell: Option<usize>, record: &RowRecord) {
        if let (RowStatus::Created, Some(id)) = (record.status, record.id) {
            let number = number_cell
                .and_then(|i| record.cells.get(i))
                .map(|c| c.trim().to_string())
                .filter(|c| !c.is_empty());
            created.lock().expect("created list").push((id, number));
        }
    }
}

impl RecordSink for ObservedSink {
    fn write(&mut self, record: &RowRecord) -> Result<(), OutputError> {
        Self::note(&self.created, self.number_cell, record);
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
