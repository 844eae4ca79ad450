//! Guards against a bad feed, checked over the whole file before anything is
//! written: a validation pass counts valid and invalid rows ([`Census`]) and
//! notes the numbers and EANs the file holds (for `--missing`); then
//! `--min-rows` and `--max-invalid` decide whether the run may go on.

use std::collections::HashSet;
use std::fmt;
use std::str::FromStr;

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

use crate::api::types::ProductStatus;
use crate::cli::InputPlan;
use crate::mapping::{ColumnMapping, ColumnRole, Field};
use crate::prepare::{prepare, PrepareError};

/// A limit given as a count (`5`) or a share (`2%`, `0.5%`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Threshold {
    /// At most this many.
    Count(u64),
    /// At most this percentage of a whole.
    Percent(f64),
}

impl Threshold {
    /// The largest number allowed out of `whole` (a share rounds down).
    pub fn limit(self, whole: u64) -> u64 {
        match self {
            Threshold::Count(n) => n,
            Threshold::Percent(p) => (whole as f64 * p / 100.0 + 1e-9).floor() as u64,
        }
    }
}

impl fmt::Display for Threshold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Threshold::Count(n) => write!(f, "{n}"),
            Threshold::Percent(p) => write!(f, "{p}%"),
        }
    }
}

impl FromStr for Threshold {
    type Err = String;

    fn from_str(s: &str) -> Result<Threshold, String> {
        let s = s.trim();
        let bad = || format!("\"{s}\" is not a count (like 5) or a percentage (like 2%)");
        match s.strip_suffix('%') {
            Some(p) => {
                let p: f64 = p.trim().parse().map_err(|_| bad())?;
                if p.is_finite() && (0.0..=100.0).contains(&p) {
                    Ok(Threshold::Percent(p))
                } else {
                    Err(format!("\"{s}\": a percentage is between 0% and 100%"))
                }
            }
            None => s.parse().map(Threshold::Count).map_err(|_| bad()),
        }
    }
}

/// In the config file: `max_invalid = 5` or `max_invalid = "2%"`.
impl<'de> Deserialize<'de> for Threshold {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Threshold, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Threshold;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a count like 5 or a percentage like \"2%\"")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Threshold, E> {
                u64::try_from(v)
                    .map(Threshold::Count)
                    .map_err(|_| E::custom("a count is not negative"))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Threshold, E> {
                Ok(Threshold::Count(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Threshold, E> {
                v.parse().map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

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
    mapping.column(Field::Number).map(|col| {
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
    fn thresholds_parse_and_limit() {
        assert_eq!("5".parse::<Threshold>(), Ok(Threshold::Count(5)));
        assert_eq!(" 2.5% ".parse::<Threshold>(), Ok(Threshold::Percent(2.5)));
        assert!("-1".parse::<Threshold>().is_err());
        assert!("150%".parse::<Threshold>().is_err());
        assert!("many".parse::<Threshold>().is_err());
        assert_eq!(Threshold::Percent(10.0).limit(25), 2);
        assert_eq!(Threshold::Percent(10.0).limit(30), 3);
        assert_eq!(Threshold::Count(4).limit(1), 4);
        #[derive(Deserialize)]
        struct T {
            a: Threshold,
            b: Threshold,
        }
        let t: T = toml::from_str("a = 3\nb = \"1%\"").unwrap();
        assert_eq!((t.a, t.b), (Threshold::Count(3), Threshold::Percent(1.0)));
    }

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
