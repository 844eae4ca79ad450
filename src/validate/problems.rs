//! Problems as data: what is wrong with a row, where, and the table of them
//! that `validate` ends with.

use std::fmt;

use serde::{Deserialize, Serialize};

/// What kind of problem a [`Problem`] is, for grouping and for the notes of
/// an .xlsx results file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProblemKind {
    /// A required value is missing (the name).
    Empty,
    /// No category in the row, its columns or the mapping's constants.
    NoCategory,
    /// Longer than the API accepts.
    TooLong,
    /// Not a number, or not a finite one.
    NotANumber,
    /// A number that could be read two ways (`1,234`).
    AmbiguousDecimal,
    /// A negative amount.
    Negative,
    /// Not a valid GTIN/EAN barcode.
    Barcode,
    /// Not digits only.
    NotDigits,
    /// Not yes/no.
    NotYesNo,
    /// Not one of the allowed words (type, status).
    NotAllowed,
    /// Not a positive whole number id.
    NotAnId,
    /// A spreadsheet date where text or a number is needed.
    DateCell,
    /// A spreadsheet error value (`#N/A`).
    ErrorCell,
    /// The same number or barcode as an earlier row.
    Duplicate,
    /// More or fewer cells than the header.
    RowShape,
    /// A control character (NUL, DEL, C0 or C1) in the cell.
    ControlCharacter,
    /// A category, unit or supplier name the API does not know (import).
    UnknownName,
    /// A category, unit or supplier name that several records answer to (import).
    AmbiguousName,
    /// A name the API client may not look up: a scope is missing (import).
    MissingScope,
    /// An emptied price cell whose product holds a price (import, update).
    EmptiedPrice,
}

impl ProblemKind {
    /// A short label, for tables.
    pub fn label(self) -> &'static str {
        match self {
            ProblemKind::Empty => "empty",
            ProblemKind::NoCategory => "no category",
            ProblemKind::TooLong => "too long",
            ProblemKind::NotANumber => "not a number",
            ProblemKind::AmbiguousDecimal => "ambiguous decimal",
            ProblemKind::Negative => "negative",
            ProblemKind::Barcode => "bad barcode",
            ProblemKind::NotDigits => "not digits only",
            ProblemKind::NotYesNo => "not yes/no",
            ProblemKind::NotAllowed => "not an allowed value",
            ProblemKind::NotAnId => "not an id",
            ProblemKind::DateCell => "date cell",
            ProblemKind::ErrorCell => "error cell",
            ProblemKind::Duplicate => "duplicate",
            ProblemKind::RowShape => "wrong cell count",
            ProblemKind::ControlCharacter => "control character",
            ProblemKind::UnknownName => "unknown name",
            ProblemKind::AmbiguousName => "ambiguous name",
            ProblemKind::MissingScope => "missing scope",
            ProblemKind::EmptiedPrice => "emptied price",
        }
    }
}

impl fmt::Display for ProblemKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// One problem with one row, as data: where it is, what was written and
/// what is wrong. Its text ([`Display`](fmt::Display)) is what the results
/// file says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// Spreadsheet row number.
    pub row: u64,
    /// The column header as written in the file (or the field, for mapping
    /// constants); for a missing category, the category column whose cell is
    /// empty, when there is one.
    pub column: Option<String>,
    /// The offending value as written.
    pub value: Option<String>,
    /// What kind of problem.
    pub kind: ProblemKind,
    /// What is wrong, in words a spreadsheet user understands.
    pub message: String,
}

impl Problem {
    /// The column the text names: a missing category's message says which
    /// columns to fill, so it names none.
    pub(super) fn shown_column(&self) -> Option<&str> {
        match self.kind {
            ProblemKind::NoCategory => None,
            _ => self.column.as_deref(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.shown_column(), &self.value) {
            (Some(c), Some(v)) => write!(f, "column \"{c}\": \"{v}\" {}", self.message),
            (Some(c), None) => write!(f, "column \"{c}\": {}", self.message),
            (None, _) => f.write_str(&self.message),
        }
    }
}

/// Problems counted by column and kind, for the table `validate` ends with.
/// Memory is bounded by the number of distinct (column, kind) pairs.
#[derive(Debug, Clone, Default)]
pub struct ProblemTable {
    groups: Vec<ProblemGroup>,
}

/// One line of a [`ProblemTable`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProblemGroup {
    /// The column as written in the file; `None` for problems of the whole row.
    pub column: Option<String>,
    /// The kind of problem.
    pub kind: ProblemKind,
    /// How many times it occurs.
    pub count: u64,
    /// The first rows it occurs on, at most [`ProblemTable::ROWS_SHOWN`].
    pub rows: Vec<u64>,
}

