//! Turning a source row into a validated create-product payload, or into the
//! full list of what is wrong with it.
//!
//! [`Validator`] drives it and finds duplicate numbers and barcodes;
//! [`rules`] is what a row is read by (the options, the decimal marks
//! learned); [`checks`] reads one row's cells, field by field, and [`controls`] holds
//! the control-character rule; [`problems`] is what is wrong, as data; and
//! [`draft`] the validated row.

mod category;
mod checks;
mod controls;
mod draft;
mod problems;
mod rules;

use std::collections::HashMap;

use crate::duplicates::{KeyHasher, RepeatCandidates};
use crate::mapping::{ColumnMapping, Field};
use crate::read::SourceRow;

use checks::RowCheck;
pub use draft::{Draft, PreparedRow, Reference};
pub use problems::{Problem, ProblemKind, ProblemTable};
use rules::RowRules;
pub use rules::ValidateOptions;
// A line of a `ProblemTable`, at its old path though no caller names it yet.
#[allow(unused_imports)]
pub use problems::ProblemGroup;

/// How many rows are read ahead to learn each number column's decimal mark.
pub const LEARN_ROWS: usize = 1000;

/// Turns source rows into [`PreparedRow`]s: interprets each mapped cell,
/// checks the vendor's limits, and finds duplicate numbers and barcodes.
pub struct Validator {
    /// What a row's check reads its cells by.
    rules: RowRules,
    /// The keys seen so far.
    repeats: Repeats,
    /// Whether drafts keep the payload's texts (see [`Validator::without_payloads`]).
    payloads: bool,
}

impl Validator {
    /// A validator for files whose columns map as `mapping` says.
    pub fn new(mapping: ColumnMapping, options: ValidateOptions) -> Validator {
        Validator {
            rules: RowRules::new(mapping, options),
            repeats: Repeats {
                seen: HashMap::default(),
                hasher: KeyHasher::default(),
                candidates: None,
            },
            payloads: true,
        }
    }

    /// From now on the drafts' products are only placeholders: each text
    /// field that has a value holds an empty string (no copy of the text is
    /// made), the other fields are as they would be. For a consumer that
    /// only needs the rows' outcomes and notes (`validate` without
    /// `--payloads`).
    pub fn without_payloads(&mut self) {
        self.payloads = false;
    }

    /// Learns each number column's decimal mark from the text of `row`
    /// (`1 234,50` says comma, `12.5` says point).
    pub fn learn(&mut self, row: &SourceRow) {
        self.rules.learn(row);
    }

    /// Validates one row. `row` must not be empty (callers skip and count those).
    #[cfg(test)]
    pub fn validate(&mut self, row: SourceRow) -> PreparedRow {
        self.validate_shaped(row, &[])
    }

    /// Validates one row whose variant model gives `overrides` (see
    /// [`crate::preset::shape`]): they win over the row's own cells.
    pub fn validate_shaped(
        &mut self,
        row: SourceRow,
        overrides: &[(Field, String)],
    ) -> PreparedRow {
        self.learn(&row);
        let mut check = RowCheck {
            rules: &self.rules,
            row: &row,
            overrides,
            problems: Vec::new(),
            notes: Vec::new(),
            has_number: false,
            payloads: self.payloads,
            keys: [None, None],
        };
        let mut draft = check.build();
        draft.notes = std::mem::take(&mut check.notes);
        let mut problems = check.problems;
        let [number, ean] = check.keys;
        // In the order of the columns, as a user reads the row.
        let headers = &self.rules.mapping.headers;
        problems.sort_by_key(|p| {
            p.shown_column()
                .and_then(|c| headers.iter().position(|h| h == c))
                .unwrap_or(usize::MAX)
        });
        if problems.is_empty() {
            let keys = [number.as_deref(), ean.as_deref()];
            self.repeats
                .check(&self.rules, row.number, keys, &mut problems);
        }
        let outcome = if problems.is_empty() {
            Ok(draft)
        } else {
            Err(problems)
        };
        PreparedRow {
            row: row.number,
            cells: row.cells.into_texts(),
            outcome,
        }
    }

    /// Tracks only the keys in `candidates` from now on: every other key is
    /// known to be unique in the file (see [`RepeatCandidates`]).
    pub fn limit_tracking_to(&mut self, candidates: RepeatCandidates) {
        self.repeats.candidates = Some(candidates);
    }

