//! Why a file could not be read ([`ReadError`]), and how a message names a
//! spreadsheet's column ([`column_letters`]). Below every other file of the
//! folder, so that each reader and the limits import them from here.

use std::path::PathBuf;

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
    /// A workbook would inflate past one of its [`SpreadsheetLimits`](super::SpreadsheetLimits).
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
