//! Rows counted by outcome, as the progress display, the summary and the
//! results file's summary sheet show them.

use serde::Serialize;

use super::RowStatus;

/// Rows counted by status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Tally {
    /// Rows with an outcome.
    #[serde(rename = "rows_done")]
    pub done: u64,
    /// `created`.
    pub created: u64,
    /// `updated`.
    pub updated: u64,
    /// `skipped`.
    pub skipped: u64,
    /// `invalid`.
    pub invalid: u64,
    /// `failed`.
    pub failed: u64,
    /// `valid` (dry run: would be created or updated).
    pub valid: u64,
}

impl Tally {
    /// Counts one row.
    pub fn add(&mut self, status: RowStatus) {
        self.done += 1;
        match status {
            RowStatus::Created => self.created += 1,
            RowStatus::Updated => self.updated += 1,
            RowStatus::Skipped => self.skipped += 1,
            RowStatus::Invalid => self.invalid += 1,
            RowStatus::Failed => self.failed += 1,
            RowStatus::Valid => self.valid += 1,
        }
    }
}

impl Tally {
    /// Whether any row was invalid or failed.
    pub fn has_problems(&self) -> bool {
        self.invalid > 0 || self.failed > 0
    }
}

/// How a run (of `validate` or `import`) ended; with the tally it decides
/// the exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RunOutcome {
    /// Every row was read and has an outcome.
    Completed,
    /// A stop signal (Ctrl-C, SIGTERM) ended it early.
    Interrupted,
    /// It could not go on (input unreadable part way, credentials refused
    /// mid-run, an output file that cannot be written).
    Stopped,
}
