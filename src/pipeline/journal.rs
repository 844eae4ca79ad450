//! The sending journal: before a row's first POST, its row number is appended
//! to a small file beside the results file. After a crash (kill -9 included),
//! `--resume` knows which rows may have reached the server without their
//! outcome being recorded, looks those up before sending them, and records a
//! product it finds as `created` by this import rather than as pre-existing.
//!
//! Each mark is one unbuffered `write`, so it is in the operating system's
//! hands before the request leaves. The journal is removed when a run ends
//! without interruption.

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The journal path for a results file: the results path plus `.sending`.
pub fn journal_path(results: &Path) -> PathBuf {
    let mut s = results.as_os_str().to_owned();
    s.push(".sending");
    PathBuf::from(s)
}

/// An open journal, appended to by every worker.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: Mutex<File>,
}

impl Journal {
    /// Opens (creating, or appending to) the journal at `path`.
    pub fn open(path: &Path) -> io::Result<Journal> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        Ok(Journal {
            path: path.to_path_buf(),
            file: Mutex::new(file),
        })
    }

    /// Records that `row` is about to be sent.
    pub fn mark(&self, row: u64) -> io::Result<()> {
        let mut f = self.file.lock().expect("journal lock");
        f.write_all(format!("{row}\n").as_bytes())
    }

    /// Removes the journal (the run finished).
    pub fn remove(self) -> io::Result<()> {
        drop(self.file);
        match std::fs::remove_file(&self.path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// The rows marked in the journal at `path` (none when there is no journal).
    /// A line cut short by a crash is ignored.
    pub fn read(path: &Path) -> io::Result<HashSet<u64>> {
        match std::fs::read_to_string(path) {
            Ok(text) => Ok(text.lines().filter_map(|l| l.trim().parse().ok()).collect()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(HashSet::new()),
            Err(e) => Err(e),
        }
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
        j.mark(2).unwrap();
        j.mark(17).unwrap();
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(b"4")
            .unwrap();
        // "4" without newline parses too; a cut line like "1" of "12" cannot be told
        // apart, which only costs one extra lookup.
        assert_eq!(Journal::read(&path).unwrap(), HashSet::from([2, 17, 4]));
        j.remove().unwrap();
        assert!(!path.exists());
    }
}
