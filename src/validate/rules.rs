//! What a row's check reads its cells by: the mapping, the options
//! ([`ValidateOptions`]) and the decimal marks learned from the rows so far
//! ([`RowRules`]). Below the other files of the folder, so that the checks
//! read them from here while [`Validator`](super::Validator) drives them.

use crate::cell::CellRef;
use crate::mapping::{ColumnMapping, Field, FieldKind};
use crate::read::SourceRow;
use crate::values::{self, DecimalMark};

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

/// The rules a row is read by, for [`RowCheck`](super::checks::RowCheck).
pub(super) struct RowRules {
    pub(super) mapping: ColumnMapping,
    pub(super) options: ValidateOptions,
    /// Texts over their limit are cut (`--long-text cut`).
    pub(super) cut_long_text: bool,
    /// Bad optional codes are left out (`--bad-optional omit`).
    pub(super) omit_bad_optional: bool,
    /// Per input column: (comma evidence, point evidence) seen so far.
    evidence: Vec<(u32, u32)>,
    /// The columns of amounts and quantities, whose decimal mark is learned.
    number_columns: Vec<usize>,
}

impl RowRules {
    /// The rules for files whose columns map as `mapping` says.
    pub(super) fn new(mapping: ColumnMapping, options: ValidateOptions) -> RowRules {
        let width = mapping.headers.len();
        let number_columns = Field::ALL
            .into_iter()
            .filter(|f| matches!(f.kind(), FieldKind::Amount | FieldKind::Quantity))
            .filter_map(|f| mapping.column(f))
            .collect();
        RowRules {
            number_columns,
            cut_long_text: options.cuts_long_text(&mapping),
            omit_bad_optional: options.omits_bad_optional(&mapping),
            mapping,
            options,
            evidence: vec![(0, 0); width],
        }
    }

    /// Learns each number column's decimal mark from the text of `row`
    /// (`1 234,50` says comma, `12.5` says point).
    pub(super) fn learn(&mut self, row: &SourceRow) {
        if self.options.decimal.is_some() {
            return;
        }
        for &col in &self.number_columns {
            if self.evidence[col] != (0, 0) {
                // Decided (or contradicted) already: more evidence changes nothing
                // for a decided column, and a contradicted one stays undecided.
                continue;
            }
            if let Some(CellRef::Text(text)) = row.cells.get(col) {
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
    pub(super) fn decimal_for(&self, col: Option<usize>) -> Option<DecimalMark> {
        if self.options.decimal.is_some() {
            return self.options.decimal;
        }
        match col.map(|c| self.evidence[c]) {
            Some((c, 0)) if c > 0 => Some(DecimalMark::Comma),
            Some((0, p)) if p > 0 => Some(DecimalMark::Point),
            _ => None,
        }
    }

    /// The column `field` is read from, as its header names it (its path
    /// when it is not mapped to a column).
    pub(super) fn column_name(&self, field: Field) -> Option<String> {
        Some(match self.mapping.column(field) {
            Some(col) => self.mapping.headers[col].clone(),
            None => field.path().to_string(),
        })
    }
}
