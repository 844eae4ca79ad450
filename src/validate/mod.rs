//! Turning a source row into a validated create-product payload, or into the
//! full list of what is wrong with it.
//!
//! [`Validator`] drives it and finds duplicate numbers and barcodes;
//! [`checks`] reads one row's cells, field by field, and [`controls`] holds
//! the control-character rule; [`problems`] is what is wrong, as data; and
//! [`draft`] the validated row.

mod category;
mod checks;
mod controls;
mod draft;
mod problems;

use std::collections::HashMap;

use crate::api::types::NewProduct;
use crate::cell::Cell;
use crate::duplicates::{KeyHasher, RepeatCandidates};
use crate::mapping::{ColumnMapping, Field, FieldKind};
use crate::read::SourceRow;
use crate::values::{self, DecimalMark};

use checks::RowCheck;
pub use draft::{Draft, PreparedRow, Reference};
pub use problems::{Problem, ProblemKind, ProblemTable};
// A line of a `ProblemTable`, at its old path though no caller names it yet.
#[allow(unused_imports)]
pub use problems::ProblemGroup;

/// Options that change how cells are read.
#[derive(Debug, Clone, Copy, Default)]
pub struct ValidateOptions {
    /// Decimal mark for values that could be read two ways (`--decimal`).
    pub decimal: Option<DecimalMark>,
    /// `--html keep`: descriptions are sent as written, HTML tags and all.
    pub keep_html: bool,
    /// `--long-text`: cut (true) or refuse (false) a text over its field's
    /// limit; `None` cuts for a platform's export and refuses otherwise.
    pub cut_long_text: Option<bool>,
    /// `--bad-optional`: leave out (true) or refuse (false) a bad barcode or
    /// alternative EAN of a row that has a product number; `None` leaves it
    /// out for a platform's export and refuses otherwise.
    pub omit_bad_optional: Option<bool>,
}

impl ValidateOptions {
    /// Whether long texts are cut for a file read with `mapping`.
    pub fn cuts_long_text(&self, mapping: &ColumnMapping) -> bool {
        self.cut_long_text
            .unwrap_or_else(|| mapping.preset.is_some_and(|p| p.is_platform()))
    }

    /// Whether bad optional values are left out for a file read with `mapping`.
    pub fn omits_bad_optional(&self, mapping: &ColumnMapping) -> bool {
        self.omit_bad_optional
            .unwrap_or_else(|| mapping.preset.is_some_and(|p| p.is_platform()))
    }
}

/// How many rows are read ahead to learn each number column's decimal mark.
pub const LEARN_ROWS: usize = 1000;

/// Turns source rows into [`PreparedRow`]s: interprets each mapped cell,
/// checks the vendor's limits, and finds duplicate numbers and barcodes.
pub struct Validator {
    mapping: ColumnMapping,
    options: ValidateOptions,
    /// Texts over their limit are cut (`--long-text cut`).
    cut_long_text: bool,
    /// Bad optional codes are left out (`--bad-optional omit`).
    omit_bad_optional: bool,
    /// Per input column: (comma evidence, point evidence) seen so far.
    evidence: Vec<(u32, u32)>,
    /// The columns of amounts and quantities, whose decimal mark is learned.
    number_columns: Vec<usize>,
    /// First row of each key seen (hash of field and text → row).
    seen: HashMap<u64, u64, NoHash>,
    hasher: KeyHasher,
    /// When known, the only keys that might repeat; others are not tracked.
    candidates: Option<RepeatCandidates>,
    /// The buffer a row's check reads numbers and words into, kept for the next row.
    spare: String,
}

impl Validator {
    /// A validator for files whose columns map as `mapping` says.
    pub fn new(mapping: ColumnMapping, options: ValidateOptions) -> Validator {
        let width = mapping.headers.len();
        let number_columns = Field::ALL
            .into_iter()
            .filter(|f| matches!(f.kind(), FieldKind::Amount | FieldKind::Quantity))
            .filter_map(|f| mapping.column(f))
            .collect();
        Validator {
            number_columns,
            cut_long_text: options.cuts_long_text(&mapping),
            omit_bad_optional: options.omits_bad_optional(&mapping),
            mapping,
            options,
            evidence: vec![(0, 0); width],
            seen: HashMap::default(),
            hasher: KeyHasher::default(),
            candidates: None,
            spare: String::new(),
        }
    }

