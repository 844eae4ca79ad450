//! Command-line arguments as clap parses them. Turning them into a validated
//! plan happens in the commands, before any I/O.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

/// How to read the input file; shared by `validate` and `import`.
#[derive(Debug, Clone, Default, Args)]
pub struct ReadArgs {
    /// The CSV or spreadsheet file to read; `-` reads a CSV from standard input.
    pub file: PathBuf,
    /// Sheet to read, by name or 1-based position (default: the first).
    #[arg(long, value_name = "NAME|N")]
    pub sheet: Option<String>,
    /// TOML file mapping headers to fields, constants and ignored columns.
    #[arg(long, value_name = "FILE.toml")]
    pub mapping: Option<PathBuf>,
    /// CSV delimiter (default: detected among , ; tab |). `tab` or `\t` for tab.
    #[arg(long, value_name = "C")]
    pub delimiter: Option<String>,
    /// CSV encoding, any WHATWG label (default: detected).
    #[arg(long, value_name = "LABEL")]
    pub encoding: Option<String>,
    /// 1-based row number of the header row (default 1).
    #[arg(long, value_name = "N")]
    pub header_row: Option<u64>,
    /// Decimal mark for numbers that could be read two ways, like 1,234.
    #[arg(long, value_enum)]
    pub decimal: Option<DecimalArg>,
    /// Spreadsheets: most MiB the parts read may inflate to, in all (default 1024).
    #[arg(long, value_name = "MB")]
    pub max_uncompressed_mb: Option<u64>,
    /// Spreadsheets: highest compression ratio of a part over 4 MiB (default 100).
    #[arg(long, value_name = "N")]
    pub max_compression_ratio: Option<u64>,
    /// Spreadsheets: most characters in one cell (default 32767, Excel's own limit).
    #[arg(long, value_name = "N")]
    pub max_cell_chars: Option<u64>,
    /// Spreadsheets: largest shared-strings part in MiB, and one string per 32 bytes of it (default 1024).
    #[arg(long, value_name = "MB")]
    pub max_shared_strings_mb: Option<u64>,
}

/// `--decimal` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DecimalArg {
    /// `1 234,50`
    Comma,
    /// `1,234.50`
    Point,
}

/// `validate`: the dry run, offline.
#[derive(Debug, Clone, Args)]
pub struct ValidateArgs {
    /// How to read the file.
    #[command(flatten)]
    pub read: ReadArgs,
    /// Results file (.csv, .jsonl or .xlsx); default FILE.results.csv in the current directory (stdin.results.csv for -).
    #[arg(long, value_name = "PATH")]
    pub results: Option<PathBuf>,
    /// Also write the invalid rows, in the input's columns plus `error` (.csv or .xlsx).
    #[arg(long, value_name = "PATH")]
    pub rejects: Option<PathBuf>,
    /// Also write, for each valid row, the JSON body `import` would send (JSON lines).
    #[arg(long, value_name = "PATH.jsonl")]
    pub payloads: Option<PathBuf>,
    /// Print only the summary line and fatal errors.
    #[arg(long, short)]
    pub quiet: bool,
}

/// `template`: write a file to fill in.
#[derive(Debug, Clone, Args)]
pub struct TemplateArgs {
    /// The file to write: .xlsx (with a help sheet and drop-down lists) or .csv.
    #[arg(value_name = "OUT.xlsx|OUT.csv")]
    pub out: PathBuf,
}
