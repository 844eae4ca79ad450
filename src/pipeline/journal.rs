//! The sending journal: before a row's first POST, its row number is appended
//! to a small file beside the results file, with the highest product id the
//! run had seen then (`<row> <id>`). After a crash (kill -9 included),
//! `--resume` knows which rows may have reached the server without their
//! outcome being recorded, and settles them like any unknown outcome
//! ([`crate::pipeline::row`]): a product found with the row's key and name
//! counts as made by the killed run only if its id is above the one journaled.
//!
//! Each mark is one unbuffered `write`, so it is in the operating system's
//! hands before the request leaves. The journal is removed when a run ends
//! without interruption.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

/// The journal path for a results file: the results path plus `.sending`.
pub fn journal_path(results: &Path) -> PathBuf {
    let mut s = results.as_os_str().to_owned();
    s.push(".sending");
    PathBuf::from(s)
}

/// An open journal, appended to by every worker.
#[derive(Debug)]
pub struct Journal {
    file: Mutex<File>,
}

impl Journal {
    /// Opens (creating, or appending to) the journal at `path`.
    pub fn open(path: &Path) -> io::Result<Journal> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        Ok(Journal {
            file: Mutex::new(file),
        })
    }

    /// Records that `row` is about to be sent, when the highest product id
    /// the run had seen was `high_water`.
    pub fn mark(&self, row: u64, high_water: i64) -> io::Result<()> {
        let mut f = self.file.lock().expect("journal lock");
        f.write_all(format!("{row} {high_water}\n").as_bytes())
    }

    /// The rows marked in the journal at `path` (none when there is no journal).
    /// A line cut short by a crash keeps its row without an id (or is ignored).
    pub fn read(path: &Path) -> io::Result<MaybeSent> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(MaybeSent::default()),
            Err(e) => return Err(e),
        };
        let written = std::fs::metadata(path).and_then(|m| m.modified()).ok();
        let mut rows = HashMap::new();
        for line in text.lines() {
            let mut parts = line.split_whitespace();
            let Some(row) = parts.next().and_then(|r| r.parse::<u64>().ok()) else {
                continue;
            };
            let high_water = parts.next().and_then(|h| h.parse::<i64>().ok());
            // A row sent twice (after a resume) keeps its first, lowest mark.
            let entry = rows.entry(row).or_insert(high_water);
            *entry = match (*entry, high_water) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        }
        Ok(MaybeSent {
            rows,
            age: written
                .and_then(|w| SystemTime::now().duration_since(w).ok())
                .unwrap_or(Duration::ZERO),
        })
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

    /// True when no row is listed.
    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_survive_and_are_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = journal_path(&dir.path().join("in.results.csv"));
        assert!(path.to_string_lossy().ends_with("in.results.csv.sending"));
        assert!(Journal::read(&path).unwrap().is_empty());
        let j = Journal::open(&path).unwrap();
        j.mark(2, 40).unwrap();
        j.mark(17, 41).unwrap();
        j.mark(2, 90).unwrap();
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(b"4")
            .unwrap();
        // "4" without newline parses too (without its id); a cut line like "1"
        // of "12" cannot be told apart, which only costs one extra lookup.
        let read = Journal::read(&path).unwrap();
        assert_eq!(
            read.rows,
            HashMap::from([(2, Some(40)), (17, Some(41)), (4, None)])
        );
        assert!(read.age < Duration::from_secs(60));
    }
}
