//! The records of the results file and what its writers share: a row's
//! outcome ([`RowStatus`], [`RowRecord`]), the layout of a results file
//! ([`ResultsLayout`]), the summary of an .xlsx one ([`RunSummary`]) and a
//! writer of one format ([`FormatSink`]). Below every other file of the
//! folder, so that each format imports them from here.

use std::io;

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
    /// The problems of an invalid row as data. Only an .xlsx results file
    /// shows them (a filled cell with a note each); the text is in `error`.
    pub problems: Vec<crate::validate::Problem>,
    /// The row's cells as text, one per input column.
    pub cells: crate::cell::Texts,
}

/// Options of a results file.
#[derive(Debug, Clone)]
pub struct ResultsLayout {
    /// The input's headers, written after the status columns.
    pub headers: Vec<String>,
    /// Delimiter of a CSV results file (the input's, so a spreadsheet program
    /// set up for it opens the file as it opened the input).
    pub delimiter: u8,
}

/// What the *Summary* sheet of an .xlsx results file shows, handed to
/// [`ResultsWriter::finish_with`](super::ResultsWriter::finish_with) at the end of a run. Other formats ignore it.
/// Settings are the ones a user chose; never put a secret in them.
#[derive(Debug, Clone)]
pub struct RunSummary {
    /// The command: `validate` or `import`.
    pub command: &'static str,
    /// When the run started.
    pub started: std::time::SystemTime,
    /// When it ended.
    pub finished: std::time::SystemTime,
    /// Rows with an outcome, for the achieved rate.
    pub rows_done: u64,
    /// Rows by outcome and other figures, in order: (`created`, 12).
    pub counts: Vec<(String, u64)>,
    /// The run's settings, in order: (`rate`, `5 requests/s`).
    pub settings: Vec<(String, String)>,
    /// The column mapping: each input header and what it fills.
    pub mapping: Vec<(String, String)>,
}

/// A destination for records in one format.
pub(super) trait FormatSink: Send {
    /// Writes one record.
    fn write(&mut self, record: &RowRecord) -> io::Result<()>;
    /// Flushes what was written.
    fn flush(&mut self) -> io::Result<()>;
}
