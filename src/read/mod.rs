//! Reading an input file into a header and a stream of rows of [`Cell`]s.
//!
//! CSV files (and standard input, `-`) go through [`csv`](self::csv)
//! (encoding and delimiter detection), spreadsheets through
//! [`excel`](self::excel) (calamine), after [`limits`] has checked what a
//! zip-based workbook would inflate to. Both stream: memory does not grow
//! with the number of rows.

pub(crate) mod batches;
pub(crate) mod csv;
pub(crate) mod excel;
pub(crate) mod limits;

use std::path::{Path, PathBuf};

use crate::cell::Cell;
pub use limits::SpreadsheetLimits;

/// Which sheet of a workbook to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SheetSelector {
    /// By name (matched exactly first, then ignoring case).
    Name(String),
    /// By 1-based position.
    Position(usize),
}

/// How to read a file; every field has a sensible automatic default.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// Sheet of a workbook; default the first.
    pub sheet: Option<SheetSelector>,
    /// CSV delimiter; default detected among `,` `;` tab `|`.
    pub delimiter: Option<u8>,
    /// CSV encoding; default detected (BOM, UTF-8, else Windows-1252).
    pub encoding: Option<&'static encoding_rs::Encoding>,
    /// 1-based row number of the header row; default 1. Rows above it are ignored.
    pub header_row: Option<u64>,
    /// CSV only: decode just these columns (0-based); the other cells of the
    /// data rows come out as [`Cell::Empty`]. For passes that need a few
    /// columns, such as finding repeated keys. Default: every column.
    pub only_columns: Option<Vec<usize>>,
    /// Spreadsheets only: how large a workbook may be once inflated.
    pub limits: SpreadsheetLimits,
}

/// One data row.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceRow {
    /// The row number a user sees in a spreadsheet program (header row is 1
    /// unless moved). For CSV, a quoted cell spanning several lines counts as
    /// one row, so later rows are not shifted.
    pub number: u64,
    /// The cells, one per header column, padded with [`Cell::Empty`] to the
    /// header's width when the row is short. A row with more cells than the
    /// header keeps the extra ones after the header's columns, so that the
    /// results file can show what was there: `cells.len()` is the larger of
    /// `width` and the header's width.
    pub cells: Vec<Cell>,
    /// The number of cells the row really had. For CSV, its number of fields
    /// (0 for a blank line). For a spreadsheet, the header's width, or more
    /// when the row has values to the right of the last header column. It
    /// differs from the header width for a ragged row, which validation
    /// reports as invalid.
    pub width: usize,
}

impl SourceRow {
    /// True when every cell is blank (the row is skipped and counted).
    pub fn is_empty(&self) -> bool {
        self.cells.iter().all(Cell::is_blank)
    }
}

/// What the reader detected or was told, for the summary.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SourceInfo {
    /// The file that was read ([`STDIN_NAME`] for standard input).
    pub path: PathBuf,
    /// `csv`, `xlsx`, `xlsm`, `xlsb`, `xls` or `ods`.
    pub format: String,
    /// The sheet that was read (spreadsheets only).
    pub sheet: Option<String>,
    /// The other sheets of the workbook, which were not read.
    pub other_sheets: Vec<String>,
    /// The encoding (CSV only), e.g. `UTF-8`, `windows-1252`, `UTF-16LE`.
    pub encoding: Option<String>,
    /// Whether the encoding was detected (true) or given by `--encoding` (false).
    pub encoding_detected: bool,
    /// The delimiter (CSV only).
    pub delimiter: Option<u8>,
}

/// An opened input: its header and a stream of data rows.
pub struct Table {
    /// What was read and how.
    pub info: SourceInfo,
    /// Header cells as written in the file (converted to text, not cleaned).
    pub headers: Vec<String>,
    /// 1-based row number of the header row.
    pub header_row: u64,
    /// Data rows, in file order. Empty rows are included (callers skip and
    /// count them). An `Err` item is fatal for the rest of the file.
    pub rows: Box<dyn Iterator<Item = Result<SourceRow, ReadError>> + Send>,
}

