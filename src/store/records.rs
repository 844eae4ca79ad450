//! How a row's outcome and the results layout are kept in the store: JSON
//! text in one column, so a record keeps every field (the problems of an
//! invalid row as data too) whatever format it is rendered in.

use serde::{Deserialize, Serialize};

use crate::results::{ResultsLayout, RowRecord, RowStatus};
use crate::validate::Problem;

#[derive(Serialize, Deserialize)]
struct Stored {
    row: u64,
    #[serde(default)]
    sheet: Option<String>,
    status: String,
    #[serde(default)]
    id: Option<i64>,
    #[serde(default)]
    http_status: Option<u16>,
    #[serde(default)]
    trace_id: Option<String>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    problems: Vec<Problem>,
    #[serde(default)]
    cells: Vec<String>,
}

/// A record as the store's JSON text.
pub(super) fn encode(r: &RowRecord) -> String {
    serde_json::to_string(&Stored {
        row: r.row,
        sheet: r.sheet.clone(),
        status: r.status.as_str().to_string(),
        id: r.id,
        http_status: r.http_status,
        trace_id: r.trace_id.clone(),
        error: r.error.clone(),
        problems: r.problems.clone(),
        cells: r.cells.to_vec(),
    })
    .expect("a record serializes")
}

/// A record from the store's JSON text; `None` when it is not one.
pub(super) fn decode(text: &str) -> Option<RowRecord> {
    let s: Stored = serde_json::from_str(text).ok()?;
    Some(RowRecord {
        row: s.row,
        sheet: s.sheet,
        status: RowStatus::parse(&s.status)?,
        id: s.id,
        http_status: s.http_status,
        trace_id: s.trace_id,
        error: s.error,
        problems: s.problems,
        cells: s.cells.into(),
    })
}

/// The results layout as the store keeps it.
#[derive(Serialize, Deserialize)]
pub(super) struct StoredLayout {
    headers: Vec<String>,
    delimiter: u8,
}

impl StoredLayout {
    pub(super) fn of(layout: &ResultsLayout) -> StoredLayout {
        StoredLayout {
            headers: layout.headers.clone(),
            delimiter: layout.delimiter,
        }
    }

    pub(super) fn into_layout(self) -> ResultsLayout {
        ResultsLayout {
            headers: self.headers,
            delimiter: self.delimiter,
        }
    }
}
