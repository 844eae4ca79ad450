//! The resume point: which rows of an earlier run are kept, which may have
//! been sent without a recorded outcome, and the results file that goes on
//! from there; the fingerprint that ties a job's outcomes to its input.
//!
//! All of it is read from the job's run store ([`crate::store`]), never from
//! the results file, which is only a rendering: the store holds the
//! [`Fingerprint`] of the input the outcomes belong to (content hash, sheet,
//! mapping and the reading options that change rows), every row's outcome
//! and every send intent. `--resume` refuses an input whose fingerprint
//! differs, so one row's outcome is never attributed to another.
//!
//! A fresh run over a job whose last run never recorded its end (killed, or
//! its machine went down) refuses and says to `--resume`; with `--afresh`
//! it starts over while keeping what that run did: the products it made stay
//! known to the job (by id, number and EAN), and the rows it may have sent
//! without an outcome are settled before anything is sent.
//!
//! Rows kept by `--resume`: those `created`, `updated` or `skipped`, and those
//! `failed` because their outcome could not be confirmed and they have no key
//! to look them up by (sending them again could make a duplicate). Every
//! other row is processed again; rows with a send intent and no kept outcome
//! are settled (looked up, waited for, looked up again) before they are sent
//! ([`crate::pipeline::row`]).

use std::fs::File;
use std::io::{self, Read as _};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::journal::MaybeSent;
use crate::results::{RowRecord, RowStatus};
use crate::store::{JobStore, RunEntry, StoreError};

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

/// How a run starts over the job's store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartMode {
    /// A new run; refused while the last one is unfinished.
    Fresh,
    /// A new run over an unfinished one, keeping what it did (`--afresh`).
    Afresh,
    /// Goes on from the last run (`--resume`).
    Resume,
    /// A dry run: reads nothing of the store and writes nothing to it.
    Dry,
}

impl StartMode {
    /// The word the store keeps for a run started so.
    pub fn word(self) -> &'static str {
        match self {
            StartMode::Fresh | StartMode::Dry => "fresh",
            StartMode::Afresh => "afresh",
            StartMode::Resume => "resume",
        }
    }
}

/// Where a run starts: the outcomes kept from an earlier run, and the rows
/// an earlier run may have sent without an outcome.
#[derive(Debug, Default)]
pub struct ResumePoint {
    /// Outcomes kept from an earlier run.
    pub kept: Vec<RowRecord>,
    /// Rows an earlier run may have sent without recording an outcome.
    pub maybe_sent: MaybeSent,
}

impl ResumePoint {
    /// Checks that a run may start in `mode` over `store` (`None`: there is
    /// no store yet) with the input of `now`, and reads where it starts.
    /// Reads only; refusing here changes nothing.
    pub fn check(
        store: Option<&JobStore>,
        results: &Path,
        mode: StartMode,
        now: &Fingerprint,
    ) -> Result<ResumePoint, ResumeError> {
        let store_err = |source| ResumeError::Store(Box::new(source));
        match mode {
            StartMode::Dry => Ok(ResumePoint::default()),
            StartMode::Fresh | StartMode::Afresh => {
                let Some(store) = store else {
                    return Ok(ResumePoint::default());
                };
                let Some(run) = store.unfinished().map_err(store_err)? else {
                    return Ok(ResumePoint::default());
                };
                if mode == StartMode::Fresh {
                    return Err(ResumeError::Unfinished {
                        results: results.to_path_buf(),
                        run: Box::new(run),
                    });
                }
                // Its rows may have been sent: settled before anything is sent
                // (by row, when the input is the same one).
                let same = store.fingerprint().map_err(store_err)?.as_ref() == Some(now);
                let maybe_sent = if same {
                    store.maybe_sent().map_err(store_err)?
                } else {
                    MaybeSent::default()
                };
                Ok(ResumePoint {
                    kept: Vec::new(),
                    maybe_sent,
                })
            }
            StartMode::Resume => {
                let no = |problem: &str| ResumeError::NoFingerprint {
                    results: results.to_path_buf(),
                    problem: problem.to_string(),
                };
                let store = store.ok_or_else(|| no("this job has no run store to resume from"))?;
                let earlier = store
                    .fingerprint()
                    .map_err(store_err)?
                    .ok_or_else(|| no("its run store holds no run"))?;
                let differences = now.differences(&earlier);
                if !differences.is_empty() {
                    return Err(ResumeError::DifferentInput {
                        results: results.to_path_buf(),
                        differences,
                    });
                }
                let kept = store
                    .outcomes()
                    .map_err(store_err)?
                    .into_iter()
                    .filter(keeps)
                    .collect();
                let maybe_sent = store.maybe_sent().map_err(store_err)?;
                Ok(ResumePoint { kept, maybe_sent })
            }
        }
    }
}

