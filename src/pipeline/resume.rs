//! The resume point: which rows of an earlier run are kept, which may have
//! been sent without a recorded outcome, and the results file that goes on
//! from there; the fingerprint that ties it to its input, and the lock that
//! keeps a second run off the same results file.
//!
//! Beside the results file `R` a run keeps:
//! - `R.sending`: the journal of rows about to be sent ([`super::journal`]);
//! - `R.run.json`: the [`Fingerprint`] of the input the results belong to
//!   (content hash, sheet, mapping and the reading options that change rows).
//!   `--resume` refuses an input whose fingerprint differs, so one row's
//!   outcome is never attributed to another;
//! - `R.lock`: held (an advisory lock, released by the system when the
//!   process ends, also on a kill) while a run uses `R`.
//!
//! Rows kept by `--resume`: those `created`, `updated` or `skipped`, and those
//! `failed` because their outcome could not be confirmed and they have no key
//! to look them up by (sending them again could make a duplicate). Every
//! other row is processed again; rows in the sending journal are settled
//! (looked up, waited for, looked up again) before they are sent
//! ([`crate::pipeline::row`]).

use std::fs::File;
use std::io::{self, Read as _, Write as _};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::journal::{journal_path, Journal, MaybeSent};
use crate::results::{atomic, ResultsLayout, ResultsWriter, RowRecord, RowStatus};

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
    /// Held while the run goes on.
    pub lock: RunLock,
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

/// The fingerprint file for a results file: the results path plus `.run.json`.
pub fn fingerprint_path(results: &Path) -> PathBuf {
    beside(results, ".run.json")
}

/// The lock file for a results file: the results path plus `.lock`.
pub fn lock_path(results: &Path) -> PathBuf {
    beside(results, ".lock")
}

