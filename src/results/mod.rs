//! The results file: one record per data row saying what happened to it,
//! followed by the row's own cells so the file can be fixed and re-imported.
//! Shared by `validate` and `import`; also the rejects file and the payloads file.

use std::fmt;

/// What happened to a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RowStatus {
    /// `validate`: the row would be sent.
    Valid,
    /// The row has problems and was not sent.
    Invalid,
    /// `import`: a product was created.
    Created,
    /// `import`: an existing product was updated.
    Updated,
    /// `import`: an existing product was left alone.
    Skipped,
    /// `import`: sending failed.
    Failed,
}

impl RowStatus {
    /// The word written in the `status` column.
    pub fn as_str(self) -> &'static str {
        match self {
            RowStatus::Valid => "valid",
            RowStatus::Invalid => "invalid",
            RowStatus::Created => "created",
            RowStatus::Updated => "updated",
            RowStatus::Skipped => "skipped",
            RowStatus::Failed => "failed",
        }
    }

    /// Parses the word of the `status` column.
    pub fn parse(s: &str) -> Option<RowStatus> {
        Some(match s {
            "valid" => RowStatus::Valid,
            "invalid" => RowStatus::Invalid,
            "created" => RowStatus::Created,
            "updated" => RowStatus::Updated,
            "skipped" => RowStatus::Skipped,
            "failed" => RowStatus::Failed,
            _ => return None,
        })
    }

    /// True when the row is done for good: a re-run with `--resume` leaves it alone.
    pub fn is_final_success(self) -> bool {
        matches!(self, RowStatus::Created | RowStatus::Updated | RowStatus::Skipped)
    }
}

impl fmt::Display for RowStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The leading columns of every results file, in order.
pub const STATUS_COLUMNS: [&str; 7] = ["row", "sheet", "status", "id", "http_status", "trace_id", "error"];

/// One line of the results file.
#[derive(Debug, Clone, PartialEq)]
pub struct RowRecord {
    /// Spreadsheet row number.
    pub row: u64,
    /// Sheet name (spreadsheets only).
    pub sheet: Option<String>,
    /// Outcome.
    pub status: RowStatus,
    /// Product id (created, updated, skipped).
    pub id: Option<i64>,
    /// HTTP status of the last answer that decided the outcome.
    pub http_status: Option<u16>,
    /// The server's trace id (`X-Trace-Id` / `trackingId`).
    pub trace_id: Option<String>,
    /// What went wrong, in words; several problems separated by `; `.
    pub error: Option<String>,
    /// The row's cells as text, one per input column.
    pub cells: Vec<String>,
}
