//! The resume point: which rows of an earlier run are kept, which may have
//! been sent without a recorded outcome, and the results file that goes on
//! from there.
//!
//! Rows kept by `--resume`: those `created`, `updated` or `skipped`, and those
//! `failed` because their outcome could not be confirmed and they have no key
//! to look them up by (sending them again could make a duplicate). Every
//! other row is processed again; rows in the sending journal are settled
//! (looked up, waited for, looked up again) before they are sent
//! ([`crate::pipeline::row`]).

use std::io;
use std::path::{Path, PathBuf};

use super::journal::{journal_path, Journal, MaybeSent};
use crate::results::{ResultsLayout, ResultsWriter, RowRecord, RowStatus};

/// How the error column of a row starts when its POST may have created a
/// product that cannot be looked up (no number, no EAN): such a row is never
/// sent again, not even by `--resume`.
pub const UNCONFIRMED_NO_KEY: &str = "not confirmed by the server";

/// Whether `--resume` keeps an earlier run's outcome for this row.
pub fn keeps(record: &RowRecord) -> bool {
    record.status.is_final_success()
        || (record.status == RowStatus::Failed
            && record
                .error
                .as_deref()
                .is_some_and(|e| e.starts_with(UNCONFIRMED_NO_KEY)))
}

/// Where a run starts: the results file open for writing, the outcomes kept
/// from an earlier run, and the rows that run may have sent.
pub struct ResumePoint {
    /// The results file, already holding the kept outcomes.
    pub results: ResultsWriter,
    /// Outcomes kept from an earlier run.
    pub kept: Vec<RowRecord>,
    /// Rows an earlier run may have sent without recording an outcome.
    pub maybe_sent: MaybeSent,
    /// The sending journal's path.
    pub journal: PathBuf,
}

/// Why there is no resume point.
#[derive(Debug, thiserror::Error)]
pub enum ResumeError {
    /// The results file cannot be read or written.
    #[error("cannot {what} the results file {}: {source}", path.display())]
    Results {
        /// `read` or `write`.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// What went wrong.
        source: io::Error,
    },
    /// The sending journal cannot be read.
    #[error("cannot read the sending journal {}: {source}", path.display())]
    Journal {
        /// The journal.
        path: PathBuf,
        /// What went wrong.
        source: io::Error,
    },
}

impl ResumePoint {
    /// A fresh start: a new results file, and no journal from an earlier run.
    pub fn fresh(path: &Path, layout: ResultsLayout) -> Result<ResumePoint, ResumeError> {
        let results =
            ResultsWriter::create(path, layout).map_err(|source| ResumeError::Results {
                what: "write",
                path: path.to_path_buf(),
                source,
            })?;
        let journal = journal_path(path);
        // A journal left by an earlier, unfinished run does not apply to a fresh run.
        let _ = std::fs::remove_file(&journal);
        Ok(ResumePoint {
            results,
            kept: Vec::new(),
            maybe_sent: MaybeSent::default(),
            journal,
        })
    }

    /// Goes on from the results file (and journal) of an earlier run.
    pub fn resume(path: &Path, layout: ResultsLayout) -> Result<ResumePoint, ResumeError> {
        let (results, records) =
            ResultsWriter::resume(path, layout, keeps).map_err(|source| ResumeError::Results {
                what: "resume from",
                path: path.to_path_buf(),
                source,
            })?;
        let kept = records.into_iter().filter(keeps).collect();
        let journal = journal_path(path);
        let maybe_sent = Journal::read(&journal).map_err(|source| ResumeError::Journal {
            path: journal.clone(),
            source,
        })?;
        Ok(ResumePoint {
            results,
            kept,
            maybe_sent,
            journal,
        })
    }
}
