//! Reading an input file into a header and a stream of rows of [`Cell`](crate::cell::Cell)s.
//!
//! CSV files (and standard input, `-`) go through [`csv`](self::csv)
//! (encoding and delimiter detection), spreadsheets through
//! [`excel`](self::excel) (calamine), after [`limits`] has checked what a
//! zip-based workbook would inflate to. Both stream: memory does not grow
//! with the number of rows.

pub(crate) mod batches;
pub(crate) mod csv;
mod error;
pub(crate) mod excel;
pub(crate) mod limits;
mod table;

use std::path::Path;

pub(crate) use error::column_letters;
pub use error::ReadError;
pub use limits::SpreadsheetLimits;
pub(crate) use table::{extension, is_stdin, STDIN, STDIN_NAME};
pub use table::{ReadOptions, SheetSelector, SourceInfo, SourceRow, Table};

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