    /// Learns each number column's decimal mark from the text of `row`
    /// (`1 234,50` says comma, `12.5` says point).
    pub fn learn(&mut self, row: &SourceRow) {
        if self.options.decimal.is_some() {
            return;
        }
        for &col in &self.number_columns {
            if self.evidence[col] != (0, 0) {
                // Decided (or contradicted) already: more evidence changes nothing
                // for a decided column, and a contradicted one stays undecided.
                continue;
            }
            if let Some(Cell::Text(text)) = row.cells.get(col) {
                match values::decimal_evidence(text) {
                    Some(DecimalMark::Comma) => self.evidence[col].0 += 1,
                    Some(DecimalMark::Point) => self.evidence[col].1 += 1,
                    None => {}
                }
            }
        }
    }

    /// The decimal mark for a column: `--decimal`, else what its other values
    /// say when they agree.
    fn decimal_for(&self, col: Option<usize>) -> Option<DecimalMark> {
        if self.options.decimal.is_some() {
            return self.options.decimal;
        }
        match col.map(|c| self.evidence[c]) {
            Some((c, 0)) if c > 0 => Some(DecimalMark::Comma),
            Some((0, p)) if p > 0 => Some(DecimalMark::Point),
            _ => None,
        }
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
        let spare = std::cell::Cell::new(std::mem::take(&mut self.spare));
        let mut check = RowCheck {
            validator: self,
            row: &row,
            overrides,
            problems: Vec::new(),
            notes: Vec::new(),
            has_number: false,
            spare,
        };
        let mut draft = check.build();
        draft.notes = std::mem::take(&mut check.notes);
        let spare = check.spare.take();
        let mut problems = check.problems;
        self.spare = spare;
        // In the order of the columns, as a user reads the row.
        let headers = &self.mapping.headers;
        problems.sort_by_key(|p| {
            p.shown_column()
                .and_then(|c| headers.iter().position(|h| h == c))
                .unwrap_or(usize::MAX)
        });
        if problems.is_empty() {
            self.check_duplicates(row.number, &draft.product, &mut problems);
        }
        let outcome = if problems.is_empty() {
            Ok(draft)
        } else {
            Err(problems)
        };
        let cells = row
            .cells
            .into_iter()
            .map(|c| match c {
                Cell::Text(s) => s,
                other => other.text().into_owned(),
            })
            .collect();
        PreparedRow {
            row: row.number,
            cells,
            outcome,
        }
    }

    /// Tracks only the keys in `candidates` from now on: every other key is
    /// known to be unique in the file (see [`RepeatCandidates`]).
    pub fn limit_tracking_to(&mut self, candidates: RepeatCandidates) {
        self.candidates = Some(candidates);
    }

    /// The hasher both passes use for keys.
    pub fn key_hasher(&self) -> &KeyHasher {
        &self.hasher
    }

    fn check_duplicates(&mut self, row: u64, product: &NewProduct, problems: &mut Vec<Problem>) {
        let keys = [
            (Field::Number, product.number.as_deref(), "product number"),
            (Field::Ean, product.ean.as_deref(), "barcode"),
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
                    column: self.column_name(field),
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

    fn column_name(&self, field: Field) -> Option<String> {
        Some(match self.mapping.column(field) {
            Some(col) => self.mapping.headers[col].clone(),
            None => field.path().to_string(),
        })
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
        SourceRow {
            number,
            cells: cells
                .iter()
                .map(|c| {
                    if c.is_empty() {
                        Cell::Empty
                    } else {
                        Cell::Text(c.to_string())
                    }
                })
                .collect(),
            width: cells.len(),
        }
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