    /// The hasher both passes use for keys.
    pub fn key_hasher(&self) -> &KeyHasher {
        &self.repeats.hasher
    }
}

/// The product numbers and barcodes of the valid rows so far.
struct Repeats {
    /// First row of each key seen (hash of field and text → row).
    seen: HashMap<u64, u64, NoHash>,
    hasher: KeyHasher,
    /// When known, the only keys that might repeat; others are not tracked.
    candidates: Option<RepeatCandidates>,
}

impl Repeats {
    /// Checks the row's product number and barcode (`keys`) against the
    /// rows before; a row without problems then counts as their first.
    fn check(
        &mut self,
        rules: &RowRules,
        row: u64,
        [number, ean]: [Option<&str>; 2],
        problems: &mut Vec<Problem>,
    ) {
        let keys = [
            (Field::Number, number, "product number"),
            (Field::Ean, ean, "barcode"),
        ];
        let mut new_keys = [None, None];
        for (i, (field, value, what)) in keys.into_iter().enumerate() {
            let Some(value) = value else { continue };
            let hash = self.hasher.hash(field, value);
            if self.candidates.as_ref().is_some_and(|c| !c.contains(hash)) {
                continue;
            }
            match self.seen.get(&hash) {
                Some(first) => problems.push(Problem {
                    row,
                    column: rules.column_name(field),
                    value: Some(value.to_string()),
                    kind: ProblemKind::Duplicate,
                    message: format!("is also on row {first}; each {what} may appear only once"),
                }),
                None => new_keys[i] = Some(hash),
            }
        }
        if problems.is_empty() {
            for hash in new_keys.into_iter().flatten() {
                self.seen.insert(hash, row);
            }
        }
    }
}

/// A hasher for keys that already are hashes.
#[derive(Default, Clone, Copy)]
struct NoHash;

impl std::hash::BuildHasher for NoHash {
    type Hasher = NoHashHasher;
    fn build_hasher(&self) -> NoHashHasher {
        NoHashHasher(0)
    }
}

/// See [`NoHash`].
struct NoHashHasher(u64);

impl std::hash::Hasher for NoHashHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 << 8) | u64::from(*b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::mapping::MappingFile;

    pub(super) fn validator(headers: &[&str], mapping: Option<&str>) -> Validator {
        let headers: Vec<String> = headers.iter().map(|s| s.to_string()).collect();
        let file: Option<MappingFile> = mapping.map(|m| toml::from_str(m).unwrap());
        let mapping = ColumnMapping::build(
            Path::new("t.csv"),
            &headers,
            file.as_ref().map(|f| (Path::new("m.toml"), f)),
        )
        .unwrap();
        Validator::new(mapping, ValidateOptions::default())
    }

    pub(super) fn row(number: u64, cells: &[&str]) -> SourceRow {
        SourceRow::of_texts(number, cells)
    }

    pub(super) fn errors(p: &PreparedRow) -> Vec<String> {
        match &p.outcome {
            Ok(_) => Vec::new(),
            Err(problems) => problems.iter().map(ToString::to_string).collect(),
        }
    }

    #[test]
    fn learned_decimal_mark_decides_ambiguous_values() {
        let mut v = validator(&["name", "price", "category.id"], None);
        v.learn(&row(3, &["B", "12,50", "1"]));
        let p = v.validate(row(2, &["A", "1,234", "1"]));
        assert_eq!(p.outcome.unwrap().product.sales_price, Some(1.234));

        let mut v = validator(&["name", "price", "category.id"], None);
        let p = v.validate(row(2, &["A", "1,234", "1"]));
        assert_eq!(
            errors(&p),
            vec![
                "column \"price\": \"1,234\" could be read as 1234 or 1.234; use --decimal comma|point to decide"
            ]
        );
    }

    #[test]
    fn duplicates_name_the_first_row_and_only_count_valid_rows() {
        let mut v = validator(&["name", "number", "ean", "category.id"], None);
        assert!(v.validate(row(2, &["", "N1", "", "1"])).outcome.is_err());
        assert!(v
            .validate(row(3, &["A", "N1", "96385074", "1"]))
            .outcome
            .is_ok());
        let dup = v.validate(row(4, &["B", "N1", "96385074", "1"]));
        assert_eq!(
            errors(&dup),
            vec![
                "column \"number\": \"N1\" is also on row 3; each product number may appear only once",
                "column \"ean\": \"96385074\" is also on row 3; each barcode may appear only once",
            ]
        );
    }
}