/// What identifies the rows of a run: the input's content and everything
/// that changes how it is turned into rows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fingerprint {
    /// SHA-256 of the input file, hex.
    pub input_sha256: String,
    /// Size of the input file in bytes.
    pub input_size: u64,
    /// The sheet read (spreadsheets).
    pub sheet: Option<String>,
    /// SHA-256 of the mapping file, hex, when one was used.
    pub mapping_sha256: Option<String>,
    /// The reading options that change rows, as words (delimiter, encoding,
    /// header row, decimal mark).
    pub reading: Vec<String>,
}

impl Fingerprint {
    /// The fingerprint of `input` read with `mapping` and `reading`.
    pub fn of(
        input: &Path,
        sheet: Option<String>,
        mapping: Option<&Path>,
        reading: Vec<String>,
    ) -> io::Result<Fingerprint> {
        let (input_sha256, input_size) = sha256_of(input)?;
        let mapping_sha256 = mapping.map(sha256_of).transpose()?.map(|(h, _)| h);
        Ok(Fingerprint {
            input_sha256,
            input_size,
            sheet,
            mapping_sha256,
            reading,
        })
    }

    /// What differs from `earlier`, in words; empty when nothing does.
    pub fn differences(&self, earlier: &Fingerprint) -> Vec<String> {
        let mut out = Vec::new();
        if self.input_sha256 != earlier.input_sha256 {
            out.push(format!(
                "the input's content ({} bytes now, {} bytes then)",
                self.input_size, earlier.input_size
            ));
        }
        if self.sheet != earlier.sheet {
            out.push(format!(
                "the sheet (\"{}\" now, \"{}\" then)",
                self.sheet.as_deref().unwrap_or(""),
                earlier.sheet.as_deref().unwrap_or("")
            ));
        }
        if self.mapping_sha256 != earlier.mapping_sha256 {
            out.push("the mapping file".to_string());
        }
        if self.reading != earlier.reading {
            out.push(format!(
                "the reading options ({} now, {} then)",
                self.reading.join(", "),
                earlier.reading.join(", ")
            ));
        }
        out
    }
}

/// SHA-256 (hex) and size of a file.
fn sha256_of(path: &Path) -> io::Result<(String, u64)> {
    let mut file = File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    let mut size = 0u64;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        size += n as u64;
        hasher.update(&buf[..n]);
    }
    let hex = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok((hex, size))
}

/// Why there is no resume point.
#[derive(Debug, thiserror::Error)]
pub enum ResumeError {
    /// The job's store cannot be read.
    #[error(transparent)]
    Store(Box<StoreError>),
    /// The last run never recorded its end.
    #[error(
        "the last run of this job (run {}, {} run started {} by process {}) did not finish: \
         run again with --resume to go on from it, or with --afresh to start over keeping \
         what it did (its products stay known, its unsettled rows are looked up before \
         anything is sent); results file {}",
        run.id, run.kind, run.started, run.pid, results.display()
    )]
    Unfinished {
        /// The results file.
        results: PathBuf,
        /// The unfinished run.
        run: Box<RunEntry>,
    },
    /// The input is not the one the results belong to.
    #[error(
        "cannot resume: the results file {} belongs to a different input; changed since then: {}. \
         Run again with the same file and options, or start afresh without --resume \
         (rows already imported are then found as existing products)",
        results.display(),
        differences.join("; ")
    )]
    DifferentInput {
        /// The results file.
        results: PathBuf,
        /// What differs.
        differences: Vec<String>,
    },
    /// The fingerprint is missing or unreadable.
    #[error(
        "cannot resume from {}: {problem}. Start afresh without --resume \
         (rows already imported are then found as existing products with --existing skip)",
        results.display()
    )]
    NoFingerprint {
        /// The results file.
        results: PathBuf,
        /// What is wrong.
        problem: String,
    },
}