/// Why a file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The file could not be opened or read.
    #[error("{path}: {source}")]
    Io {
        /// File.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// The file's extension is not one we read.
    #[error("{path}: unsupported file type (expected .csv, .txt, .tsv, .xlsx, .xlsm, .xlsb, .xls or .ods)")]
    UnsupportedFormat {
        /// File.
        path: PathBuf,
    },
    /// The file has no header row (it is empty, or shorter than `--header-row`).
    #[error("{path}: no header row found (the file is empty{hint})")]
    NoHeader {
        /// File.
        path: PathBuf,
        /// Extra words, e.g. " or has fewer than 3 rows".
        hint: String,
    },
    /// The workbook could not be opened or a sheet not read.
    #[error("{path}: {message}")]
    Workbook {
        /// File.
        path: PathBuf,
        /// What went wrong, in words (e.g. "the workbook is password-protected").
        message: String,
    },
    /// `--sheet` names a sheet that is not there.
    #[error("{path}: no sheet {wanted}; the workbook has: {available}")]
    NoSuchSheet {
        /// File.
        path: PathBuf,
        /// What was asked for, quoted.
        wanted: String,
        /// The sheets there are, comma-separated and quoted.
        available: String,
    },
    /// A CSV record could not be parsed (other than ragged rows, which are not errors here).
    #[error("{path}, row {row}: {message}")]
    Csv {
        /// File.
        path: PathBuf,
        /// Row number where it happened.
        row: u64,
        /// What went wrong.
        message: String,
    },
    /// A workbook would inflate past one of its [`SpreadsheetLimits`].
    #[error("{path}: {part}: {what} (the limit is {limit}; raise it with {flag} if the file is genuine)")]
    Limit {
        /// File.
        path: PathBuf,
        /// The part of the archive, e.g. `xl/sharedStrings.xml`, or the sheet.
        part: String,
        /// What is too large.
        what: String,
        /// The limit, in words.
        limit: String,
        /// The flag that raises it.
        flag: &'static str,
    },
    /// The file does not look like text in any supported encoding (binary junk).
    #[error("{path}: this does not look like a CSV text file ({message})")]
    NotText {
        /// File.
        path: PathBuf,
        /// Details.
        message: String,
    },
}

/// The file name that means standard input.
pub(crate) const STDIN: &str = "-";

/// How standard input is named in messages and the summary.
pub(crate) const STDIN_NAME: &str = "standard input";

/// True when `path` is `-`, standard input.
pub(crate) fn is_stdin(path: &Path) -> bool {
    path.as_os_str() == STDIN
}

/// Opens `path` by its extension (`.csv`/`.txt`/`.tsv` as CSV; `.xlsx`,
/// `.xlsm`, `.xlsb`, `.xls`, `.ods` as spreadsheets); `-` reads a CSV from
/// standard input (once per process).
pub fn open(path: &Path, options: &ReadOptions) -> Result<Table, ReadError> {
    if is_stdin(path) {
        return csv::open(path, options);
    }
    match extension(path).as_str() {
        "xlsx" | "xlsm" | "xlsb" | "xls" | "xla" | "xlam" | "ods" => excel::open(path, options),
        "csv" | "txt" | "tsv" | "tab" | "" => csv::open(path, options),
        _ => Err(ReadError::UnsupportedFormat {
            path: path.to_path_buf(),
        }),
    }
}

/// A column's letters as a spreadsheet program shows them: 0 is `A`, 26 is `AA`.
pub(crate) fn column_letters(index: usize) -> String {
    let mut letters = Vec::new();
    let mut n = index + 1;
    while n > 0 {
        let rem = (n - 1) % 26;
        letters.push(b'A' + rem as u8);
        n = (n - 1) / 26;
    }
    letters.reverse();
    String::from_utf8(letters).expect("ASCII letters")
}

/// A file's extension in lower case (`""` when it has none).
pub(crate) fn extension(path: &Path) -> String {
    path.extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_letters_as_a_spreadsheet_shows_them() {
        assert_eq!(column_letters(0), "A");
        assert_eq!(column_letters(25), "Z");
        assert_eq!(column_letters(26), "AA");
        assert_eq!(column_letters(16_383), "XFD");
    }
}
