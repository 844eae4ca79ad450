//! Finding rows that repeat a product number or barcode, in memory that does
//! not grow with the file.
//!
//! Exact detection needs every key seen so far, which grows with the rows.
//! For files that can be read twice cheaply (CSV), a first pass puts every
//! key into a fixed-size Bloom filter and keeps only the keys that *might*
//! repeat (true repeats plus a few false alarms). The validating pass then
//! tracks exactly just those keys: every other key is known to be unique.

use std::borrow::Cow;
use std::collections::HashSet;
use std::hash::BuildHasher;
use std::path::Path;

use crate::cell::restore_formula;
use crate::cell::{format_number, Cell};
use crate::mapping::{ColumnMapping, Field};
use crate::read::{ReadError, SourceRow};
use crate::values;

/// Bits of the filter: 2^26 bits = 8 MiB. With a million rows (two keys
/// each) about one key in 4,500 is a false alarm.
const FILTER_BITS: u64 = 1 << 26;
/// Bits set per key.
const PROBES: u64 = 4;

/// The hash of a key: which field, and its text. Shared by both passes.
#[derive(Clone)]
pub struct KeyHasher(foldhash::quality::FixedState);

impl Default for KeyHasher {
    fn default() -> Self {
        KeyHasher(foldhash::quality::FixedState::with_seed(0x5eed))
    }
}

impl KeyHasher {
    /// Hashes `text` as a key of `field`.
    pub fn hash(&self, field: Field, text: &str) -> u64 {
        self.0.hash_one((field as u8, text))
    }
}

/// The text a key cell stands for, exactly as validation puts it in the
/// payload; `None` for blank, date and error cells (never keys).
pub fn key_text(cell: &Cell) -> Option<Cow<'_, str>> {
    let text = match cell {
        Cell::Empty | Cell::Date { .. } | Cell::Error(_) => return None,
        Cell::Text(s) => return key_text_of_str(s),
        Cell::Number(n) => Cow::Owned(format_number(*n)),
        Cell::Int(i) => Cow::Owned(i.to_string()),
        Cell::Bool(b) => Cow::Borrowed(if *b { "TRUE" } else { "FALSE" }),
    };
    (!text.is_empty()).then_some(text)
}

/// The key a CSV cell's text stands for (see [`key_text`]).
fn key_text_of_str(s: &str) -> Option<Cow<'_, str>> {
    let text = values::clean_text(restore_formula(s));
    (!text.is_empty()).then_some(text)
}

/// The keys that might repeat in a file, found by a first pass over its rows.
pub struct RepeatCandidates {
    hashes: HashSet<u64>,
}

impl RepeatCandidates {
    /// Reads every row once and returns the keys that might repeat. Reading
    /// stops at the first read error (the validating pass reports it).
    pub fn scan(
        rows: impl Iterator<Item = Result<SourceRow, ReadError>>,
        mapping: &ColumnMapping,
        hasher: &KeyHasher,
    ) -> RepeatCandidates {
        let columns: Vec<(Field, usize)> = [Field::Number, Field::Ean]
            .into_iter()
            .filter_map(|f| mapping.column(f).map(|c| (f, c)))
            .collect();
        let mut filter = Filter::new();
        for row in rows {
            let Ok(row) = row else { break };
            for &(field, col) in &columns {
                let Some(text) = row.cells.get(col).and_then(key_text) else {
                    continue;
                };
                filter.add(hasher.hash(field, &text));
            }
        }
        filter.candidates()
    }

    /// The same for a UTF-8 CSV file whose header is its first record, read
    /// straight with the `csv` crate (only the key columns are looked at).
    /// `None` when a record is not valid UTF-8: the general reader, which
    /// then switches encoding, must decide what its keys say.
    pub fn scan_utf8_csv(
        path: &Path,
        delimiter: u8,
        mapping: &ColumnMapping,
        hasher: &KeyHasher,
    ) -> Option<RepeatCandidates> {
        let columns: Vec<(Field, usize)> = [Field::Number, Field::Ean]
            .into_iter()
            .filter_map(|f| mapping.column(f).map(|c| (f, c)))
            .collect();
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(true)
            .delimiter(delimiter)
            .buffer_capacity(256 * 1024)
            .from_path(path)
            .ok()?;
        let mut filter = Filter::new();
        let mut record = csv::ByteRecord::new();
        loop {
            match reader.read_byte_record(&mut record) {
                Ok(true) => {}
                Ok(false) => break,
                // The validating pass reports what is wrong with the file.
                Err(_) => break,
            }
            std::str::from_utf8(record.as_slice()).ok()?;
            for &(field, col) in &columns {
                let Some(bytes) = record.get(col) else {
                    continue;
                };
                let text = std::str::from_utf8(bytes).ok()?;
                let Some(text) = key_text_of_str(text) else {
                    continue;
                };
                filter.add(hasher.hash(field, &text));
            }
        }
        Some(filter.candidates())
    }

    /// Whether a key with this hash might repeat (else it is unique in the file).
    pub fn contains(&self, hash: u64) -> bool {
        self.hashes.contains(&hash)
    }

    /// How many keys might repeat.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.hashes.len()
    }
}

/// How many keys wait to go into the filter together (see [`Filter::add`]).
const PENDING: usize = 64;