impl ProblemTable {
    /// How many row numbers a line shows.
    pub const ROWS_SHOWN: usize = 5;

    /// Counts the problems of one row.
    pub fn add(&mut self, problems: &[Problem]) {
        for p in problems {
            let i = match self
                .groups
                .iter()
                .position(|g| g.kind == p.kind && g.column == p.column)
            {
                Some(i) => i,
                None => {
                    self.groups.push(ProblemGroup {
                        column: p.column.clone(),
                        kind: p.kind,
                        count: 0,
                        rows: Vec::new(),
                    });
                    self.groups.len() - 1
                }
            };
            let g = &mut self.groups[i];
            g.count += 1;
            if g.rows.len() < Self::ROWS_SHOWN && g.rows.last() != Some(&p.row) {
                g.rows.push(p.row);
            }
        }
    }

    /// The lines, most frequent first.
    pub fn groups(&self) -> Vec<&ProblemGroup> {
        let mut out: Vec<&ProblemGroup> = self.groups.iter().collect();
        out.sort_by_key(|g| std::cmp::Reverse(g.count));
        out
    }

    /// True when no problem was counted.
    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }
}

impl fmt::Display for ProblemTable {
    /// A compact table: column, problem, count, first rows.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let groups = self.groups();
        let column_of = |g: &ProblemGroup| match &g.column {
            Some(c) => shorten_to(c, 30),
            None => "(whole row)".to_string(),
        };
        let cw = groups
            .iter()
            .map(|g| column_of(g).chars().count())
            .chain(["column".len()])
            .max()
            .unwrap_or(0);
        let kw = groups
            .iter()
            .map(|g| g.kind.label().len())
            .chain(["problem".len()])
            .max()
            .unwrap_or(0);
        writeln!(
            f,
            "  {:<cw$}  {:<kw$}  {:>6}  first rows",
            "column", "problem", "count"
        )?;
        for g in groups {
            let mut rows = g
                .rows
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(", ");
            if g.count > g.rows.len() as u64 {
                rows.push_str(", ...");
            }
            writeln!(
                f,
                "  {:<cw$}  {:<kw$}  {:>6}  {rows}",
                column_of(g),
                g.kind.label(),
                g.count
            )?;
        }
        Ok(())
    }
}

/// Cuts `s` to at most `max` characters, with `...` when cut.
fn shorten_to(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let head: String = s.chars().take(max.saturating_sub(3)).collect();
        format!("{head}...")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::tests::{row, validator};

    #[test]
    fn problems_are_data_with_the_column_as_written() {
        let mut v = validator(&["Varenavn", "Pris", "Kategori"], None);
        let p = v.validate(row(7, &["", "abc", ""]));
        let problems = p.outcome.unwrap_err();
        let data: Vec<(u64, Option<&str>, Option<&str>, ProblemKind)> = problems
            .iter()
            .map(|p| (p.row, p.column.as_deref(), p.value.as_deref(), p.kind))
            .collect();
        assert_eq!(
            data,
            vec![
                (7, Some("Varenavn"), None, ProblemKind::Empty),
                (7, Some("Pris"), Some("abc"), ProblemKind::NotANumber),
                (7, Some("Kategori"), None, ProblemKind::NoCategory),
            ]
        );
        // The text is as it always was: the category message names no column.
        assert_eq!(
            problems.iter().map(ToString::to_string).collect::<Vec<_>>(),
            vec![
                "column \"Varenavn\": is empty; every product needs a name",
                "column \"Pris\": \"abc\" is not a number",
                "no category: fill a category or category.id column, or set a constant \"category.id\" in the mapping file",
            ]
        );
    }

    #[test]
    fn problem_table_counts_by_column_and_kind() {
        let mut v = validator(&["name", "price", "category.id"], None);
        let mut table = ProblemTable::default();
        for n in 2..10 {
            if let Err(p) = v.validate(row(n, &["A", "x", "1"])).outcome {
                table.add(&p);
            }
        }
        if let Err(p) = v.validate(row(10, &["", "1", "1"])).outcome {
            table.add(&p);
        }
        let text = table.to_string();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0].split_whitespace().collect::<Vec<_>>(),
            ["column", "problem", "count", "first", "rows"]
        );
        assert!(
            lines[1].contains("price") && lines[1].contains("not a number"),
            "{text}"
        );
        assert!(lines[1].ends_with("8  2, 3, 4, 5, 6, ..."), "{text}");
        assert!(
            lines[2].contains("name") && lines[2].ends_with("1  10"),
            "{text}"
        );
    }
}