fn beside(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// An advisory lock on a results file, held while a run uses it (the
/// standard library's `File::try_lock`: `flock` on Unix, `LockFileEx` on
/// Windows). The lock file says who holds it.
#[derive(Debug)]
pub struct RunLock {
    _file: File,
}

impl RunLock {
    /// Takes the lock for `results`, or says which run holds it.
    pub fn acquire(results: &Path) -> Result<RunLock, ResumeError> {
        let path = lock_path(results);
        RunLock::take(&path, String::new()).map_err(|taken| match taken {
            Taken::Busy(holder) => ResumeError::Busy {
                results: results.to_path_buf(),
                holder,
            },
            Taken::Io(source) => ResumeError::Lock { path, source },
        })
    }

    /// Takes the lock on importing the input whose content has
    /// `input_sha256` into `target` (the API and organization), whatever
    /// results file a run writes: two runs of one file into one
    /// organization at the same time would each create its products. The
    /// lock file lies in the system's temporary folder, named by a hash.
    pub fn acquire_input(
        target: &str,
        input_sha256: &str,
        results: &Path,
    ) -> Result<RunLock, ResumeError> {
        use sha2::{Digest, Sha256};
        let key = Sha256::digest(format!("{target}\n{input_sha256}").as_bytes());
        let name: String = key[..8].iter().map(|b| format!("{b:02x}")).collect();
        let path = std::env::temp_dir().join(format!("product-import-{name}.lock"));
        let note = format!(", results {}", results.display());
        RunLock::take(&path, note).map_err(|taken| match taken {
            Taken::Busy(holder) => ResumeError::SameInput {
                target: target.to_string(),
                holder,
            },
            Taken::Io(source) => ResumeError::Lock { path, source },
        })
    }

    /// Locks `path` (created if need be) and writes who holds it, `note`
    /// after the process and the time.
    fn take(path: &Path, note: String) -> Result<RunLock, Taken> {
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(Taken::Io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                return Err(Taken::Busy(holder.trim().to_string()));
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(Taken::Io(e)),
        }
        let who = format!(
            "process {} since {}{note}",
            std::process::id(),
            httpdate::fmt_http_date(std::time::SystemTime::now())
        );
        file.set_len(0).map_err(Taken::Io)?;
        file.write_all(who.as_bytes()).map_err(Taken::Io)?;
        Ok(RunLock { _file: file })
    }
}

/// Why a lock was not taken.
enum Taken {
    /// Another run holds it; what its lock file says.
    Busy(String),
    /// The lock file cannot be used.
    Io(io::Error),
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
    /// Another run holds the results file.
    #[error(
        "another import is using the results file {} ({holder}); wait for it to finish, or choose another --results",
        results.display()
    )]
    Busy {
        /// The results file.
        results: PathBuf,
        /// Who holds the lock, as its lock file says.
        holder: String,
    },
    /// Another run is importing the same input into the same organization.
    #[error(
        "another import of this same file into {target} is running ({holder}); \
         wait for it to finish: two runs of one file at once could create its products twice"
    )]
    SameInput {
        /// The API (and organization).
        target: String,
        /// Who holds the lock, as its lock file says.
        holder: String,
    },
    /// The lock file cannot be used.
    #[error("cannot lock {}: {source}", path.display())]
    Lock {
        /// The lock file.
        path: PathBuf,
        /// What went wrong.
        source: io::Error,
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

impl ResumePoint {
    /// A fresh start: a new results file with the input's fingerprint, and
    /// no journal from an earlier run. Without `fingerprint` (a dry run), no
    /// fingerprint and no journal are touched.
    pub fn fresh(
        path: &Path,
        layout: ResultsLayout,
        fingerprint: Option<&Fingerprint>,
    ) -> Result<ResumePoint, ResumeError> {
        let lock = RunLock::acquire(path)?;
        let write_err = |source| ResumeError::Results {
            what: "write",
            path: path.to_path_buf(),
            source,
        };
        let results = ResultsWriter::create(path, layout).map_err(write_err)?;
        let journal = journal_path(path);
        if let Some(fingerprint) = fingerprint {
            let json = serde_json::to_vec_pretty(fingerprint).expect("fingerprint serializes");
            atomic::write(&fingerprint_path(path), &json).map_err(write_err)?;
            // A journal left by an earlier, unfinished run does not apply to a fresh run.
            let _ = std::fs::remove_file(&journal);
        }
        Ok(ResumePoint {
            results,
            kept: Vec::new(),
            maybe_sent: MaybeSent::default(),
            journal,
            lock,
        })
    }

    /// Goes on from the results file (and journal) of an earlier run on the
    /// same input.
    pub fn resume(
        path: &Path,
        layout: ResultsLayout,
        fingerprint: &Fingerprint,
    ) -> Result<ResumePoint, ResumeError> {
        let lock = RunLock::acquire(path)?;
        check_fingerprint(path, fingerprint)?;
        let (results, records) =
            ResultsWriter::resume(path, layout, keeps).map_err(|source| ResumeError::Results {
                what: "resume from",
                path: path.to_path_buf(),
                source: damaged(source),
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
            lock,
        })
    }
}

/// Checks that the results at `path` belong to the input of `now`.
fn check_fingerprint(path: &Path, now: &Fingerprint) -> Result<(), ResumeError> {
    let fp = fingerprint_path(path);
    let no = |problem: String| ResumeError::NoFingerprint {
        results: path.to_path_buf(),
        problem,
    };
    let text = match std::fs::read(&fp) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound && !path.exists() => {
            return Err(no("there is no such results file".into()))
        }
        Err(e) => {
            return Err(no(format!(
                "its input fingerprint {} cannot be read ({e})",
                fp.display()
            )))
        }
    };
    let earlier: Fingerprint = serde_json::from_slice(&text).map_err(|e| {
        no(format!(
            "its input fingerprint {} is damaged ({e})",
            fp.display()
        ))
    })?;
    let differences = now.differences(&earlier);
    if differences.is_empty() {
        Ok(())
    } else {
        Err(ResumeError::DifferentInput {
            results: path.to_path_buf(),
            differences,
        })
    }
}

/// An unreadable results file, with what to do about it.
fn damaged(e: io::Error) -> io::Error {
    if e.kind() == io::ErrorKind::NotFound {
        return e;
    }
    io::Error::new(
        e.kind(),
        format!(
            "{e}. The file looks damaged; move it away and run again without --resume and with \
             --existing skip: rows already imported are then found and recorded as skipped"
        ),
    )
}