/// The Bloom filter of the keys seen so far, and the keys that were in it
/// already when they came again.
struct Filter {
    bits: Vec<u64>,
    repeats: HashSet<u64>,
    pending: Vec<u64>,
}

impl Filter {
    fn new() -> Filter {
        Filter {
            bits: vec![0u64; (FILTER_BITS / 64) as usize],
            repeats: HashSet::new(),
            pending: Vec::with_capacity(PENDING),
        }
    }

    /// Adds the key with this hash. Keys go in [`PENDING`] at a time, in
    /// the order they came: each costs a cache miss, and a tight loop of
    /// independent ones lets the processor wait for many at once.
    fn add(&mut self, hash: u64) {
        self.pending.push(hash);
        if self.pending.len() == PENDING {
            self.insert_pending();
        }
    }

    fn insert_pending(&mut self) {
        for &hash in &self.pending {
            if insert(&mut self.bits, hash) {
                self.repeats.insert(hash);
            }
        }
        self.pending.clear();
    }

    /// The keys that might repeat.
    fn candidates(mut self) -> RepeatCandidates {
        self.insert_pending();
        RepeatCandidates {
            hashes: self.repeats,
        }
    }
}

/// Words of one block of the filter: 512 bits, one cache line.
const BLOCK_WORDS: u64 = 8;

/// Sets the key's bits; true when they all were set already (seen before, or
/// a false alarm). The bits of one key lie in one block of 512 bits chosen
/// by the hash's high bits, so that a key costs one cache miss, not one per
/// probe; the low bits choose the bits in the block.
fn insert(filter: &mut [u64], hash: u64) -> bool {
    let blocks = FILTER_BITS / 64 / BLOCK_WORDS;
    let block = ((hash >> 40) % blocks * BLOCK_WORDS) as usize;
    let words = &mut filter[block..block + BLOCK_WORDS as usize];
    let mut all_set = true;
    for i in 0..PROBES {
        let bit = (hash >> (i * 9)) & 511;
        let (word, mask) = ((bit / 64) as usize, 1u64 << (bit % 64));
        all_set &= words[word] & mask != 0;
        words[word] |= mask;
    }
    all_set
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn row(number: u64, cells: &[&str]) -> Result<SourceRow, ReadError> {
        Ok(SourceRow {
            number,
            cells: cells.iter().map(|c| Cell::Text(c.to_string())).collect(),
            width: cells.len(),
        })
    }

    #[test]
    fn repeated_keys_are_candidates_and_unique_ones_mostly_not() {
        let headers = vec!["name".to_string(), "number".to_string(), "ean".to_string()];
        let mapping = ColumnMapping::build(Path::new("f"), &headers, None).unwrap();
        let hasher = KeyHasher::default();
        let mut rows: Vec<_> = (0..10_000)
            .map(|i| row(i + 2, &["A", &format!("N{i}"), ""]))
            .collect();
        rows.push(row(10_002, &["B", " N17 ", "96385074"]));
        rows.push(row(10_003, &["C", "X", "96385074"]));
        let candidates = RepeatCandidates::scan(rows.into_iter(), &mapping, &hasher);
        assert!(candidates.contains(hasher.hash(Field::Number, "N17")));
        assert!(candidates.contains(hasher.hash(Field::Ean, "96385074")));
        assert!(!candidates.contains(hasher.hash(Field::Number, "N18")));
        // A number equal to a barcode is no repeat: the fields are apart.
        assert!(!candidates.contains(hasher.hash(Field::Number, "96385074")));
        assert!(candidates.len() < 10, "{}", candidates.len());
    }

    #[test]
    fn the_fast_utf8_scan_finds_the_same_candidates() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.csv");
        let mut text = String::from("\u{FEFF}name;number;ean\n");
        for i in 0..2000 {
            text.push_str(&format!("P{i};\" N{i} \";\n\n"));
        }
        text.push_str("X;N7;96385074\nY;Z;96385074\n\"multi\nline\";N9;\n");
        std::fs::write(&path, &text).unwrap();
        let headers = vec!["name".to_string(), "number".to_string(), "ean".to_string()];
        let mapping = ColumnMapping::build(Path::new("f"), &headers, None).unwrap();
        let hasher = KeyHasher::default();
        let fast = RepeatCandidates::scan_utf8_csv(&path, b';', &mapping, &hasher).unwrap();
        let table = crate::read::open(&path, &Default::default()).unwrap();
        let general = RepeatCandidates::scan(table.rows, &mapping, &hasher);
        assert_eq!(fast.hashes, general.hashes);
        assert!(fast.contains(hasher.hash(Field::Number, "N7")));
        assert!(fast.contains(hasher.hash(Field::Number, "N9")));
        assert!(fast.contains(hasher.hash(Field::Ean, "96385074")));

        std::fs::write(&path, b"name;number\nA;\xE6\n").unwrap();
        assert!(RepeatCandidates::scan_utf8_csv(&path, b';', &mapping, &hasher).is_none());
    }

    #[test]
    fn key_text_is_what_validation_sends() {
        assert_eq!(
            key_text(&Cell::Number(7038010055690.0)).unwrap(),
            "7038010055690"
        );
        assert_eq!(key_text(&Cell::Text("'=A1 ".into())).unwrap(), "=A1");
        assert!(key_text(&Cell::Text("  ".into())).is_none());
        assert!(key_text(&Cell::Error("#N/A".into())).is_none());
    }
}
