//! The job's memory between runs, kept in the job's run store
//! ([`crate::store`]): the input imported at the last fully successful run
//! (content hash, and the feed's `ETag` / `Last-Modified`) for
//! `--if-changed`, and the products this job created (and which of them it
//! deactivated) for `--missing`. A dry run never writes it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::download::Validators;
use crate::pipeline::known::{KnownProduct, KnownProducts};
use crate::pipeline::resume::Fingerprint;

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
    fn created_products_are_known_by_number_and_ean() {
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
        let seen = InputSeen {
            source: "https://x.test/f.csv".into(),
            sha256: "ab".into(),
            etag: Some("\"e\"".into()),
            ..InputSeen::default()
        };
        assert!(seen.validators_for("https://x.test/f.csv").is_some());
        assert!(seen.validators_for("https://x.test/g.csv").is_none());
    }
}
