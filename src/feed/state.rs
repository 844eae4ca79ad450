//! The job's memory between runs, `RESULTS.state.json` beside the results
//! file `RESULTS`: the input imported at the last successful run (content
//! hash, and the feed's `ETag` / `Last-Modified`) for `--if-changed`, and the
//! products this job created (and which of them it deactivated) for
//! `--missing`. Written whole and renamed into place; a dry run never writes it.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::download::{with_suffix, Validators};
use crate::pipeline::known::{KnownProduct, KnownProducts};
use crate::pipeline::resume::Fingerprint;

/// The state file of a results file: its path plus `.state.json`.
pub fn state_path(results: &Path) -> PathBuf {
    with_suffix(results, ".state.json")
}

/// What a job remembers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct JobState {
    /// The input of the last successful run.
    pub last_success: Option<InputSeen>,
    /// Products this job created, by id.
    pub products: BTreeMap<i64, ManagedProduct>,
}

/// An input as a successful run read it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct InputSeen {
    /// Where it came from: the URL without user info, or the file's path.
    pub source: String,
    /// SHA-256 of its content, hex.
    pub sha256: String,
    /// Bytes.
    pub size: u64,
    /// The feed's `ETag`, when it sent one.
    pub etag: Option<String>,
    /// The feed's `Last-Modified`, when it sent one.
    pub last_modified: Option<String>,
    /// When the run finished (RFC 3339).
    pub finished_at: String,
    /// The input's fingerprint as that run read it (content, sheet, mapping,
    /// reading options): `--if-changed` skips a run whose input has the same.
    pub fingerprint: Option<Fingerprint>,
}

impl InputSeen {
    /// What to ask the feed with, when it is the same source.
    pub fn validators_for(&self, source: &str) -> Option<Validators> {
        (self.source == source && (self.etag.is_some() || self.last_modified.is_some())).then(
            || Validators {
                etag: self.etag.clone(),
                last_modified: self.last_modified.clone(),
            },
        )
    }
}

/// A product this job created.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ManagedProduct {
    /// Its number, when it has one.
    pub number: Option<String>,
    /// Its EAN, when it has one (absent from state files of older versions).
    pub ean: Option<String>,
    /// Set when this job deactivated it as missing from the feed.
    pub deactivated: bool,
}

impl JobState {
    /// Reads the state file; an absent file is an empty state.
    pub fn load(path: &Path) -> io::Result<JobState> {
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "the job state {} is damaged ({e}); move it away to start the job's memory afresh",
                        path.display()
                    ),
                )
            }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(JobState::default()),
            Err(e) => Err(io::Error::new(
                e.kind(),
                format!("cannot read the job state {}: {e}", path.display()),
            )),
        }
    }

    /// Writes the state file whole.
    pub fn save(&self, path: &Path) -> io::Result<()> {
        let json = serde_json::to_vec_pretty(self).expect("state serializes");
        crate::results::atomic::write(path, &json)
    }

    /// Notes a product this job created.
    pub fn created(&mut self, product: &KnownProduct) {
        let entry = self.products.entry(product.id).or_default();
        if product.number.is_some() {
            entry.number.clone_from(&product.number);
        }
        if product.ean.is_some() {
            entry.ean.clone_from(&product.ean);
        }
        entry.deactivated = false;
    }

    /// The products this job created, by key, for the lookups of a run.
    pub fn known(&self) -> KnownProducts {
        KnownProducts::new(self.products.iter().map(|(&id, p)| KnownProduct {
            id,
            number: p.number.clone(),
            ean: p.ean.clone(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_absent_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = state_path(&dir.path().join("r.csv"));
        assert!(path.ends_with("r.csv.state.json"));
        assert_eq!(JobState::load(&path).unwrap(), JobState::default());
        let mut s = JobState::default();
        let made = |number: Option<&str>, ean: Option<&str>| KnownProduct {
            id: 7,
            number: number.map(Into::into),
            ean: ean.map(Into::into),
        };
        s.created(&made(Some("A-1"), None));
        s.products.get_mut(&7).unwrap().deactivated = true;
        s.created(&made(None, Some("4006381333931")));
        assert_eq!(s.products[&7].number.as_deref(), Some("A-1"));
        assert_eq!(s.products[&7].ean.as_deref(), Some("4006381333931"));
        assert_eq!(s.known().len(), 2, "by number and by EAN");
        assert!(!s.products[&7].deactivated);
        s.last_success = Some(InputSeen {
            source: "https://x.test/f.csv".into(),
            sha256: "ab".into(),
            etag: Some("\"e\"".into()),
            ..InputSeen::default()
        });
        s.save(&path).unwrap();
        let back = JobState::load(&path).unwrap();
        assert_eq!(back, s);
        let seen = back.last_success.unwrap();
        assert!(seen.validators_for("https://x.test/f.csv").is_some());
        assert!(seen.validators_for("https://x.test/g.csv").is_none());
        // A state file of an older version, without EANs, still reads.
        std::fs::write(&path, r#"{"products": {"3": {"number": "B"}}}"#).unwrap();
        assert_eq!(JobState::load(&path).unwrap().products[&3].ean, None);
        std::fs::write(&path, "{").unwrap();
        assert!(JobState::load(&path).is_err());
    }
}
