//! What reading a file takes and gives: the options ([`ReadOptions`]), the
//! opened input ([`Table`]) with its rows ([`SourceRow`]) and what was
//! detected ([`SourceInfo`]), and how standard input and extensions are told
//! apart. Below the readers, so that each imports them from here.

use std::path::{Path, PathBuf};

use super::error::ReadError;
use super::limits::SpreadsheetLimits;
use crate::cell::Cells;

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
    /// `width` and the header's width. Their texts lie in one buffer.
    pub cells: Cells,
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
        self.cells.all_blank()
    }

    /// Row `number` of text cells, `""` an empty one: for unit tests.
    #[cfg(test)]
    pub(crate) fn of_texts(number: u64, cells: &[&str]) -> SourceRow {
        SourceRow {
            number,
            cells: cells
                .iter()
                .map(|c| match *c {
                    "" => crate::cell::Cell::Empty,
                    c => crate::cell::Cell::Text(c.to_string()),
                })
                .collect::<Cells>(),
            width: cells.len(),
        }
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

/// The file name that means standard input.
pub(crate) const STDIN: &str = "-";

/// How standard input is named in messages and the summary.
pub(crate) const STDIN_NAME: &str = "standard input";

/// True when `path` is `-`, standard input.
pub(crate) fn is_stdin(path: &Path) -> bool {
    path.as_os_str() == STDIN
}

/// A file's extension in lower case (`""` when it has none).
pub(crate) fn extension(path: &Path) -> String {
    path.extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default()
}
