//! Guards against a bad feed, checked over the whole file before anything is
//! written: a validation pass counts valid and invalid rows ([`Census`]) and
//! notes the numbers and EANs the file holds (for `--missing`); then
//! `--min-rows` and `--max-invalid` decide whether the run may go on.

use std::collections::HashSet;

use crate::api::types::ProductStatus;
use crate::cli::InputPlan;
pub use crate::cli::Threshold;
use crate::mapping::{ColumnMapping, ColumnRole, Field};
use crate::prepare::{prepare, PrepareError};

/// `--min-rows` and `--max-invalid`, checked.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Guards {
    /// Fewer valid rows stop the run.
    pub min_rows: Option<u64>,
    /// More invalid rows stop the run.
    pub max_invalid: Option<Threshold>,
}

impl Guards {
    /// Whether any guard is set.
    pub fn any(&self) -> bool {
        self.min_rows.is_some() || self.max_invalid.is_some()
    }

    /// Checks the counts: `Err` says what was found against what was required.
    pub fn check(&self, census: &Census) -> Result<(), GuardTripped> {
        if let Some(min) = self.min_rows {
            if census.valid < min {
                return Err(GuardTripped(format!(
                    "the file has {} valid rows ({} rows, {} invalid); at least {min} are required (--min-rows {min})",
                    census.valid,
                    census.rows(),
                    census.invalid
                )));
            }
        }
        if let Some(max) = self.max_invalid {
            let limit = max.limit(census.rows());
            if census.invalid > limit {
                return Err(GuardTripped(format!(
                    "the file has {} invalid rows of {}; at most {limit} are allowed (--max-invalid {max})",
                    census.invalid,
                    census.rows()
                )));
            }
        }
        Ok(())
    }
}

/// A guard stopped the run before anything was written.
#[derive(Debug, thiserror::Error)]
#[error("stopped before sending anything: {0}")]
pub struct GuardTripped(pub String);

/// What a validation pass over the whole file found.
#[derive(Debug, Clone, Default)]
pub struct Census {
    /// Valid rows.
    pub valid: u64,
    /// Invalid rows.
    pub invalid: u64,
    /// Product numbers in the file (valid rows, and invalid rows whose
    /// number cell is filled: a row with a typo elsewhere is not "missing").
    pub numbers: HashSet<String>,
    /// EANs in the file (valid rows).
    pub eans: HashSet<String>,
    /// Numbers of rows that set `status` to inactive themselves.
    pub inactive: HashSet<String>,
}

impl Census {
    /// Data rows.
    pub fn rows(&self) -> u64 {
        self.valid + self.invalid
    }

    /// Reads and validates the whole input. A read error part way is an
    /// error: the file cannot be judged.
    pub fn take(input: &InputPlan) -> Result<Census, PrepareError> {
        let prepared = prepare(input)?;
        let number_cell = number_cell(&prepared.mapping);
        let mut census = Census::default();
        for row in prepared.rows {
            let row = row?;
            match &row.outcome {
                Ok(draft) => {
                    census.valid += 1;
                    let p = &draft.product;
                    if let Some(n) = p.number.as_ref().filter(|n| !n.trim().is_empty()) {
                        census.numbers.insert(n.clone());
                        if p.status == Some(ProductStatus::Inactive) {
                            census.inactive.insert(n.clone());
                        }
                    }
                    if let Some(e) = p.ean.as_ref().filter(|e| !e.trim().is_empty()) {
                        census.eans.insert(e.clone());
                    }
                }
                Err(_) => {
                    census.invalid += 1;
                    if let Some(n) = number_cell
                        .and_then(|i| row.cells.get(i))
                        .map(|c| c.trim())
                        .filter(|c| !c.is_empty())
                    {
                        census.numbers.insert(n.to_string());
                    }
                }
            }
        }
        Ok(census)
    }
}

/// Where the number column is among the cells a row keeps (the cells of
/// the results file), if the file has one.
pub fn number_cell(mapping: &ColumnMapping) -> Option<usize> {
    kept_cell(mapping, Field::Number)
}

/// Where the column of `field` is among the cells a row keeps, if the file
/// has one.
pub fn kept_cell(mapping: &ColumnMapping, field: Field) -> Option<usize> {
    mapping.column(field).map(|col| {
        mapping.roles[..col]
            .iter()
            .filter(|r| **r != ColumnRole::ResultsColumn)
            .count()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guards_say_found_against_required() {
        let census = Census {
            valid: 8,
            invalid: 2,
            ..Census::default()
        };
        let g = Guards {
            min_rows: Some(9),
            max_invalid: None,
        };
        let e = g.check(&census).unwrap_err().to_string();
        assert!(
            e.contains("8 valid rows") && e.contains("at least 9"),
            "{e}"
        );
        let g = Guards {
            min_rows: Some(8),
            max_invalid: Some(Threshold::Percent(10.0)),
        };
        let e = g.check(&census).unwrap_err().to_string();
        assert!(
            e.contains("2 invalid rows of 10") && e.contains("at most 1"),
            "{e}"
        );
        let g = Guards {
            min_rows: Some(8),
            max_invalid: Some(Threshold::Count(2)),
        };
        assert!(g.check(&census).is_ok());
    }
}
